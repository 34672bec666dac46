// fp16 and bf16: round-to-nearest-even conversions (`cvt.rn.f16.f32`, `cvt.rn.bf16.f32`) to bit
// patterns and back, and the fp16 saturating store of the epilogue. A double argument is rounded
// once from its exact value, so an fp32 argument gives exactly what the device conversion gives.
import type { Dtype16 } from '../dsl/types.js';
import { decodeMagnitude, encodeMagnitude, roundMagnitude } from './rounding.js';

/** The canonical NaN both formats produce (CUDA's host conversions return 0x7FFF). */
export const NAN16 = 0x7fff;
export const F16_MAX = 65504;
export const F16_MAX_BITS = 0x7bff;

interface Format16 {
  mbits: number;
  emin: number;
  expBits: number;
}
const FORMATS: Record<Dtype16, Format16> = {
  fp16: { mbits: 10, emin: -14, expBits: 5 },
  bf16: { mbits: 7, emin: -126, expBits: 8 },
};

/** Round to fp32 (RNE), the rounding of every fp32 site. */
export const roundToF32 = Math.fround;

/** x rounded to the 16-bit dtype, returned as a double (±Infinity on overflow, NaN kept). */
export function rn16(x: number, dtype: Dtype16): number {
  return fromBits16(toBits16(x, dtype), dtype);
}

/** RNE bit pattern of x in the 16-bit dtype; overflow gives ±Inf, NaN gives 0x7FFF. */
export function toBits16(x: number, dtype: Dtype16): number {
  if (Number.isNaN(x)) return NAN16;
  const { mbits, emin, expBits } = FORMATS[dtype];
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const infBits = ((1 << expBits) - 1) << mbits;
  const r = roundMagnitude(Math.abs(x), mbits, emin);
  const maxFinite = (2 - 2 ** -mbits) * 2 ** (2 ** (expBits - 1) - 1);
  if (r > maxFinite) return sign | infBits;
  return sign | encodeMagnitude(r, mbits, emin);
}

/** The exact value of a 16-bit pattern. */
export function fromBits16(bits: number, dtype: Dtype16): number {
  const { mbits, emin, expBits } = FORMATS[dtype];
  const sign = bits & 0x8000 ? -1 : 1;
  const mag = bits & 0x7fff;
  const infBits = ((1 << expBits) - 1) << mbits;
  if (mag === infBits) return sign * Infinity;
  if (mag > infBits) return NaN;
  return sign * decodeMagnitude(mag, mbits, emin);
}

/**
 * The epilogue's store: RNE to the dtype; fp16 saturates to ±65504 (±Inf too), NaN stays NaN;
 * bf16 is plain RNE.
 */
export function storeBits16(x: number, dtype: Dtype16): number {
  const bits = toBits16(x, dtype);
  if (dtype === 'fp16' && (bits & 0x7fff) === 0x7c00) return (bits & 0x8000) | F16_MAX_BITS;
  return bits;
}

export function isNaN16(bits: number, dtype: Dtype16): boolean {
  return Number.isNaN(fromBits16(bits, dtype));
}
