// Lossless conversion between Nunchaku's packed checkpoint layouts (nunchaku-kernels.md §2, commit
// 3a3cc3d) and the canonical layouts (docs/layouts.md). Nunchaku pads N and K to multiples of 128 and
// lays weights and scales out per 128-column block; the canonical side has no padding. Conversion
// goes through the logical tensors: Nunchaku → logical drops the padding, logical → Nunchaku restores
// it (weights, wscales, bias, lora: 0; smooth and wcscales: 1, so padded channels never divide 0 by 0).
import { UserError } from '../../dsl/errors.js';
import type { Dtype16 } from '../../dsl/types.js';
import type { LogicalLayer } from '../../numerics/logical.js';
import { checkK, checkN, checkRank, loraDownIndex, loraUpIndex, packLayer, unpackLayer, type PackedLayer } from '../../codegen/layouts.js';

/** One linear layer as Nunchaku's checkpoints store it (all arrays in its packed layouts). */
export interface NunchakuLayer {
  kind: 'int4' | 'nvfp4';
  dtype: Dtype16;
  /** Padded sizes: multiples of 128. */
  Np: number;
  Kp: number;
  rank: number;
  /** [Np/128][Kp/64][8][32] × 16 B. */
  qweight: Uint8Array;
  /** INT4: packed-wscale layout, Np·Kp/64 half_t bits. NVFP4: wmscales, Np·Kp/16 fp8 e4m3 bytes. */
  wscales: Uint16Array | Uint8Array;
  /** NVFP4 per-tensor fp32 scale (`alpha`/`wtscale`); 1 for INT4. */
  wtscale: number;
  /** NVFP4 per-channel half_t scales, packed-wscale vector layout [Np] (LogicalLayer.channelScales). */
  wcscales?: Uint16Array;
  /** Packed-wscale vector layout [Np]. */
  bias?: Uint16Array;
  /** smooth_factor, packed-wscale vector layout [Kp]. */
  smooth?: Uint16Array;
  /** proj_down [Kp/16][R/16][32][8], proj_up [Np/16][R/16][32][8]. */
  loraDown?: Uint16Array;
  loraUp?: Uint16Array;
}

export const pad128 = (v: number): number => Math.ceil(v / 128) * 128;

// ---- Nunchaku index formulas (nunchaku-kernels.md §2.2, §2.4, §2.6)

/** Nibble index of weight code (n, k) in Nunchaku's qweight (BLOCK_N = 128, WARP_N_TILES = 8). */
export function nunchakuWeightIndex(n: number, k: number, Kp: number): number {
  const r = n % 16;
  const kk = k % 64;
  const U = (((n >> 7) * (Kp / 64) + (k >> 6)) * 8 + ((n % 128) >> 4)) * 32 + 4 * (r % 8) + ((kk % 32) >> 3);
  const word = 2 * (r >> 3) + (kk >> 5);
  return (U * 4 + word) * 8 + (kk % 8);
}

/** Element index of the packed-wscale layout: column n, group kt (groups = 1 for bias/smooth/wcscales). */
export function nunchakuWScaleIndex(n: number, kt: number, groups: number): number {
  const c = n % 128;
  const l = 4 * (c >> 4) + ((c % 8) >> 1);
  const e = 2 * ((c % 16) >> 3) + (c % 2);
  return (((n >> 7) * groups + kt) * 32 + l) * 4 + e;
}

/** Byte index of NVFP4 weight micro-scale (n, k) in Nunchaku's wmscales. */
export function nunchakuWmscaleIndex(n: number, k: number, Kp: number): number {
  const c = n % 128;
  const p = c >> 5;
  const cc = c % 32;
  const l = 4 * (cc % 8) + (cc >> 3);
  return ((((n >> 7) * (Kp / 64) + (k >> 6)) * 32 + l) * 4 + p) * 4 + ((k % 64) >> 4);
}

function packVector(v: Uint16Array, n: number, np: number, fill: number): Uint16Array {
  const out = new Uint16Array(np);
  for (let i = 0; i < np; i++) out[nunchakuWScaleIndex(i, 0, 1)] = i < n ? v[i] : fill;
  return out;
}
/** The first n entries of a packed-wscale-layout vector (bias, smooth, wcscales). */
export function unpackNunchakuVector(p: Uint16Array, n: number): Uint16Array {
  return unpackVector(p, n);
}
function unpackVector(p: Uint16Array, n: number): Uint16Array {
  return Uint16Array.from({ length: n }, (_, i) => p[nunchakuWScaleIndex(i, 0, 1)]);
}
function one16(dtype: Dtype16): number {
  return dtype === 'fp16' ? 0x3c00 : 0x3f80;
}

function checkNunchaku(nk: NunchakuLayer, N: number, K: number): void {
  checkN('qweight', N);
  checkK('qweight', K);
  if (nk.Np !== pad128(N) || nk.Kp !== pad128(K)) {
    throw new UserError(`nunchaku layer: padded shape [${nk.Np},${nk.Kp}] does not match N = ${N}, K = ${K} (expected [${pad128(N)},${pad128(K)}])`);
  }
  const want = (what: string, got: number | undefined, n: number) => {
    if (got !== undefined && got !== n) throw new UserError(`nunchaku ${what}: ${got} elements, expected ${n}`);
  };
  want('qweight', nk.qweight.length, (nk.Np * nk.Kp) / 2);
  want('wscales', nk.wscales.length, (nk.Np * nk.Kp) / (nk.kind === 'int4' ? 64 : 16));
  want('bias', nk.bias?.length, nk.Np);
  want('wcscales', nk.wcscales?.length, nk.Np);
  want('smooth_factor', nk.smooth?.length, nk.Kp);
  if (nk.rank > 0) {
    checkRank('lora', nk.rank);
    want('proj_down', nk.loraDown?.length ?? 0, nk.Kp * nk.rank);
    want('proj_up', nk.loraUp?.length ?? 0, nk.Np * nk.rank);
  }
}

/** Nunchaku → logical tensors of the real (unpadded) N × K layer. */
export function fromNunchaku(nk: NunchakuLayer, N: number, K: number): LogicalLayer {
  checkNunchaku(nk, N, K);
  const { Kp, dtype, rank: R } = nk;
  const qweight = nk.kind === 'int4' ? new Int8Array(N * K) : new Uint8Array(N * K);
  // the nibble index is a sum of an n part and a k part (nunchakuWeightIndex): precompute both
  const rowOff = Int32Array.from({ length: N }, (_, n) => nunchakuWeightIndex(n, 0, Kp));
  const colOff = Int32Array.from({ length: K }, (_, k) => nunchakuWeightIndex(0, k, Kp));
  const signed = nk.kind === 'int4';
  const src = nk.qweight;
  for (let n = 0; n < N; n++) {
    const base = rowOff[n];
    const row = n * K;
    for (let k = 0; k < K; k++) {
      const i = base + colOff[k];
      const nib = (src[i >> 1] >> ((i & 1) << 2)) & 0xf;
      qweight[row + k] = signed && nib >= 8 ? nib - 16 : nib;
    }
  }
  let wscales: Uint16Array | Uint8Array;
  if (nk.kind === 'int4') {
    const s = nk.wscales as Uint16Array;
    wscales = Uint16Array.from({ length: (N * K) / 64 }, (_, i) => s[nunchakuWScaleIndex(Math.floor(i / (K / 64)), i % (K / 64), Kp / 64)]);
  } else {
    const s = nk.wscales as Uint8Array;
    wscales = Uint8Array.from({ length: (N * K) / 16 }, (_, i) => s[nunchakuWmscaleIndex(Math.floor(i / (K / 16)), (i % (K / 16)) * 16, Kp)]);
    const neg = wscales.findIndex((b) => (b & 0x80) !== 0);
    if (neg >= 0) throw new UserError(`nunchaku wscales: fp8 scale 0x${wscales[neg].toString(16)} at [${Math.floor(neg / (K / 16))},${neg % (K / 16)}] is negative; ue4m3 scales must be non-negative`);
  }
  let channelScales: Uint16Array | undefined;
  if (nk.wcscales) {
    const w = unpackVector(nk.wcscales, N);
    const bad = w.findIndex((b) => b !== one16(dtype));
    // INT4 kernels never read wcscales (nunchaku-kernels.md §1.2): only all-ones can be dropped there
    if (bad >= 0 && nk.kind === 'int4') throw new UserError(`nunchaku wcscales: channel ${bad} is 0x${w[bad].toString(16)} on an INT4 layer; upstream applies wcscales to NVFP4 only, so they must be all 1.0`);
    if (bad >= 0) channelScales = w;
  }
  const format = nk.kind === 'int4' ? ({ kind: 'int4', group: 64, scaleDtype: dtype } as const) : ({ kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' } as const);
  const out: LogicalLayer = { N, K, format, dtype, qweight, wscales, wtensorScale: nk.kind === 'nvfp4' ? nk.wtscale : 1, rank: R };
  if (R > 0 && nk.loraDown && nk.loraUp) {
    // Nunchaku's lora layouts equal the canonical ones over the padded channel count
    const down = nk.loraDown;
    const up = nk.loraUp;
    out.loraDown = Uint16Array.from({ length: R * K }, (_, i) => down[loraDownIndex(i % K, Math.floor(i / K), R)]);
    out.loraUp = Uint16Array.from({ length: N * R }, (_, i) => up[loraUpIndex(Math.floor(i / R), i % R, R)]);
    out.loraScales = new Float32Array(R / 16).fill(1);
  }
  if (nk.bias) out.bias = unpackVector(nk.bias, N);
  if (nk.smooth) out.smooth = unpackVector(nk.smooth, K);
  if (channelScales) out.channelScales = channelScales;
  return out;
}

/** Logical tensors → Nunchaku, padding N and K to 128. */
export function toNunchaku(l: LogicalLayer): NunchakuLayer {
  const { N, K, dtype, rank: R, format } = l;
  checkN('qweight', N);
  checkK('qweight', K);
  if (format.kind === 'mxfp4') throw new UserError('format.kind: "mxfp4" has no Nunchaku layout (Nunchaku supports int4 and nvfp4)');
  if (format.kind === 'int4' && (format.group !== 64 || format.scaleDtype !== dtype)) {
    throw new UserError(`format: Nunchaku INT4 needs group 64 and scales in the layer dtype ${dtype}, got group ${format.group} ${format.scaleDtype}`);
  }
  if (l.loraScales && l.loraScales.some((s) => s !== 1)) throw new UserError('lora_scales: Nunchaku checkpoints hold no lora scales; only all-1 scales convert');
  const Np = pad128(N);
  const Kp = pad128(K);
  const qweight = new Uint8Array((Np * Kp) / 2);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const i = nunchakuWeightIndex(n, k, Kp);
      qweight[i >> 1] |= (l.qweight[n * K + k] & 0xf) << ((i & 1) * 4);
    }
  }
  let wscales: Uint16Array | Uint8Array;
  if (format.kind === 'int4') {
    wscales = new Uint16Array((Np * Kp) / 64);
    for (let n = 0; n < N; n++) for (let g = 0; g < K / 64; g++) wscales[nunchakuWScaleIndex(n, g, Kp / 64)] = l.wscales[n * (K / 64) + g];
  } else {
    wscales = new Uint8Array((Np * Kp) / 16);
    for (let n = 0; n < N; n++) for (let g = 0; g < K / 16; g++) wscales[nunchakuWmscaleIndex(n, g * 16, Kp)] = l.wscales[n * (K / 16) + g];
  }
  const out: NunchakuLayer = { kind: format.kind, dtype, Np, Kp, rank: R, qweight, wscales, wtscale: l.wtensorScale };
  if (format.kind === 'nvfp4') out.wcscales = l.channelScales ? packVector(l.channelScales, N, Np, one16(dtype)) : new Uint16Array(Np).fill(one16(dtype));
  else if (l.channelScales) throw new UserError(`wcscales: per-channel scales exist for NVFP4 only in Nunchaku (this layer is ${format.kind})`);
  if (R > 0 && l.loraDown && l.loraUp) {
    const down = new Uint16Array(Kp * R);
    const up = new Uint16Array(Np * R);
    for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) down[loraDownIndex(k, r, R)] = l.loraDown[r * K + k];
    for (let n = 0; n < N; n++) for (let r = 0; r < R; r++) up[loraUpIndex(n, r, R)] = l.loraUp[n * R + r];
    out.loraDown = down;
    out.loraUp = up;
  }
  if (l.bias) out.bias = packVector(l.bias, N, Np, 0);
  if (l.smooth) out.smooth = packVector(l.smooth, K, Kp, one16(dtype));
  return out;
}

/** Nunchaku checkpoint layer → canonical packed layer. */
export function nunchakuToCanonical(nk: NunchakuLayer, N: number, K: number): PackedLayer {
  return packLayer(fromNunchaku(nk, N, K));
}

/** Canonical packed layer → Nunchaku checkpoint layer. */
export function canonicalToNunchaku(p: PackedLayer): NunchakuLayer {
  return toNunchaku(unpackLayer(p));
}
