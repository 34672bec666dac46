// An independent little FP4 codec and layer reference for the tests, written from the format
// definitions in ../shared/reference/ptx-fragments.md §4.6 — not from numerics/ or the packer:
//   e2m1:  1 sign (bit 3), 2 exponent bits (bias 1), 1 mantissa bit; e = 0 → m·0.5; no Inf/NaN
//   ue4m3: e = bits 6:3 (bias 7), m = bits 2:0; e = 0 → m/8·2^−6, else (1 + m/8)·2^(e−7); 0x7F NaN; max 0x7E = 448
//   ue8m0: 2^(code − 127), 0xFF NaN
// Encoders are brute force over every code: nearest value, ties to the even code (even mantissa bit),
// saturating at the largest finite value — the RNE + satfinite rule of `cvt.rn.satfinite`. ue8m0 scales
// round up (smallest power of two ≥ x), as docs/numerics.md's MXFP4 recipe says.
import type { Dtype16 } from '../../../dsl/types.js';
import { fromBits16, toBits16 } from '../../../numerics/float16.js';

export function e2m1Value(code: number): number {
  const sign = code & 8 ? -1 : 1;
  const e = (code >> 1) & 3;
  const m = code & 1;
  return sign * (e === 0 ? m * 0.5 : (1 + m / 2) * 2 ** (e - 1));
}

export function ue4m3Value(code: number): number {
  if (code === 0x7f) return NaN;
  const e = (code >> 3) & 15;
  const m = code & 7;
  return e === 0 ? (m / 8) * 2 ** -6 : (1 + m / 8) * 2 ** (e - 7);
}

export function ue8m0Value(code: number): number {
  return code === 0xff ? NaN : 2 ** (code - 127);
}

/** Nearest of codes 0..last (values ascending), ties to the even code, saturating at `last`. */
function nearest(x: number, last: number, value: (c: number) => number): number {
  let best = 0;
  for (let c = 1; c <= last; c++) {
    const d = Math.abs(value(c) - x);
    const b = Math.abs(value(best) - x);
    if (d < b || (d === b && c % 2 === 0)) best = c;
  }
  return best;
}

export function e2m1Encode(x: number): number {
  const mag = nearest(Math.abs(x), 7, e2m1Value);
  return x < 0 ? mag | 8 : mag;
}
export const ue4m3Encode = (x: number): number => nearest(x, 0x7e, ue4m3Value);
export function ue8m0EncodeUp(x: number): number {
  for (let c = 0; c < 0xff; c++) if (ue8m0Value(c) >= x) return c;
  return 0xfe;
}

export type Fp4Kind = 'nvfp4' | 'mxfp4';
export const groupOf = (k: Fp4Kind): number => (k === 'nvfp4' ? 16 : 32);
export const scaleValue = (k: Fp4Kind, b: number): number => (k === 'nvfp4' ? ue4m3Value(b) : ue8m0Value(b));

/** docs/numerics.md activation quantization, steps 2–4 (FP4, per-tensor activation scale 1). */
export function quantizeRow(v: Float64Array, kind: Fp4Kind): Float64Array {
  const G = groupOf(kind);
  const out = new Float64Array(v.length);
  for (let g0 = 0; g0 < v.length; g0 += G) {
    let amax = 0;
    for (let i = g0; i < g0 + G; i++) amax = Math.max(amax, Math.abs(v[i]));
    const q = Math.fround(amax / 6); // fp32 division (correctly rounded: both operands are fp32)
    const s = scaleValue(kind, kind === 'nvfp4' ? ue4m3Encode(q) : ue8m0EncodeUp(q));
    // codes by one correctly rounded reciprocal per group (step 4): e2m1(RN(v × RN(1/s)))
    const rs = Math.fround(1 / s);
    for (let i = g0; i < g0 + G; i++) out[i] = s === 0 ? 0 : e2m1Value(e2m1Encode(Math.fround(v[i] * rs))) * s;
  }
  return out;
}

export interface Fp4Layer {
  kind: Fp4Kind;
  dtype: Dtype16;
  M: number;
  N: number;
  K: number;
  rank: number;
  x: Uint16Array;
  codes: Uint8Array; // [N,K]
  scales: Uint8Array; // [N,K/G]
  wtensorScale: number;
  smooth?: Uint16Array;
  bias?: Uint16Array;
  down?: Uint16Array; // [rank,K]
  up?: Uint16Array; // [N,rank]
  loraScales?: Float32Array;
}

/**
 * The documented recipe in exact (float64) arithmetic: Y = RN16(ts·Σ deq(a)·deq(w) + bias +
 * Σ_tiles RN16(fp32(X·L1)·scale)·L2), with `terms` = Σ|…| of each output and `lo` its low-rank part, for
 * the INT4 tolerance of runtime/harness/compare.ts (ulp(y) + 2⁻¹⁴·Σ|terms| + one 16-bit step·|lo|).
 */
export function referenceY(l: Fp4Layer): { y: Float64Array; terms: Float64Array; lo: Float64Array } {
  const { M, N, K, dtype } = l;
  const G = groupOf(l.kind);
  const d16 = (b: number): number => fromBits16(b, dtype);
  const w = new Float64Array(N * K);
  for (let i = 0; i < N * K; i++) w[i] = e2m1Value(l.codes[i]) * scaleValue(l.kind, l.scales[Math.floor(i / G)]);
  const y = new Float64Array(M * N);
  const terms = new Float64Array(M * N);
  const lo = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    // smoothing by one correctly rounded reciprocal per channel (step 1): RN(x × RN(1/s))
    const v = Float64Array.from({ length: K }, (_, k) => Math.fround(Math.fround(d16(l.x[m * K + k])) * (l.smooth ? Math.fround(1 / d16(l.smooth[k])) : 1)));
    const a = quantizeRow(v, l.kind);
    const la = new Float64Array(l.rank);
    for (let r = 0; r < l.rank; r++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += d16(l.x[m * K + k]) * d16(l.down![r * K + k]);
      la[r] = fromBits16(toBits16(Math.fround(Math.fround(s) * (l.loraScales?.[r >> 4] ?? 1)), dtype), dtype);
    }
    for (let n = 0; n < N; n++) {
      let acc = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        acc += a[k] * w[n * K + k];
        abs += Math.abs(a[k] * w[n * K + k]);
      }
      let low = 0;
      let lowAbs = 0;
      for (let r = 0; r < l.rank; r++) {
        low += la[r] * d16(l.up![n * l.rank + r]);
        lowAbs += Math.abs(la[r] * d16(l.up![n * l.rank + r]));
      }
      const b = l.bias ? d16(l.bias[n]) : 0;
      y[m * N + n] = fromBits16(toBits16(acc * l.wtensorScale + b + low, dtype), dtype);
      terms[m * N + n] = abs * l.wtensorScale + Math.abs(b) + lowAbs;
      lo[m * N + n] = lowAbs;
    }
  }
  return { y, terms, lo };
}

export function ulp16(v: number, dtype: Dtype16): number {
  const mbits = dtype === 'fp16' ? 10 : 7;
  const emin = dtype === 'fp16' ? -14 : -126;
  const a = Math.abs(v);
  const e = a > 0 ? Math.max(Math.floor(Math.log2(a)), emin) : emin;
  return 2 ** (e - mbits);
}
