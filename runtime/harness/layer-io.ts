// A layer in a safetensors file, as users hand it to `run` (logical, unpacked tensors, PyTorch
// conventions; docs/cli.md): x [M,K] fp16/bf16; qweight [N,K] int8 codes + wscales [N,K/G], or a float
// weight [N,K] that is quantized here; smooth [K]; lora_down [r,K] + lora_up [N,r]; bias [N]; optional
// lora_scales [r/16] fp32. Ranks that are not a multiple of 16 are zero-padded (exact).
import { UserError } from '../../dsl/errors.js';
import type { Dtype16, Int4Format } from '../../dsl/types.js';
import { SafetensorsFile, writeSafetensors, type StTensorInfo } from '../../codegen/safetensors.js';
import { fromBits16, toBits16 } from '../../numerics/float16.js';
import type { LayerInputs } from '../reference/layer.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { quantizeWeights } from '../reference/quantize.js';
import { toFloat64, type Tensor } from '../../numerics/tensors.js';
import { validateFloatWeights } from './validate-layer.js';

export interface LayerFile {
  inputs: LayerInputs;
  /** How the weights arrived. */
  weights: 'qweight' | 'weight';
  hasBias: boolean;
  /** The rank in the file before padding to a multiple of 16. */
  fileRank: number;
}

const FLOAT = new Set(['F16', 'BF16', 'F32', 'F64']);

export async function readLayerFile(file: string, options: { group?: Int4Format['group'] } = {}): Promise<LayerFile> {
  const f = await SafetensorsFile.open(file);
  try {
    const need = (name: string): StTensorInfo => f.info(name);
    const opt = (name: string): StTensorInfo | undefined => (f.has(name) ? f.info(name) : undefined);
    const bad = (name: string, what: string): never => {
      throw new UserError(`${file}: tensor '${name}' ${what}`);
    };
    const shapeIs = (t: StTensorInfo, shape: number[], spelled: string): void => {
      if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) bad(t.name, `has shape [${t.shape.join(',')}]; expected ${spelled} = [${shape.join(',')}]`);
    };
    const floatOf = async (t: StTensorInfo): Promise<Float64Array> => {
      if (!FLOAT.has(t.dtype)) bad(t.name, `has dtype ${t.dtype}; expected a float dtype (F16, BF16, F32, F64)`);
      return toFloat64(await f.readTensor(t.name));
    };
    const bitsIn = async (t: StTensorInfo, dtype: Dtype16): Promise<Uint16Array> => {
      const tensor = await f.readTensor(t.name);
      if (tensor.dtype === dtype) return tensor.data as Uint16Array;
      return Uint16Array.from(await floatOf(t), (v) => toBits16(v, dtype));
    };

    const xi = need('x');
    if (xi.shape.length !== 2) bad('x', `has shape [${xi.shape.join(',')}]; expected [M,K]`);
    if (xi.dtype !== 'F16' && xi.dtype !== 'BF16') bad('x', `has dtype ${xi.dtype}; expected F16 or BF16`);
    const dtype: Dtype16 = xi.dtype === 'F16' ? 'fp16' : 'bf16';
    const [M, K] = xi.shape;
    if (M < 1 || K < 64 || K % 64 !== 0) bad('x', `has shape [${M},${K}]; K must be a positive multiple of 64 and M ≥ 1`);
    const x = (await f.readTensor('x')).data as Uint16Array;

    let N: number;
    let format: Int4Format;
    let qweight: Int8Array;
    let wscales: Uint16Array;
    let weights: LayerFile['weights'];
    const qi = opt('qweight');
    const wi = opt('weight');
    if (qi && wi) throw new UserError(`${file}: has both 'qweight' and 'weight'; give one (int8 codes with wscales, or float weights to quantize)`);
    if (qi) {
      weights = 'qweight';
      if (qi.dtype !== 'I8') bad('qweight', `has dtype ${qi.dtype}; expected I8 (int4 codes −8..7 stored one per byte)`);
      N = qi.shape[0];
      shapeIs(qi, [N, K], '[N,K]');
      qweight = (await f.readTensor('qweight')).data as Int8Array;
      const outOfRange = qweight.findIndex((c) => c < -8 || c > 7);
      if (outOfRange >= 0) bad('qweight', `holds ${qweight[outOfRange]} at index ${outOfRange}; int4 codes are −8..7`);
      const si = need('wscales');
      if (si.shape.length !== 2 || si.shape[0] !== N || si.shape[1] < 1 || K % si.shape[1] !== 0) bad('wscales', `has shape [${si.shape.join(',')}]; expected [N, K/G] with N = ${N}, K = ${K}`);
      const G = K / si.shape[1];
      if (G !== 32 && G !== 64 && G !== 128) bad('wscales', `gives group K/${si.shape[1]} = ${G}; allowed groups: 32, 64, 128`);
      if (si.dtype !== 'F16' && si.dtype !== 'BF16') bad('wscales', `has dtype ${si.dtype}; expected F16 or BF16`);
      format = { kind: 'int4', group: G as Int4Format['group'], scaleDtype: si.dtype === 'F16' ? 'fp16' : 'bf16' };
      wscales = (await f.readTensor('wscales')).data as Uint16Array;
    } else if (wi) {
      weights = 'weight';
      N = wi.shape[0];
      shapeIs(wi, [N, K], '[N,K]');
      format = { kind: 'int4', group: options.group ?? 64, scaleDtype: dtype };
      const w = await floatOf(wi);
      validateFloatWeights(w, K, `${file}: tensor 'weight'`);
      const q = quantizeWeights(w, N, K, format);
      qweight = q.codes as Int8Array;
      wscales = q.scales as Uint16Array;
    } else {
      throw new UserError(`${file}: needs 'qweight' [N,K] int8 with 'wscales' [N,K/G], or 'weight' [N,K] float (the file has ${f.tensors.map((t) => `'${t.name}'`).join(', ')})`);
    }
    if (N < 16 || N % 16 !== 0) bad(weights, `has N = ${N}; N must be a positive multiple of 16`);

    const layer: LogicalLayer = { N, K, format, dtype, qweight, wscales, wtensorScale: 1, rank: 0 };
    const si = opt('smooth');
    if (si) {
      shapeIs(si, [K], '[K]');
      layer.smooth = await bitsIn(si, dtype);
    }
    const bi = opt('bias');
    if (bi) {
      shapeIs(bi, [N], '[N]');
      layer.bias = await bitsIn(bi, dtype);
    }
    const di = opt('lora_down');
    const ui = opt('lora_up');
    let fileRank = 0;
    if (!!di !== !!ui) throw new UserError(`${file}: has '${di ? 'lora_down' : 'lora_up'}' without '${di ? 'lora_up' : 'lora_down'}'; give both or neither`);
    if (di && ui) {
      fileRank = di.shape[0];
      shapeIs(di, [fileRank, K], '[r,K]');
      shapeIs(ui, [N, fileRank], '[N,r]');
      const R = Math.ceil(fileRank / 16) * 16;
      const down = await bitsIn(di, dtype);
      const up = await bitsIn(ui, dtype);
      layer.rank = R;
      layer.loraDown = new Uint16Array(R * K);
      layer.loraDown.set(down); // rows r ≥ fileRank stay +0
      layer.loraUp = new Uint16Array(N * R);
      for (let n = 0; n < N; n++) layer.loraUp.set(up.subarray(n * fileRank, (n + 1) * fileRank), n * R);
      const sci = opt('lora_scales');
      if (sci) {
        shapeIs(sci, [R / 16], '[ceil(r/16)]');
        layer.loraScales = Float32Array.from(await floatOf(sci));
      }
    }
    return { inputs: { layer, M, x }, weights, hasBias: !!bi, fileRank };
  } finally {
    await f.close();
  }
}

/** Writes y [M,N] (and qnext outputs when present) in x's dtype, with metadata naming the kernels. */
export async function writeLayerOutput(
  file: string,
  out: { y?: Uint16Array; dtype: Dtype16; M: number; N: number; qnext?: { codes: Int8Array | Uint8Array; scales: Uint16Array | Uint8Array; group: number } },
  metadata: Record<string, string>,
): Promise<void> {
  const tensors: Array<[string, Tensor]> = [];
  if (out.y) tensors.push(['y', { dtype: out.dtype, shape: [out.M, out.N], data: out.y }]);
  if (out.qnext) {
    const codes = out.qnext.codes;
    tensors.push(['y_codes', codes instanceof Int8Array ? { dtype: 'int8', shape: [out.M, out.N], data: codes } : { dtype: 'uint8', shape: [out.M, out.N], data: codes }]);
    tensors.push(['y_scales', { dtype: out.dtype, shape: [out.M, out.N / out.qnext.group], data: out.qnext.scales as Uint16Array }]);
  }
  await writeSafetensors(file, tensors, { format: 'pt', ...metadata });
}

/** Decodes a 16-bit tensor's values (for messages and tests). */
export const values16 = (bits: Uint16Array, dtype: Dtype16): Float64Array => Float64Array.from(bits, (b) => fromBits16(b, dtype));
