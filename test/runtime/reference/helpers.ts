// Shared builders for the reference tests.
import type { ActivationCoding, Dtype16, EpilogueOp, KernelSpec, QuantFormat } from '../../../dsl/types.js';
import { fromBits16 } from '../../../numerics/float16.js';

export const S4: ActivationCoding = { unsigned: false, shift: 0 };
export const U4: ActivationCoding = { unsigned: true, shift: 0.171875 };
export const FORMATS: Record<string, QuantFormat> = {
  int4fp16: { kind: 'int4', group: 64, scaleDtype: 'fp16' },
  int4bf16: { kind: 'int4', group: 64, scaleDtype: 'bf16' },
  int4g128: { kind: 'int4', group: 128, scaleDtype: 'fp16' },
  int4g32: { kind: 'int4', group: 32, scaleDtype: 'bf16' },
  nvfp4: { kind: 'nvfp4', group: 16, scaleDtype: 'ue4m3' },
  mxfp4: { kind: 'mxfp4', group: 32, scaleDtype: 'ue8m0' },
};

export function spec(format: QuantFormat, dtype: Dtype16, rank: number, epilogue: EpilogueOp[], activation = S4): KernelSpec {
  return { format, activation, dtype, lowRank: { rank }, epilogue };
}

export function relFrobenius(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function decodeAll(bits: Uint16Array, dtype: Dtype16): Float64Array {
  return Float64Array.from(bits, (b) => fromBits16(b, dtype));
}
