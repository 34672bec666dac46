// e2m1 (FP4): 1 sign, 2 exponent, 1 mantissa bits, bias 1, no Inf/NaN (ptx-fragments.md §4.6).
// Encoding mirrors `cvt.rn.satfinite.e2m1x2.f32`: round to nearest even, clamp to ±6.
import { encodeMagnitude, decodeMagnitude, roundMagnitude } from './rounding.js';

const MBITS = 1;
const EMIN = 0;
export const E2M1_MAX = 6;

/** Value of every code 0..15 (bit 3 is the sign; 0x8 is −0). */
export const E2M1_VALUES: readonly number[] = Array.from({ length: 16 }, (_, c) => decodeE2m1(c));

export function decodeE2m1(code: number): number {
  const mag = decodeMagnitude(code & 0x7, MBITS, EMIN);
  return code & 0x8 ? -mag : mag;
}

/**
 * RNE + satfinite. Negative values that round to zero give −0 (0x8), as IEEE rounding keeps the
 * sign. NaN gives 0x7 (+MAX_NORM; UNCONFIRMED on hardware, see nunchaku-kernels.md §3.6) — the
 * quantizers never produce NaN here (a zero scale gives code 0 without dividing).
 */
export function encodeE2m1(x: number): number {
  if (Number.isNaN(x)) return 0x7;
  const sign = x < 0 || Object.is(x, -0) ? 0x8 : 0;
  const r = Math.min(roundMagnitude(Math.abs(x), MBITS, EMIN), E2M1_MAX);
  return sign | encodeMagnitude(r, MBITS, EMIN);
}
