// `pack`'s view of one linear layer: what it is (N, K, rank, format, dtype, whether it has per-channel
// scales — from the header and the small wcscales vectors, so the output header can be written before
// any large tensor is converted) and how its tensors are read into logical form. Tensors are grouped
// into layers by export/pack/names.ts (both Nunchaku namings); two sources: Nunchaku SVDQuant checkpoints
// (packed, padded to 128) and logical tensors (docs/layouts.md "Logical tensors").
import { UserError } from '../../dsl/errors.js';
import type { ActivationCoding, Dtype16, QuantFormat } from '../../dsl/types.js';
import { fromBits16 } from '../../numerics/float16.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { fromNunchaku, pad128, unpackNunchakuVector, type NunchakuLayer } from './nunchaku.js';
import type { LayerGroup, PackSource, Role } from './names.js';
import { upstreamDecode } from './upstream-decode.js';
import type { PlannedTensor } from './writer.js';
import type { SafetensorsFile, StDtype, StTensorInfo } from '../../codegen/safetensors.js';

export type { PackSource, LayerGroup };
export type PackFormatKind = 'int4' | 'nvfp4' | 'mxfp4';

export interface LayerInfo {
  prefix: string;
  N: number;
  K: number;
  rank: number;
  format: QuantFormat;
  dtype: Dtype16;
  hasBias: boolean;
  hasSmooth: boolean;
  /** Per-channel output scales that are not all 1 (NVFP4 `wcscales`): written as `PREFIX.wcscales`. */
  hasChannelScale: boolean;
  /** The activation coding the layer runs with (from the model, else signed). */
  activation: ActivationCoding;
  /** Catalog layer (dsl/models) this layer is, when the model is known. */
  catalogLayer?: string;
  /** Source naming ('python' | 'cpp' | 'neutral'), recorded for provenance. */
  naming: LayerGroup['naming'];
}

const numel = (t: StTensorInfo) => t.shape.reduce((a, b) => a * b, 1);
const shapeStr = (t: StTensorInfo) => `[${t.shape.join(',')}]`;
const DTYPE16: Partial<Record<StDtype, Dtype16>> = { F16: 'fp16', BF16: 'bf16' };
const ST16: Record<Dtype16, StDtype> = { fp16: 'F16', bf16: 'BF16' };

function fail(t: StTensorInfo | string, what: string): never {
  throw new UserError(`tensor '${typeof t === 'string' ? t : t.name}': ${what}`);
}
function need(g: LayerGroup, role: Role, spelled: string): StTensorInfo {
  const t = g.tensors.get(role);
  if (!t) throw new UserError(`layer '${g.prefix}': tensor '${g.prefix}.${spelled}' is missing (a layer with a .qweight needs it)`);
  return t;
}
function dtype16(t: StTensorInfo): Dtype16 {
  return DTYPE16[t.dtype] ?? fail(t, `dtype ${t.dtype}; expected F16 or BF16`);
}

/** The layer dtype from its 16-bit tensors (which must agree), else the fallback. */
function layerDtype(g: LayerGroup, roles: Role[], fallback: Dtype16 | undefined): Dtype16 {
  let found: { d: Dtype16; t: StTensorInfo } | undefined;
  for (const s of roles) {
    const t = g.tensors.get(s);
    if (!t) continue;
    const d = dtype16(t);
    if (found && found.d !== d) fail(t, `dtype ${t.dtype} differs from '${found.t.name}' (${found.t.dtype}); a layer has one dtype`);
    found ??= { d, t };
  }
  if (found) return found.d;
  if (fallback) return fallback;
  throw new UserError(`layer '${g.prefix}': no 16-bit tensor (bias, smooth, low-rank) tells the layer dtype; pass --dtype fp16|bf16`);
}

function checkFormatOption(g: LayerGroup, found: PackFormatKind, wanted: PackFormatKind | undefined): void {
  if (wanted && wanted !== found) throw new UserError(`layer '${g.prefix}': --format ${wanted}, but its tensors are ${found}`);
}
function expectShape(t: StTensorInfo | undefined, shape: number[]): void {
  if (t && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) fail(t, `shape ${shapeStr(t)}, expected [${shape.join(',')}]`);
}
function expectNumel(t: StTensorInfo | undefined, n: number, why: string): void {
  if (t && numel(t) !== n) fail(t, `${numel(t)} elements ${shapeStr(t)}, expected ${n} (${why})`);
}
/** A per-tensor scale: F32, F16 or BF16 (Nunchaku's loadParam converts any of them), shape [] or [1]. */
function expectScalar(t: StTensorInfo | undefined): void {
  if (!t) return;
  if (!(t.shape.length === 0 || (t.shape.length === 1 && t.shape[0] === 1))) fail(t, `shape ${shapeStr(t)}; a per-tensor scale has shape [] or [1]`);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail(t, `dtype ${t.dtype}; a per-tensor scale is F32, F16 or BF16`);
}

export interface InferOptions {
  format?: PackFormatKind;
  dtype?: Dtype16;
  /** Nunchaku: the real (unpadded) [N, K] per layer prefix; default the padded shape. */
  shapes?: Record<string, { n: number; k: number }>;
}

/** What a layer is, from the header; `channelScales` = the layer's wcscales are not all 1 (read beforehand). */
export function inferLayer(g: LayerGroup, source: PackSource, o: InferOptions, channelScales: boolean): LayerInfo {
  const base = source === 'logical' ? inferLogical(g, o) : inferNunchaku(g, o);
  if (channelScales && base.format.kind !== 'nvfp4') fail(g.tensors.get('wcscales')!, `per-channel scales other than 1 on a ${base.format.kind} layer; upstream applies wcscales to NVFP4 only`);
  return { ...base, hasChannelScale: channelScales, activation: { unsigned: false, shift: 0 }, naming: g.naming };
}
type Base = Omit<LayerInfo, 'hasChannelScale' | 'activation' | 'naming' | 'catalogLayer'>;

function inferLogical(g: LayerGroup, o: InferOptions): Base {
  const qw = need(g, 'qweight', 'qweight');
  const ws = need(g, 'wscales', 'wscales');
  if (qw.shape.length !== 2) fail(qw, `shape ${shapeStr(qw)}; expected [N, K]`);
  const [N, K] = qw.shape;
  if (ws.shape.length !== 2 || ws.shape[0] !== N || ws.shape[1] === 0 || K % ws.shape[1] !== 0) fail(ws, `shape ${shapeStr(ws)}; expected [${N}, K/G] with K = ${K}`);
  const G = K / ws.shape[1];
  let format: QuantFormat;
  if (qw.dtype === 'I8') {
    if (ws.dtype !== 'F16' && ws.dtype !== 'BF16') fail(ws, `dtype ${ws.dtype}; INT4 scales are F16 or BF16`);
    if (G !== 32 && G !== 64 && G !== 128) fail(ws, `group K/${ws.shape[1]} = ${G}; INT4 groups are 32, 64 or 128`);
    format = { kind: 'int4', group: G, scaleDtype: dtype16(ws) };
  } else if (qw.dtype === 'U8') {
    if (ws.dtype !== 'U8' && ws.dtype !== 'F8_E4M3') fail(ws, `dtype ${ws.dtype}; FP4 scales are U8 (or F8_E4M3) codes`);
    if (G === 16) format = { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' };
    else if (G === 32 && ws.dtype === 'U8') format = { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' };
    else fail(ws, `group K/${ws.shape[1]} = ${G}; FP4 groups are 16 (NVFP4) or 32 (MXFP4, U8 ue8m0 codes)`);
  } else {
    fail(qw, `dtype ${qw.dtype}; logical codes are I8 (INT4, -8..7) or U8 (e2m1 codes 0..15)`);
  }
  checkFormatOption(g, format.kind, o.format);
  const dtype = layerDtype(g, ['down', 'up', 'bias', 'smooth', 'wcscales'], format.kind === 'int4' ? format.scaleDtype : o.dtype);
  const down = g.tensors.get('down');
  const up = g.tensors.get('up');
  if (!down !== !up) throw new UserError(`layer '${g.prefix}': has ${down ? 'lora_down' : 'lora_up'} without ${down ? 'lora_up' : 'lora_down'}`);
  const rank = down ? down.shape[0] : 0;
  expectShape(down, [rank, K]);
  expectShape(up, [N, rank]);
  expectShape(g.tensors.get('lora_scales'), [rank / 16]);
  expectShape(g.tensors.get('smooth'), [K]);
  expectShape(g.tensors.get('bias'), [N]);
  expectShape(g.tensors.get('wcscales'), [N]);
  const ts = g.tensors.get('wtscale');
  expectScalar(ts);
  if (ts && format.kind !== 'nvfp4') fail(ts, `present, but only NVFP4 has a per-tensor scale (this layer is ${format.kind})`);
  return { prefix: g.prefix, N, K, rank, format, dtype, hasBias: g.tensors.has('bias'), hasSmooth: g.tensors.has('smooth') };
}

function inferNunchaku(g: LayerGroup, o: InferOptions): Base {
  const qw = need(g, 'qweight', 'qweight');
  const ws = need(g, 'wscales', 'wscales');
  if (qw.dtype !== 'I8' && qw.dtype !== 'U8') fail(qw, `dtype ${qw.dtype}; Nunchaku packs codes as I8/U8 bytes`);
  if (qw.shape.length !== 2) fail(qw, `shape ${shapeStr(qw)}; expected [Np, Kp/2]`);
  const Np = qw.shape[0];
  const Kp = qw.shape[1] * 2;
  if (Np % 128 !== 0 || Kp % 128 !== 0) fail(qw, `shape ${shapeStr(qw)}: Nunchaku pads N and K to multiples of 128, got Np = ${Np}, Kp = ${Kp}`);
  let kind: 'int4' | 'nvfp4';
  if (ws.dtype === 'F16' || ws.dtype === 'BF16') {
    kind = 'int4';
    expectNumel(ws, (Np * Kp) / 64, 'INT4 group 64: Np·Kp/64');
  } else if (ws.dtype === 'F8_E4M3' || ws.dtype === 'U8') {
    kind = 'nvfp4';
    expectNumel(ws, (Np * Kp) / 16, 'NVFP4 group 16: Np·Kp/16');
  } else {
    fail(ws, `dtype ${ws.dtype}; Nunchaku scales are F16/BF16 (INT4) or F8_E4M3 (NVFP4)`);
  }
  checkFormatOption(g, kind, o.format);
  const roles16: Role[] = ['bias', 'down', 'up', 'smooth', 'wcscales'];
  const dtype = kind === 'int4' ? layerDtype(g, ['wscales', ...roles16], undefined) : layerDtype(g, roles16, o.dtype);
  const real = o.shapes?.[g.prefix] ?? { n: Np, k: Kp };
  if (pad128(real.n) !== Np || pad128(real.k) !== Kp) {
    throw new UserError(`layer '${g.prefix}': shape ${real.n}x${real.k} does not pad to the checkpoint's ${Np}x${Kp} (Nunchaku pads to multiples of 128)`);
  }
  const down = g.tensors.get('down');
  const up = g.tensors.get('up');
  if (!down !== !up) throw new UserError(`layer '${g.prefix}': has ${down ? down.name : up!.name} without its ${down ? 'up' : 'down'} projection`);
  const rank = down ? numel(down) / Kp : 0;
  if (!Number.isInteger(rank) || rank % 16 !== 0) fail(down!, `${numel(down!)} elements is not Kp = ${Kp} times a multiple of 16 (the rank)`);
  expectNumel(up, Np * rank, `Np·rank = ${Np}·${rank}`);
  expectNumel(g.tensors.get('bias'), Np, 'Np');
  expectNumel(g.tensors.get('wcscales'), Np, 'Np');
  expectNumel(g.tensors.get('smooth'), Kp, 'Kp');
  expectScalar(g.tensors.get('wtscale'));
  const format: QuantFormat = kind === 'int4' ? { kind, group: 64, scaleDtype: dtype } : { kind, group: 16, scaleDtype: 'ue4m3' };
  return { prefix: g.prefix, N: real.n, K: real.k, rank, format, dtype, hasBias: g.tensors.has('bias'), hasSmooth: g.tensors.has('smooth') };
}

/** The canonical tensors `pack` writes for a layer (docs/export.md), in order. */
export function outputTensors(l: LayerInfo): PlannedTensor[] {
  const { prefix: p, N, K, rank: R, format, dtype } = l;
  const out: PlannedTensor[] = [
    { name: `${p}.wq`, dtype: 'U8', shape: [N, K / 2] },
    { name: `${p}.wscales`, dtype: format.kind === 'int4' ? ST16[format.scaleDtype] : 'U8', shape: [N, K / format.group] },
  ];
  if (format.kind === 'nvfp4') out.push({ name: `${p}.wtensor_scale`, dtype: 'F32', shape: [] });
  if (l.hasChannelScale) out.push({ name: `${p}.wcscales`, dtype: ST16[dtype], shape: [N] });
  if (R > 0) {
    out.push({ name: `${p}.lora_down`, dtype: ST16[dtype], shape: [R, K] });
    out.push({ name: `${p}.lora_up`, dtype: ST16[dtype], shape: [N, R] });
    out.push({ name: `${p}.lora_scales`, dtype: 'F32', shape: [R / 16] });
  }
  if (l.hasSmooth) out.push({ name: `${p}.smooth`, dtype: ST16[dtype], shape: [K] });
  if (l.hasBias) out.push({ name: `${p}.bias`, dtype: ST16[dtype], shape: [N] });
  return out;
}

// ---- reading one layer

export async function tensorBytes(f: SafetensorsFile, t: StTensorInfo): Promise<Uint8Array> {
  const b = await f.readBytes(t.name);
  const copy = new Uint8Array(b.byteLength); // aligned for typed views
  copy.set(b);
  return copy;
}
const u16 = (b: Uint8Array) => new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);

/** A per-tensor scale as fp32 (16-bit values widen exactly). */
export async function readScalar(f: SafetensorsFile, t: StTensorInfo | undefined, fallback: number): Promise<number> {
  if (!t) return fallback;
  const b = await tensorBytes(f, t);
  const v = new DataView(b.buffer);
  if (t.dtype === 'F32') return v.getFloat32(0, true);
  if (t.dtype === 'F16') return fromBits16(v.getUint16(0, true), 'fp16');
  if (t.dtype === 'BF16') return fromBits16(v.getUint16(0, true), 'bf16');
  fail(t, `dtype ${t.dtype}; a per-tensor scale is F32, F16 or BF16`);
}

/** True when the layer's wcscales (logical [N] or Nunchaku's packed [Np]) hold a value other than 1 in the real channels. */
export async function hasNonUnitChannelScales(f: SafetensorsFile, g: LayerGroup, source: PackSource, N: number): Promise<boolean> {
  const t = g.tensors.get('wcscales');
  if (!t) return false;
  const d = dtype16(t);
  const raw = u16(await tensorBytes(f, t));
  const real = source === 'nunchaku' ? unpackNunchakuVector(raw, N) : raw;
  return real.some((b) => fromBits16(b, d) !== 1);
}

export interface ReadLayer {
  /** The layer in logical form (Nunchaku layers unpadded through export/pack/nunchaku.ts). */
  layer: LogicalLayer;
  /** What an independent reader sees in the input (Nunchaku: export/pack/upstream-decode.ts), for pack-verify. */
  input: Omit<LogicalLayer, 'format'>;
}

/** Reads one layer's tensors. */
export async function readLayer(f: SafetensorsFile, g: LayerGroup, info: LayerInfo, source: PackSource): Promise<ReadLayer> {
  const opt = async (r: Role) => {
    const t = g.tensors.get(r);
    return t ? tensorBytes(f, t) : undefined;
  };
  const v16 = async (r: Role) => {
    const b = await opt(r);
    return b ? u16(b) : undefined;
  };
  if (source === 'logical') {
    const qb = await tensorBytes(f, need(g, 'qweight', 'qweight'));
    const wb = await tensorBytes(f, need(g, 'wscales', 'wscales'));
    const l: LogicalLayer = {
      N: info.N,
      K: info.K,
      format: info.format,
      dtype: info.dtype,
      qweight: info.format.kind === 'int4' ? new Int8Array(qb.buffer) : qb,
      wscales: info.format.kind === 'int4' ? u16(wb) : wb,
      wtensorScale: await readScalar(f, g.tensors.get('wtscale'), 1),
      rank: info.rank,
    };
    const down = await v16('down');
    const up = await v16('up');
    const sc = await opt('lora_scales');
    if (down && up) {
      l.loraDown = down;
      l.loraUp = up;
      if (sc) {
        const t = g.tensors.get('lora_scales')!;
        if (t.dtype !== 'F32') fail(t, `dtype ${t.dtype}; lora_scales are F32`);
        l.loraScales = new Float32Array(sc.buffer);
      }
    }
    const smooth = await v16('smooth');
    const bias = await v16('bias');
    const wcs = await v16('wcscales');
    if (smooth) l.smooth = smooth;
    if (bias) l.bias = bias;
    if (wcs && info.hasChannelScale) l.channelScales = wcs;
    return { layer: l, input: l };
  }
  const Np = g.tensors.get('qweight')!.shape[0];
  const Kp = g.tensors.get('qweight')!.shape[1] * 2;
  const kind = info.format.kind as 'int4' | 'nvfp4';
  const ws = await tensorBytes(f, need(g, 'wscales', 'wscales'));
  const nk: NunchakuLayer = {
    kind,
    dtype: info.dtype,
    Np,
    Kp,
    rank: info.rank,
    qweight: await tensorBytes(f, need(g, 'qweight', 'qweight')),
    wscales: kind === 'int4' ? u16(ws) : ws,
    wtscale: await readScalar(f, g.tensors.get('wtscale'), 1),
  };
  nk.wcscales = await v16('wcscales');
  nk.bias = await v16('bias');
  nk.smooth = await v16('smooth');
  nk.loraDown = await v16('down');
  nk.loraUp = await v16('up');
  if (kind === 'int4' && nk.wtscale !== 1) fail(g.tensors.get('wtscale')!, `value ${nk.wtscale}; INT4 layers have no per-tensor scale (must be 1)`);
  return { layer: fromNunchaku(nk, info.N, info.K), input: upstreamDecode(nk, info.N, info.K) };
}
