// Canonical packed layouts, version 1 (docs/layouts.md is the normative text; this file is its
// executable form). Layouts are defined per MMA tile, never per block tile, so one packed checkpoint
// serves every tuned tile config. Index functions are pure; pack/unpack are exact inverses.
import { UserError } from '../dsl/errors.js';
import type { Dtype16, QuantFormat } from '../dsl/types.js';
import type { LogicalLayer } from '../numerics/logical.js';

export const LAYOUT_VERSION = 1;

/** Rows padded to whole 16-row tiles (packed activations and their scales). */
export function padRows16(rows: number): number {
  return Math.ceil(rows / 16) * 16;
}

// ---- divisibility rules (errors name the tensor, the dimension, the value and what is allowed)

function requireMultiple(tensor: string, dim: string, value: number, of: number, why: string): void {
  if (!Number.isInteger(value) || value <= 0 || value % of !== 0) {
    throw new UserError(`${tensor}: ${dim} = ${value} must be a positive multiple of ${of} (${why})`);
  }
}
export function checkK(tensor: string, K: number, G?: number): void {
  requireMultiple(tensor, 'K', K, 64, "the 4-bit MMA's K");
  if (G !== undefined) requireMultiple(tensor, 'K', K, G, `the quantization group ${G}`);
}
export function checkN(tensor: string, N: number): void {
  requireMultiple(tensor, 'N', N, 16, 'the 16-column weight tile');
}
export function checkRank(tensor: string, R: number): void {
  requireMultiple(tensor, 'rank', R, 16, 'the 16-rank low-rank tile');
}
function checkRows(tensor: string, rows: number): void {
  if (!Number.isInteger(rows) || rows <= 0) throw new UserError(`${tensor}: M = ${rows} must be a positive integer`);
}
function checkGroup(tensor: string, G: number, allowed: readonly number[]): void {
  if (!allowed.includes(G)) throw new UserError(`${tensor}: group = ${G} must be one of ${allowed.join(', ')}`);
}
function checkLength(tensor: string, got: number, want: number, shape: string): void {
  if (got !== want) throw new UserError(`${tensor}: ${got} elements, expected ${want} (${shape})`);
}

// ---- index formulas

/** Nibble index of activation code (m, k): byte = i >> 1, low nibble when i is even. */
export function aqIndex(m: number, k: number, K: number): number {
  const r = m % 16;
  const lane = 4 * (r % 8) + ((k % 32) >> 3);
  const word = (r >> 3) + 2 * ((k % 64) >> 5);
  const tile = (m >> 4) * (K / 64) + (k >> 6);
  return ((tile * 32 + lane) * 4 + word) * 8 + (k % 8);
}

/** Nibble index of weight code (n, k) of weight [N,K]. */
export function wqIndex(n: number, k: number, K: number): number {
  const c = n % 16;
  const lane = 4 * (c % 8) + ((k % 32) >> 3);
  const word = 2 * (c >> 3) + ((k % 64) >> 5);
  const tile = (n >> 4) * (K / 64) + (k >> 6);
  return ((tile * 32 + lane) * 4 + word) * 8 + (k % 8);
}

/** Element index of INT4 weight scale (n, grp); lane t reads columns {2t, 2t+1, 8+2t, 9+2t}. */
export function wscaleIndex(n: number, grp: number, K: number, G: number): number {
  const c = n % 16;
  const t = (c % 8) >> 1;
  const e = 2 * (c >> 3) + (c % 2);
  return (((n >> 4) * (K / G) + grp) * 4 + t) * 4 + e;
}

/** Element index of INT4 activation scale (m, grp); lane group g reads rows g and g+8. */
export function ascaleIndex(m: number, grp: number, K: number, G: number): number {
  const r = m % 16;
  return (((m >> 4) * (K / G) + grp) * 8 + (r % 8)) * 2 + (r >> 3);
}

/** Byte index of the NVFP4 (G=16) / MXFP4 (G=32) scale of (row, k): S = 64/G bytes per row per k64. */
export function fp4ScaleIndex(row: number, k: number, K: number, G: number): number {
  const S = 64 / G;
  return (((row >> 4) * (K / 64) + (k >> 6)) * 16 + (row % 16)) * S + Math.floor((k % 64) / G);
}

/** lora_down [R,K] element (rank r, channel c): m16n8k16 B fragment with channel = k, rank = n. */
export function loraDownIndex(c: number, r: number, R: number): number {
  const lane = 4 * (r % 8) + ((c % 8) >> 1);
  const h = 4 * ((r % 16) >> 3) + 2 * ((c % 16) >> 3) + (c % 2);
  return ((((c >> 4) * (R / 16) + (r >> 4)) * 32 + lane) * 8) + h;
}

/** lora_up [N,R] element (out channel o, rank r): m16n8k16 B fragment with rank = k, channel = n. */
export function loraUpIndex(o: number, r: number, R: number): number {
  const lane = 4 * (o % 8) + ((r % 8) >> 1);
  const h = 4 * ((o % 16) >> 3) + 2 * ((r % 16) >> 3) + (r % 2);
  return ((((o >> 4) * (R / 16) + (r >> 4)) * 32 + lane) * 8) + h;
}

/** lora_act slice s, element (m, r): [S][Mp/16][R/16][32 lanes][8 floats], C-fragment order. */
export function loraActIndex(s: number, m: number, r: number, Mp: number, R: number): number {
  const q = m % 16;
  const rr = r % 16;
  const lane = 4 * (q % 8) + ((rr % 8) >> 1);
  const j = (rr % 2) + 2 * (q >> 3) + 4 * (rr >> 3);
  return (((s * (Mp / 16) + (m >> 4)) * (R / 16) + (r >> 4)) * 32 + lane) * 8 + j;
}

// ---- 4-bit codes

function packNibbles(codes: ArrayLike<number>, rows: number, K: number, rowsPacked: number, index: (row: number, k: number, K: number) => number): Uint8Array {
  const out = new Uint8Array((rowsPacked * K) / 2);
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k < K; k++) {
      const i = index(row, k, K);
      out[i >> 1] |= (codes[row * K + k] & 0xf) << ((i & 1) * 4);
    }
  }
  return out;
}
function unpackNibbles(packed: Uint8Array, rows: number, K: number, signed: boolean, index: (row: number, k: number, K: number) => number): Int8Array | Uint8Array {
  const out = signed ? new Int8Array(rows * K) : new Uint8Array(rows * K);
  for (let row = 0; row < rows; row++) {
    for (let k = 0; k < K; k++) {
      const i = index(row, k, K);
      const nib = (packed[i >> 1] >> ((i & 1) * 4)) & 0xf;
      out[row * K + k] = signed && nib >= 8 ? nib - 16 : nib;
    }
  }
  return out;
}

/** Weight codes [N,K] (s4 −8..7 or e2m1 0..15) → N·K/2 bytes. */
export function packWeights(codes: Int8Array | Uint8Array, N: number, K: number): Uint8Array {
  checkN('qweight', N);
  checkK('qweight', K);
  checkLength('qweight', codes.length, N * K, `[N,K] = [${N},${K}]`);
  return packNibbles(codes, N, K, N, wqIndex);
}
/** Inverse of packWeights; `signed` sign-extends s4 codes (e2m1 and u4 codes: false). */
export function unpackWeights(packed: Uint8Array, N: number, K: number, signed: boolean): Int8Array | Uint8Array {
  checkN('qweight', N);
  checkK('qweight', K);
  checkLength('packed qweight', packed.length, (N * K) / 2, 'N·K/2 bytes');
  return unpackNibbles(packed, N, K, signed, wqIndex);
}

/** Activation codes [M,K] → Mp·K/2 bytes (rows padded to 16 with code 0), as the kernels write them. */
export function packActivations(codes: Int8Array | Uint8Array, M: number, K: number): Uint8Array {
  checkRows('activations', M);
  checkK('activations', K);
  checkLength('activations', codes.length, M * K, `[M,K] = [${M},${K}]`);
  return packNibbles(codes, M, K, padRows16(M), aqIndex);
}
export function unpackActivations(packed: Uint8Array, M: number, K: number, signed: boolean): Int8Array | Uint8Array {
  checkRows('activations', M);
  checkK('activations', K);
  checkLength('packed activations', packed.length, (padRows16(M) * K) / 2, 'Mp·K/2 bytes');
  return unpackNibbles(packed, M, K, signed, aqIndex);
}

// ---- scales

function permute<T extends Uint16Array | Uint8Array | Float32Array>(src: ArrayLike<number>, out: T, rows: number, cols: number, index: (row: number, col: number) => number): T {
  for (let row = 0; row < rows; row++) for (let col = 0; col < cols; col++) out[index(row, col)] = src[row * cols + col];
  return out;
}
function gather<T extends Uint16Array | Uint8Array | Float32Array>(packed: ArrayLike<number>, out: T, rows: number, cols: number, index: (row: number, col: number) => number): T {
  for (let row = 0; row < rows; row++) for (let col = 0; col < cols; col++) out[row * cols + col] = packed[index(row, col)];
  return out;
}

/** INT4 weight scales [N,K/G] (16-bit bits) → packed. */
export function packWScales(scales: Uint16Array, N: number, K: number, G: number): Uint16Array {
  checkGroup('wscales', G, [32, 64, 128]);
  checkN('wscales', N);
  checkK('wscales', K, G);
  checkLength('wscales', scales.length, (N * K) / G, `[N,K/G] = [${N},${K / G}]`);
  return permute(scales, new Uint16Array((N * K) / G), N, K / G, (n, g) => wscaleIndex(n, g, K, G));
}
export function unpackWScales(packed: Uint16Array, N: number, K: number, G: number): Uint16Array {
  checkGroup('wscales', G, [32, 64, 128]);
  checkN('wscales', N);
  checkK('wscales', K, G);
  checkLength('packed wscales', packed.length, (N * K) / G, 'N·K/G');
  return gather(packed, new Uint16Array((N * K) / G), N, K / G, (n, g) => wscaleIndex(n, g, K, G));
}

/** INT4 activation scales [M,K/G] → Mp·K/G (padded rows 0). */
export function packAScales(scales: Uint16Array, M: number, K: number, G: number): Uint16Array {
  checkGroup('ascales', G, [32, 64, 128]);
  checkRows('ascales', M);
  checkK('ascales', K, G);
  checkLength('ascales', scales.length, (M * K) / G, `[M,K/G] = [${M},${K / G}]`);
  return permute(scales, new Uint16Array((padRows16(M) * K) / G), M, K / G, (m, g) => ascaleIndex(m, g, K, G));
}
export function unpackAScales(packed: Uint16Array, M: number, K: number, G: number): Uint16Array {
  checkGroup('ascales', G, [32, 64, 128]);
  checkRows('ascales', M);
  checkK('ascales', K, G);
  checkLength('packed ascales', packed.length, (padRows16(M) * K) / G, 'Mp·K/G');
  return gather(packed, new Uint16Array((M * K) / G), M, K / G, (m, g) => ascaleIndex(m, g, K, G));
}

/** NVFP4 (G=16, ue4m3) or MXFP4 (G=32, ue8m0) scales [rows,K/G] → padRows16(rows)·K/G bytes. */
export function packFp4Scales(scales: Uint8Array, rows: number, K: number, G: number): Uint8Array {
  checkGroup('fp4 scales', G, [16, 32]);
  checkRows('fp4 scales', rows);
  checkK('fp4 scales', K, G);
  checkLength('fp4 scales', scales.length, (rows * K) / G, `[rows,K/G] = [${rows},${K / G}]`);
  return permute(scales, new Uint8Array((padRows16(rows) * K) / G), rows, K / G, (r, g) => fp4ScaleIndex(r, g * G, K, G));
}
export function unpackFp4Scales(packed: Uint8Array, rows: number, K: number, G: number): Uint8Array {
  checkGroup('fp4 scales', G, [16, 32]);
  checkRows('fp4 scales', rows);
  checkK('fp4 scales', K, G);
  checkLength('packed fp4 scales', packed.length, (padRows16(rows) * K) / G, 'padRows16(rows)·K/G');
  return gather(packed, new Uint8Array((rows * K) / G), rows, K / G, (r, g) => fp4ScaleIndex(r, g * G, K, G));
}

// ---- low-rank weights and activations

/** lora_down [R,K] (16-bit bits) → packed [K/16][R/16][32][8]. */
export function packLoraDown(down: Uint16Array, R: number, K: number): Uint16Array {
  checkRank('lora_down', R);
  checkK('lora_down', K);
  checkLength('lora_down', down.length, R * K, `[rank,K] = [${R},${K}]`);
  return permute(down, new Uint16Array(R * K), R, K, (r, c) => loraDownIndex(c, r, R));
}
export function unpackLoraDown(packed: Uint16Array, R: number, K: number): Uint16Array {
  checkRank('lora_down', R);
  checkK('lora_down', K);
  checkLength('packed lora_down', packed.length, R * K, 'rank·K');
  return gather(packed, new Uint16Array(R * K), R, K, (r, c) => loraDownIndex(c, r, R));
}

/** lora_up [N,R] → packed [N/16][R/16][32][8]. */
export function packLoraUp(up: Uint16Array, N: number, R: number): Uint16Array {
  checkN('lora_up', N);
  checkRank('lora_up', R);
  checkLength('lora_up', up.length, N * R, `[N,rank] = [${N},${R}]`);
  return permute(up, new Uint16Array(N * R), N, R, (o, r) => loraUpIndex(o, r, R));
}
export function unpackLoraUp(packed: Uint16Array, N: number, R: number): Uint16Array {
  checkN('lora_up', N);
  checkRank('lora_up', R);
  checkLength('packed lora_up', packed.length, N * R, 'N·rank');
  return gather(packed, new Uint16Array(N * R), N, R, (o, r) => loraUpIndex(o, r, R));
}

/** lora_act slices (each fp32 [M,R]) → [S][Mp/16][R/16][32][8] (padded rows 0). */
export function packLoraAct(slices: Float32Array[], M: number, R: number): Float32Array {
  checkRows('lora_act', M);
  checkRank('lora_act', R);
  const Mp = padRows16(M);
  const out = new Float32Array(slices.length * Mp * R);
  slices.forEach((slice, s) => {
    checkLength(`lora_act slice ${s}`, slice.length, M * R, `[M,rank] = [${M},${R}]`);
    permute(slice, out, M, R, (m, r) => loraActIndex(s, m, r, Mp, R));
  });
  return out;
}
export function unpackLoraAct(packed: Float32Array, S: number, M: number, R: number): Float32Array[] {
  checkRows('lora_act', M);
  checkRank('lora_act', R);
  const Mp = padRows16(M);
  checkLength('packed lora_act', packed.length, S * Mp * R, 'S·Mp·rank');
  return Array.from({ length: S }, (_, s) => gather(packed, new Float32Array(M * R), M, R, (m, r) => loraActIndex(s, m, r, Mp, R)));
}

// ---- a whole layer

export interface PackedLayer {
  layoutVersion: typeof LAYOUT_VERSION;
  N: number;
  K: number;
  rank: number;
  format: QuantFormat;
  dtype: Dtype16;
  /** N·K/2 bytes. */
  wq: Uint8Array;
  /** INT4: packWScales (Uint16Array); NVFP4/MXFP4: packFp4Scales (Uint8Array). */
  wscales: Uint16Array | Uint8Array;
  wtensorScale: number;
  loraDown?: Uint16Array;
  loraUp?: Uint16Array;
  loraScales?: Float32Array;
  /** Plain vectors in the layer dtype. */
  smooth?: Uint16Array;
  bias?: Uint16Array;
  /** [N] per-channel output scales, plain, layer dtype (LogicalLayer.channelScales). */
  channelScales?: Uint16Array;
}

export function packLayer(l: LogicalLayer): PackedLayer {
  const { N, K, format } = l;
  const G = format.group;
  checkK('qweight', K, G);
  const wscales =
    format.kind === 'int4'
      ? packWScales(l.wscales as Uint16Array, N, K, G)
      : packFp4Scales(l.wscales as Uint8Array, N, K, G);
  const out: PackedLayer = {
    layoutVersion: LAYOUT_VERSION,
    N,
    K,
    rank: l.rank,
    format,
    dtype: l.dtype,
    wq: packWeights(l.qweight, N, K),
    wscales,
    wtensorScale: l.wtensorScale,
  };
  if (l.rank > 0) {
    if (!l.loraDown || !l.loraUp) throw new UserError(`lora_down/lora_up: required when rank = ${l.rank} > 0`);
    out.loraDown = packLoraDown(l.loraDown, l.rank, K);
    out.loraUp = packLoraUp(l.loraUp, N, l.rank);
    out.loraScales = l.loraScales ?? new Float32Array(l.rank / 16).fill(1);
    checkLength('lora_scales', out.loraScales.length, l.rank / 16, 'rank/16');
  }
  if (l.smooth) {
    checkLength('smooth', l.smooth.length, K, '[K]');
    out.smooth = l.smooth.slice();
  }
  if (l.bias) {
    checkLength('bias', l.bias.length, N, '[N]');
    out.bias = l.bias.slice();
  }
  if (l.channelScales) {
    checkLength('wcscales', l.channelScales.length, N, '[N]');
    out.channelScales = l.channelScales.slice();
  }
  return out;
}

/** Exact inverse of packLayer. */
export function unpackLayer(p: PackedLayer): LogicalLayer {
  const { N, K, format, rank } = p;
  const G = format.group;
  const out: LogicalLayer = {
    N,
    K,
    format,
    dtype: p.dtype,
    qweight: unpackWeights(p.wq, N, K, format.kind === 'int4'),
    wscales:
      format.kind === 'int4'
        ? unpackWScales(p.wscales as Uint16Array, N, K, G)
        : unpackFp4Scales(p.wscales as Uint8Array, N, K, G),
    wtensorScale: p.wtensorScale,
    rank,
  };
  if (rank > 0 && p.loraDown && p.loraUp) {
    out.loraDown = unpackLoraDown(p.loraDown, rank, K);
    out.loraUp = unpackLoraUp(p.loraUp, N, rank);
    out.loraScales = p.loraScales?.slice();
  }
  if (p.smooth) out.smooth = p.smooth.slice();
  if (p.bias) out.bias = p.bias.slice();
  if (p.channelScales) out.channelScales = p.channelScales.slice();
  return out;
}
