// The 8-bit scale formats (ptx-fragments.md §4.6):
// - ue4m3 (NVFP4 micro-scales): unsigned, 4 exponent bits (bias 7), 3 mantissa bits, no Inf,
//   NaN = 0x7F, max 448 (0x7E); encoded RNE + satfinite like `cvt.rn.satfinite.e4m3x2.f32`.
// - ue8m0 (MXFP4 scales): 2^(code − 127) for 0..254, NaN = 0xFF; encoded by rounding up to a power
//   of two (`cvt.rp.satfinite.ue8m0x2.f32`), so no code of its group saturates.
import { decodeMagnitude, encodeMagnitude, exponentOf, roundMagnitude } from './rounding.js';

export const UE4M3_MAX = 448;
export const UE4M3_NAN = 0x7f;
export const UE8M0_NAN = 0xff;

export function decodeUe4m3(code: number): number {
  if ((code & 0x7f) === UE4M3_NAN) return NaN;
  if (code & 0x80) throw new RangeError(`ue4m3 code 0x${code.toString(16)} has bit 7 set (PTX requires 0)`);
  return decodeMagnitude(code, 3, -6);
}

/** RNE + satfinite; NaN → 0x7F; −0 → 0x00. A negative value is a bug upstream (scales are amax-based). */
export function encodeUe4m3(x: number): number {
  if (Number.isNaN(x)) return UE4M3_NAN;
  if (x < 0) throw new RangeError(`ue4m3 is unsigned: cannot encode ${x}`);
  const r = Math.min(roundMagnitude(x, 3, -6), UE4M3_MAX);
  return encodeMagnitude(r, 3, -6);
}

export function decodeUe8m0(code: number): number {
  if (code === UE8M0_NAN) return NaN;
  return 2 ** (code - 127);
}

/**
 * Smallest power of two ≥ x, floored at 2^−127 (code 0) and saturated at 2^127 (code 254);
 * NaN and +Inf → 0xFF. A negative value is a bug upstream.
 */
export function encodeUe8m0(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return UE8M0_NAN;
  if (x < 0) throw new RangeError(`ue8m0 is unsigned: cannot encode ${x}`);
  if (x <= 2 ** -127) return 0;
  let e = exponentOf(x);
  if (2 ** e < x) e++;
  return Math.min(e, 127) + 127;
}
