// `pack`'s view of a checkpoint: which tensors form one linear layer (grouped by the prefix before
// `.qweight`), what each layer is (N, K, rank, format, dtype — inferred from the header alone, so the
// output header can be written before any data is converted), and how one layer's tensors are read into
// logical form. Two sources: Nunchaku SVDQuant checkpoints (packed, padded to 128) and logical tensors
// (our PyTorch conventions, docs/layouts.md "Logical tensors").
import { UserError } from '../../dsl/errors.js';
import type { Dtype16, QuantFormat } from '../../dsl/types.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { fromNunchaku, pad128, type NunchakuLayer } from './nunchaku.js';
import type { PlannedTensor } from './writer.js';
import type { SafetensorsFile, StDtype, StTensorInfo } from '../../codegen/safetensors.js';

export type PackSource = 'nunchaku' | 'logical';
export type PackFormatKind = 'int4' | 'nvfp4';

/** Per-source tensor suffixes that belong to a layer; everything else passes through unchanged. */
export const LAYER_SUFFIXES: Record<PackSource, readonly string[]> = {
  logical: ['qweight', 'wscales', 'wtensor_scale', 'lora_down', 'lora_up', 'lora_scales', 'smooth', 'bias'],
  nunchaku: ['qweight', 'wscales', 'wtscale', 'alpha', 'wcscales', 'bias', 'smooth_factor', 'smooth_factor_orig', 'proj_down', 'proj_up'],
};
/** Nunchaku keeps the pre-folding smoothing for its own re-quantization tools; the kernels never read it. */
const DROPPED: Record<PackSource, readonly string[]> = { logical: [], nunchaku: ['smooth_factor_orig'] };

export interface LayerGroup {
  prefix: string;
  /** suffix → tensor */
  tensors: Map<string, StTensorInfo>;
}

export interface LayerInfo {
  prefix: string;
  N: number;
  K: number;
  rank: number;
  format: QuantFormat;
  dtype: Dtype16;
  hasBias: boolean;
  hasSmooth: boolean;
  /** Source tensors not carried into the output (named in the provenance). */
  dropped: string[];
}

/** Groups tensors by layer prefix (a prefix with a `.qweight`); the rest are pass-through, in file order. */
export function groupLayers(tensors: readonly StTensorInfo[], source: PackSource): { layers: LayerGroup[]; passthrough: StTensorInfo[] } {
  const prefixes = new Set(tensors.filter((t) => t.name.endsWith('.qweight')).map((t) => t.name.slice(0, -'.qweight'.length)));
  const byPrefix = new Map<string, LayerGroup>();
  const passthrough: StTensorInfo[] = [];
  for (const t of tensors) {
    const dot = t.name.lastIndexOf('.');
    const prefix = dot > 0 ? t.name.slice(0, dot) : '';
    const suffix = t.name.slice(dot + 1);
    if (prefixes.has(prefix) && LAYER_SUFFIXES[source].includes(suffix)) {
      let g = byPrefix.get(prefix);
      if (!g) byPrefix.set(prefix, (g = { prefix, tensors: new Map() }));
      g.tensors.set(suffix, t);
    } else {
      passthrough.push(t);
    }
  }
  return { layers: [...byPrefix.values()], passthrough };
}

const numel = (t: StTensorInfo) => t.shape.reduce((a, b) => a * b, 1);
const shapeStr = (t: StTensorInfo) => `[${t.shape.join(',')}]`;
const DTYPE16: Partial<Record<StDtype, Dtype16>> = { F16: 'fp16', BF16: 'bf16' };
const ST16: Record<Dtype16, StDtype> = { fp16: 'F16', bf16: 'BF16' };

function fail(t: StTensorInfo | string, what: string): never {
  throw new UserError(`tensor '${typeof t === 'string' ? t : t.name}': ${what}`);
}
function need(g: LayerGroup, suffix: string): StTensorInfo {
  const t = g.tensors.get(suffix);
  if (!t) throw new UserError(`layer '${g.prefix}': tensor '${g.prefix}.${suffix}' is missing (a layer with a .qweight needs it)`);
  return t;
}
function dtype16(t: StTensorInfo): Dtype16 {
  return DTYPE16[t.dtype] ?? fail(t, `dtype ${t.dtype}; expected F16 or BF16`);
}

/** The layer dtype from its 16-bit tensors (which must agree), else the fallback. */
function layerDtype(g: LayerGroup, suffixes: string[], fallback: Dtype16 | undefined): Dtype16 {
  let found: { d: Dtype16; t: StTensorInfo } | undefined;
  for (const s of suffixes) {
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

function checkFormatOption(g: LayerGroup, found: PackFormatKind | 'mxfp4', wanted: PackFormatKind | undefined): void {
  if (wanted && wanted !== found) throw new UserError(`layer '${g.prefix}': --format ${wanted}, but its tensors are ${found}`);
}

function expectShape(t: StTensorInfo | undefined, shape: number[]): void {
  if (t && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) fail(t, `shape ${shapeStr(t)}, expected [${shape.join(',')}]`);
}
function expectNumel(t: StTensorInfo | undefined, n: number, why: string): void {
  if (t && numel(t) !== n) fail(t, `${numel(t)} elements ${shapeStr(t)}, expected ${n} (${why})`);
}

export interface InferOptions {
  format?: PackFormatKind;
  dtype?: Dtype16;
  /** Nunchaku: the real (unpadded) [N, K] per layer prefix; default the padded shape. */
  shapes?: Record<string, { n: number; k: number }>;
}

/** What a layer is, from the header alone. */
export function inferLayer(g: LayerGroup, source: PackSource, o: InferOptions = {}): LayerInfo {
  const dropped = DROPPED[source].filter((s) => g.tensors.has(s)).map((s) => `${g.prefix}.${s}`);
  return source === 'logical' ? { ...inferLogical(g, o), dropped } : { ...inferNunchaku(g, o), dropped };
}

function inferLogical(g: LayerGroup, o: InferOptions): Omit<LayerInfo, 'dropped'> {
  const qw = need(g, 'qweight');
  const ws = need(g, 'wscales');
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
  const dtype = layerDtype(g, ['lora_down', 'lora_up', 'bias', 'smooth'], format.kind === 'int4' ? format.scaleDtype : o.dtype);
  const down = g.tensors.get('lora_down');
  const up = g.tensors.get('lora_up');
  if (!down !== !up) throw new UserError(`layer '${g.prefix}': has ${down ? 'lora_down' : 'lora_up'} without ${down ? 'lora_up' : 'lora_down'}`);
  const rank = down ? down.shape[0] : 0;
  expectShape(down, [rank, K]);
  expectShape(up, [N, rank]);
  expectShape(g.tensors.get('lora_scales'), [rank / 16]);
  expectShape(g.tensors.get('smooth'), [K]);
  expectShape(g.tensors.get('bias'), [N]);
  const ts = g.tensors.get('wtensor_scale');
  expectNumel(ts, 1, 'a scalar');
  if (ts && format.kind !== 'nvfp4') fail(ts, `present, but only NVFP4 has a per-tensor scale (this layer is ${format.kind})`);
  return { prefix: g.prefix, N, K, rank, format, dtype, hasBias: g.tensors.has('bias'), hasSmooth: g.tensors.has('smooth') };
}

function inferNunchaku(g: LayerGroup, o: InferOptions): Omit<LayerInfo, 'dropped'> {
  const qw = need(g, 'qweight');
  const ws = need(g, 'wscales');
  if (qw.dtype !== 'I8' && qw.dtype !== 'U8') fail(qw, `dtype ${qw.dtype}; Nunchaku packs codes as I8/U8 bytes`);
  if (qw.shape.length !== 2) fail(qw, `shape ${shapeStr(qw)}; expected [Np, Kp/2]`);
  const Np = qw.shape[0];
  const Kp = qw.shape[1] * 2;
  if (Np % 128 !== 0 || Kp % 128 !== 0) fail(qw, `shape ${shapeStr(qw)}: Nunchaku pads N and K to multiples of 128, got Np = ${Np}, Kp = ${Kp}`);
  let kind: PackFormatKind;
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
  const dtype = kind === 'int4' ? layerDtype(g, ['wscales', 'bias', 'proj_down', 'proj_up', 'smooth_factor', 'wcscales'], undefined) : layerDtype(g, ['bias', 'proj_down', 'proj_up', 'smooth_factor', 'wcscales'], o.dtype);
  const real = o.shapes?.[g.prefix] ?? { n: Np, k: Kp };
  if (pad128(real.n) !== Np || pad128(real.k) !== Kp) {
    throw new UserError(`layer '${g.prefix}': shape ${real.n}x${real.k} does not pad to the checkpoint's ${Np}x${Kp} (Nunchaku pads to multiples of 128)`);
  }
  const down = g.tensors.get('proj_down');
  const up = g.tensors.get('proj_up');
  if (!down !== !up) throw new UserError(`layer '${g.prefix}': has ${down ? 'proj_down' : 'proj_up'} without ${down ? 'proj_up' : 'proj_down'}`);
  const rank = down ? numel(down) / Kp : 0;
  if (!Number.isInteger(rank) || rank % 16 !== 0) fail(down!, `${numel(down!)} elements is not Kp = ${Kp} times a multiple of 16 (the rank)`);
  expectNumel(up, Np * rank, `Np·rank = ${Np}·${rank}`);
  expectNumel(g.tensors.get('bias'), Np, 'Np');
  expectNumel(g.tensors.get('wcscales'), Np, 'Np');
  expectNumel(g.tensors.get('smooth_factor'), Kp, 'Kp');
  for (const s of ['wtscale', 'alpha']) expectNumel(g.tensors.get(s), 1, 'a scalar');
  const format: QuantFormat = kind === 'int4' ? { kind, group: 64, scaleDtype: dtype } : { kind, group: 16, scaleDtype: 'ue4m3' };
  return { prefix: g.prefix, N: real.n, K: real.k, rank, format, dtype, hasBias: g.tensors.has('bias'), hasSmooth: g.tensors.has('smooth_factor') };
}

/** The canonical tensors `pack` writes for a layer (docs/export.md), in order. */
export function outputTensors(l: LayerInfo): PlannedTensor[] {
  const { prefix: p, N, K, rank: R, format, dtype } = l;
  const out: PlannedTensor[] = [
    { name: `${p}.wq`, dtype: 'U8', shape: [N, K / 2] },
    { name: `${p}.wscales`, dtype: format.kind === 'int4' ? ST16[format.scaleDtype] : 'U8', shape: [N, K / format.group] },
  ];
  if (format.kind === 'nvfp4') out.push({ name: `${p}.wtensor_scale`, dtype: 'F32', shape: [] });
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

async function bytes(f: SafetensorsFile, t: StTensorInfo): Promise<Uint8Array> {
  const b = await f.readBytes(t.name);
  const copy = new Uint8Array(b.byteLength); // aligned for typed views
  copy.set(b);
  return copy;
}
const u16 = (b: Uint8Array) => new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);

async function scalar(f: SafetensorsFile, t: StTensorInfo | undefined, fallback: number): Promise<number> {
  if (!t) return fallback;
  const b = await bytes(f, t);
  const v = new DataView(b.buffer);
  if (t.dtype === 'F32') return v.getFloat32(0, true);
  if (t.dtype === 'F64') return v.getFloat64(0, true);
  fail(t, `dtype ${t.dtype}; a per-tensor scale is F32`);
}

/** Reads one layer into logical tensors (Nunchaku layers are unpadded through export/pack/nunchaku.ts). */
export async function readLayer(f: SafetensorsFile, g: LayerGroup, info: LayerInfo, source: PackSource): Promise<LogicalLayer> {
  const opt = async (s: string) => {
    const t = g.tensors.get(s);
    return t ? bytes(f, t) : undefined;
  };
  if (source === 'logical') {
    const qb = await bytes(f, need(g, 'qweight'));
    const wb = await bytes(f, need(g, 'wscales'));
    const l: LogicalLayer = {
      N: info.N,
      K: info.K,
      format: info.format,
      dtype: info.dtype,
      qweight: info.format.kind === 'int4' ? new Int8Array(qb.buffer) : qb,
      wscales: info.format.kind === 'int4' ? u16(wb) : wb,
      wtensorScale: await scalar(f, g.tensors.get('wtensor_scale'), 1),
      rank: info.rank,
    };
    const down = await opt('lora_down');
    const up = await opt('lora_up');
    const sc = await opt('lora_scales');
    if (down && up) {
      l.loraDown = u16(down);
      l.loraUp = u16(up);
      if (sc) {
        const t = g.tensors.get('lora_scales')!;
        if (t.dtype !== 'F32') fail(t, `dtype ${t.dtype}; lora_scales are F32`);
        l.loraScales = new Float32Array(sc.buffer);
      }
    }
    const smooth = await opt('smooth');
    const bias = await opt('bias');
    if (smooth) l.smooth = u16(smooth);
    if (bias) l.bias = u16(bias);
    return l;
  }
  const Np = g.tensors.get('qweight')!.shape[0];
  const Kp = g.tensors.get('qweight')!.shape[1] * 2;
  const kind = info.format.kind as PackFormatKind;
  const ws = await bytes(f, need(g, 'wscales'));
  const nk: NunchakuLayer = {
    kind,
    dtype: info.dtype,
    Np,
    Kp,
    rank: info.rank,
    qweight: await bytes(f, need(g, 'qweight')),
    wscales: kind === 'int4' ? u16(ws) : ws,
    wtscale: await scalar(f, g.tensors.get('wtscale') ?? g.tensors.get('alpha'), 1),
  };
  const v16 = async (s: string) => {
    const b = await opt(s);
    return b ? u16(b) : undefined;
  };
  nk.wcscales = await v16('wcscales');
  nk.bias = await v16('bias');
  nk.smooth = await v16('smooth_factor');
  nk.loraDown = await v16('proj_down');
  nk.loraUp = await v16('proj_up');
  if (kind === 'int4' && nk.wtscale !== 1) fail(`${g.prefix}.wtscale`, `value ${nk.wtscale}; INT4 layers have no per-tensor scale (must be 1)`);
  return fromNunchaku(nk, info.N, info.K);
}
