// The 4-bit weights of a layer file (docs/layouts.md "Logical tensors", docs/cli.md): quantized codes
// with their scales, or float weights quantized here. The format is inferred from the tensors —
//   qweight I8 (s4 −8..7) + wscales F16/BF16 [N,K/G], G ∈ {32,64,128}  → int4
//   qweight U8 (e2m1 0..15) + wscales U8|F8_E4M3 [N,K/16] (ue4m3) [+ wtensor_scale] → nvfp4
//   qweight U8 (e2m1 0..15) + wscales U8 [N,K/32] (ue8m0)             → mxfp4
// — and every inconsistency is refused naming the tensor, its value and what is allowed.
import { UserError } from '../../dsl/errors.js';
import { formatByKind, FORMAT_KINDS, INT4_GROUPS } from '../../dsl/formats.js';
import type { Dtype16, FormatKind, Int4Format, QuantFormat } from '../../dsl/types.js';
import type { SafetensorsFile, StTensorInfo } from '../../codegen/safetensors.js';
import { UE4M3_NAN, UE8M0_NAN } from '../../numerics/fp8.js';
import { fromBits16 } from '../../numerics/float16.js';
import { toFloat64 } from '../../numerics/tensors.js';
import { quantizeWeights } from '../reference/quantize.js';
import { validateFloatWeights } from './validate-layer.js';

export interface WeightOptions {
  /** Format to quantize a float `weight` to (and, with `qweight`, the format the file must hold). */
  format?: FormatKind;
  /** The target's native format: used for a float `weight` when `format` is not given (default int4). */
  defaultFormat?: FormatKind;
  /** INT4 group when quantizing a float `weight` (default 64); FP4 groups are fixed (16, 32). */
  group?: number;
}

export interface FileWeights {
  N: number;
  format: QuantFormat;
  qweight: Int8Array | Uint8Array;
  wscales: Uint16Array | Uint8Array;
  wtensorScale: number;
  weights: 'qweight' | 'weight';
}

const FLOAT = new Set(['F16', 'BF16', 'F32', 'F64']);
const spell = (f: QuantFormat): string => (f.kind === 'int4' ? `int4 (group ${f.group})` : `${f.kind} (e2m1 codes, group ${f.group}, ${f.scaleDtype} scales)`);
const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

/** The group an option asks for, checked against the format (FP4 groups are part of the format). */
function groupFor(kind: FormatKind, group: number | undefined, flag: string): number | undefined {
  if (group === undefined) return undefined;
  if (kind === 'int4') {
    if (!INT4_GROUPS.includes(group as Int4Format['group'])) throw new UserError(`${flag}: ${group} is not an int4 group; allowed: ${INT4_GROUPS.join(', ')}`);
    return group;
  }
  const fixed = formatByKind(kind).group;
  if (group !== fixed) throw new UserError(`${flag}: ${group} does not apply to ${kind}: its group is ${fixed} (omit --group)`);
  return group;
}

export async function readWeights(f: SafetensorsFile, file: string, K: number, dtype: Dtype16, o: WeightOptions): Promise<FileWeights> {
  const opt = (name: string): StTensorInfo | undefined => (f.has(name) ? f.info(name) : undefined);
  const bad = (name: string, what: string): never => {
    throw new UserError(`${file}: tensor '${name}' ${what}`);
  };
  if (o.format !== undefined && !FORMAT_KINDS.includes(o.format)) throw new UserError(`--format: ${JSON.stringify(o.format)} is not a format; allowed: ${FORMAT_KINDS.join(', ')}`);
  const qi = opt('qweight');
  const wi = opt('weight');
  const ti = opt('wtensor_scale');
  if (qi && wi) throw new UserError(`${file}: has both 'qweight' and 'weight'; give one (4-bit codes with wscales, or float weights to quantize)`);
  if (!qi && !wi) {
    throw new UserError(
      `${file}: needs 'qweight' [N,K] (I8 int4 codes or U8 e2m1 codes) with 'wscales' [N,K/G], or 'weight' [N,K] float (the file has ${f.tensors.map((t) => `'${t.name}'`).join(', ')})`,
    );
  }

  if (wi) {
    const N = wi.shape[0];
    if (wi.shape.length !== 2 || wi.shape[1] !== K) bad('weight', `has shape [${wi.shape.join(',')}]; expected [N,K] with K = ${K}`);
    if (!FLOAT.has(wi.dtype)) bad('weight', `has dtype ${wi.dtype}; expected a float dtype (F16, BF16, F32, F64)`);
    if (opt('wscales')) throw new UserError(`${file}: has 'wscales' beside a float 'weight'; scales belong to quantized 'qweight' codes (drop one)`);
    if (ti) throw new UserError(`${file}: has 'wtensor_scale' beside a float 'weight'; quantizing here computes the NVFP4 per-tensor scale itself (drop it)`);
    const kind = o.format ?? o.defaultFormat ?? 'int4';
    const group = groupFor(kind, o.group, '--group');
    const format: QuantFormat = kind === 'int4' ? { kind, group: (group ?? 64) as Int4Format['group'], scaleDtype: dtype } : formatByKind(kind);
    const w = toFloat64(await f.readTensor('weight'));
    validateFloatWeights(w, K, `${file}: tensor 'weight'`);
    const q = quantizeWeights(w, N, K, format);
    return { N, format, qweight: q.codes, wscales: q.scales, wtensorScale: q.tensorScale, weights: 'weight' };
  }

  const N = qi!.shape[0];
  if (qi!.shape.length !== 2 || qi!.shape[1] !== K) bad('qweight', `has shape [${qi!.shape.join(',')}]; expected [N,K] with K = ${K}`);
  const si = opt('wscales') ?? bad('wscales', `is missing; quantized 'qweight' codes need their scales [N,K/G]`);
  if (si.shape.length !== 2 || si.shape[0] !== N || si.shape[1] < 1 || K % si.shape[1] !== 0) bad('wscales', `has shape [${si.shape.join(',')}]; expected [N, K/G] with N = ${N}, K = ${K}`);
  const G = K / si.shape[1];
  let format: QuantFormat;
  let qweight: Int8Array | Uint8Array;
  let wscales: Uint16Array | Uint8Array;
  let wtensorScale = 1;
  if (qi!.dtype === 'I8') {
    if (si.dtype !== 'F16' && si.dtype !== 'BF16') bad('wscales', `has dtype ${si.dtype}, but qweight is I8 (int4 codes): int4 scales are F16 or BF16; FP4 layers store qweight as U8 e2m1 codes with U8 scale bytes`);
    if (!INT4_GROUPS.includes(G as Int4Format['group'])) bad('wscales', `gives group K/${si.shape[1]} = ${G}; allowed int4 groups: ${INT4_GROUPS.join(', ')}`);
    format = { kind: 'int4', group: G as Int4Format['group'], scaleDtype: si.dtype === 'F16' ? 'fp16' : 'bf16' };
    qweight = (await f.readTensor('qweight')).data as Int8Array;
    const out = qweight.findIndex((c) => c < -8 || c > 7);
    if (out >= 0) bad('qweight', `holds ${qweight[out]} at index ${out}; int4 codes are −8..7`);
    wscales = (await f.readTensor('wscales')).data as Uint16Array;
  } else if (qi!.dtype === 'U8') {
    if (si.dtype === 'F16' || si.dtype === 'BF16') bad('wscales', `has dtype ${si.dtype}, but qweight is U8 (e2m1 codes): FP4 scales are U8 bytes (ue4m3 for NVFP4, ue8m0 for MXFP4) or F8_E4M3 (NVFP4); F16/BF16 scales go with I8 int4 codes`);
    if (si.dtype !== 'U8' && si.dtype !== 'F8_E4M3') bad('wscales', `has dtype ${si.dtype}; FP4 scales are U8 (ue4m3 or ue8m0 bytes) or F8_E4M3 (NVFP4)`);
    if (G === 16) format = formatByKind('nvfp4');
    else if (G === 32 && si.dtype === 'U8') format = formatByKind('mxfp4');
    else if (G === 32) bad('wscales', `has dtype F8_E4M3 (ue4m3, NVFP4) but gives group K/${si.shape[1]} = 32; NVFP4 takes group 16, MXFP4 (group 32) takes U8 ue8m0 bytes`);
    else bad('wscales', `gives group K/${si.shape[1]} = ${G}; FP4 groups: 16 (NVFP4, ue4m3 scales) or 32 (MXFP4, ue8m0 scales)`);
    format = format!;
    qweight = new Uint8Array(await f.readBytes('qweight'));
    const out = qweight.findIndex((c) => c > 15);
    if (out >= 0) bad('qweight', `holds ${qweight[out]} at index ${out}; e2m1 codes are 0..15 (bit 3 = sign), one per byte`);
    wscales = new Uint8Array(await f.readBytes('wscales'));
    const at = format.kind === 'nvfp4' ? wscales.findIndex((b) => (b & 0x80) !== 0 || b === UE4M3_NAN) : wscales.findIndex((b) => b === UE8M0_NAN);
    if (at >= 0) {
      const b = wscales[at];
      const why = format.kind === 'mxfp4' ? 'is NaN in ue8m0; allowed 0x00..0xfe (2^−127..2^127)' : b & 0x80 ? 'has bit 7 set: ue4m3 scales are unsigned (a negative F8_E4M3 scale is not allowed); allowed 0x00..0x7e' : 'is NaN in ue4m3; allowed 0x00..0x7e (0..448)';
      bad('wscales', `holds ${hex(b)} at index ${at}, which ${why}`);
    }
  } else {
    bad('qweight', `has dtype ${qi!.dtype}; expected I8 (int4 codes −8..7) or U8 (e2m1 codes 0..15), one code per byte`);
  }
  format = format!;
  if (ti) {
    if (format.kind !== 'nvfp4') bad('wtensor_scale', `is present, but only NVFP4 has a per-tensor weight scale; this layer is ${spell(format)}`);
    if (ti.shape.length > 1 || ti.shape.reduce((a, b) => a * b, 1) !== 1) bad('wtensor_scale', `has shape [${ti.shape.join(',')}]; expected a scalar ([] or [1])`);
    let v: number;
    if (ti.dtype === 'F32') v = new DataView((await f.readBytes('wtensor_scale')).slice().buffer).getFloat32(0, true);
    else if (ti.dtype === 'F16' || ti.dtype === 'BF16') v = fromBits16(new DataView((await f.readBytes('wtensor_scale')).slice().buffer).getUint16(0, true), ti.dtype === 'F16' ? 'fp16' : 'bf16');
    else v = bad('wtensor_scale', `has dtype ${ti.dtype}; expected F32 (or an F16/BF16 scalar)`);
    if (!(Number.isFinite(v) && v > 0)) bad('wtensor_scale', `is ${v}; the NVFP4 per-tensor scale must be a finite number > 0`);
    wtensorScale = v;
  }
  if (o.format !== undefined && o.format !== format.kind) {
    throw new UserError(`--format ${o.format}: ${file} holds ${spell(format)} weights (qweight ${qi!.dtype}, wscales ${si.dtype} [N,K/${G}]); quantized weights run in their own format — drop --format or give float 'weight'`);
  }
  if (o.group !== undefined && o.group !== format.group) {
    throw new UserError(`--group ${o.group}: ${file} holds ${spell(format)} weights; --group only applies when quantizing a float 'weight'`);
  }
  return { N, format, qweight: qweight!, wscales: wscales!, wtensorScale, weights: 'qweight' };
}
