// A layer in a safetensors file, as users hand it to `run` (logical, unpacked tensors, PyTorch
// conventions; docs/cli.md): x [M,K] fp16/bf16; 4-bit weights (layer-weights.ts: int4, NVFP4 or MXFP4
// codes with their scales, or a float weight [N,K] quantized here); smooth [K]; lora_down [r,K] +
// lora_up [N,r]; bias [N]; optional lora_scales [r/16] fp32. Ranks that are not a multiple of 16 are
// zero-padded (exact).
import { UserError } from '../../dsl/errors.js';
import type { Dtype16 } from '../../dsl/types.js';
import { SafetensorsFile, writeSafetensors, type StTensorInfo } from '../../codegen/safetensors.js';
import { fromBits16, toBits16 } from '../../numerics/float16.js';
import type { LayerInputs } from '../reference/layer.js';
import type { LogicalLayer } from '../../numerics/logical.js';
export type { WeightOptions } from './layer-weights.js';
import { readWeights, type WeightOptions } from './layer-weights.js';
import { toFloat64, type Tensor } from '../../numerics/tensors.js';

export interface LayerFile {
  inputs: LayerInputs;
  /** How the weights arrived. */
  weights: 'qweight' | 'weight';
  hasBias: boolean;
  /** The rank in the file before padding to a multiple of 16. */
  fileRank: number;
  /**
   * Activation coding recorded by `pack` (metadata `svdq.activation`, or the only entry of `svdq.layers`):
   * u4 + shift for a layer fed by GELU in Nunchaku's INT4 path. Absent: signed.
   */
  activation?: { unsigned: boolean; shift: number };
}

/** The activation coding a file's metadata records, if any (a malformed record is a UserError). */
function recordedActivation(file: string, md: Record<string, string>): LayerFile['activation'] {
  let v: unknown;
  try {
    if (md['svdq.activation']) v = JSON.parse(md['svdq.activation']);
    else if (md['svdq.layers']) {
      const layers = Object.values(JSON.parse(md['svdq.layers']) as Record<string, { activation?: unknown }>);
      if (layers.length === 1) v = layers[0].activation;
    }
  } catch {
    throw new UserError(`${file}: metadata 'svdq.activation'/'svdq.layers' is not valid JSON`);
  }
  if (v === undefined) return undefined;
  const a = v as { unsigned?: unknown; shift?: unknown };
  if (typeof a !== 'object' || a === null || typeof a.unsigned !== 'boolean' || typeof a.shift !== 'number') {
    throw new UserError(`${file}: metadata activation ${JSON.stringify(v)} is not {"unsigned": boolean, "shift": number}`);
  }
  return { unsigned: a.unsigned, shift: a.shift };
}

const FLOAT = new Set(['F16', 'BF16', 'F32', 'F64']);

export async function readLayerFile(file: string, options: WeightOptions = {}): Promise<LayerFile> {
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

    const w = await readWeights(f, file, K, dtype, options);
    const { N, format, qweight, wscales, wtensorScale, weights } = w;
    if (N < 16 || N % 16 !== 0) bad(weights, `has N = ${N}; N must be a positive multiple of 16`);

    const layer: LogicalLayer = { N, K, format, dtype, qweight, wscales, wtensorScale, rank: 0 };
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
    const ci = opt('wcscales');
    if (ci) {
      shapeIs(ci, [N], '[N]');
      layer.channelScales = await bitsIn(ci, dtype);
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
    // NVFP4 two-level activation scaling (docs/numerics.md): the static per-tensor activation scale.
    let atensorScale: number | undefined;
    const isi = opt('input_scale');
    if (isi) {
      if (format.kind !== 'nvfp4') bad('input_scale', `is present, but only NVFP4 has a per-tensor activation scale; this layer's weights are ${format.kind}`);
      if (isi.dtype !== 'F32') bad('input_scale', `has dtype ${isi.dtype}; expected F32 (the ModelOpt/TensorRT convention)`);
      if (isi.shape.length > 1 || isi.shape.reduce((a, b) => a * b, 1) !== 1) bad('input_scale', `has shape [${isi.shape.join(',')}]; expected a scalar ([] or [1])`);
      const v = new DataView((await f.readBytes('input_scale')).slice().buffer).getFloat32(0, true);
      if (!(Number.isFinite(v) && v > 0)) bad('input_scale', `is ${v}; the NVFP4 per-tensor activation scale must be a finite number > 0`);
      atensorScale = v;
    }
    const activation = recordedActivation(file, f.metadata);
    return { inputs: { layer, M, x, ...(atensorScale !== undefined ? { atensorScale } : {}) }, weights, hasBias: !!bi, fileRank, ...(activation ? { activation } : {}) };
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
    const shape = [out.M, out.N / out.qnext.group];
    const scales = out.qnext.scales;
    // INT4 scales in the layer dtype; FP4 scales as their ue4m3 / ue8m0 bytes (docs/layouts.md)
    tensors.push(['y_scales', scales instanceof Uint8Array ? { dtype: 'uint8', shape, data: scales } : { dtype: out.dtype, shape, data: scales }]);
  }
  await writeSafetensors(file, tensors, { format: 'pt', ...metadata });
}

/** Decodes a 16-bit tensor's values (for messages and tests). */
export const values16 = (bits: Uint16Array, dtype: Dtype16): Float64Array => Float64Array.from(bits, (b) => fromBits16(b, dtype));
