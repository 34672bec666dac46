// Group quantization of activations and weights for INT4 (s4, u4 + shift), NVFP4 and MXFP4,
// exactly per docs/numerics.md: every fp32 site is a correctly rounded operation (divF32 = __fdiv_rn,
// mulF32 = __fmul_rn). Activation codes multiply by the correctly rounded reciprocal of the *stored*
// scale (one per group), smoothing by the channel's reciprocal (one per channel), as the kernels do;
// weight codes divide by the stored scale. Never an approximate reciprocal.
// The kernels' quantizers must produce bit-identical codes and scales.
import { UserError } from '../../dsl/errors.js';
import type { ActivationCoding, QuantFormat } from '../../dsl/types.js';
import { decodeE2m1, encodeE2m1 } from '../../numerics/fp4.js';
import { decodeUe4m3, decodeUe8m0, encodeUe4m3, encodeUe8m0 } from '../../numerics/fp8.js';
import { fromBits16, toBits16 } from '../../numerics/float16.js';
import { addF32, divF32, mulF32, rintEven } from '../../numerics/rounding.js';

/** Codes and scales of `rows` × `K` values quantized in groups of `format.group` along K. */
export interface QuantizedGroups {
  rows: number;
  K: number;
  format: QuantFormat;
  /** True for u4 codes (0..15); s4 codes are −8..7; e2m1 codes 0..15 (bit 3 = sign). */
  unsigned: boolean;
  /** [rows·K] row-major: Int8Array for s4, Uint8Array for u4 and e2m1. */
  codes: Int8Array | Uint8Array;
  /** [rows·K/G] row-major: INT4 16-bit bit patterns (format.scaleDtype); ue4m3 or ue8m0 codes. */
  scales: Uint16Array | Uint8Array;
  /** NVFP4 per-tensor fp32 scale (1 for activations unless the producer chose one; 1 for other formats). */
  tensorScale: number;
}

/** Nunchaku's shift for u4 activations after GELU (0.171875 = 11/64, exact in every format). */
export const GELU_SHIFT = 0.171875;
/** 6·448: e2m1 max × ue4m3 max, the NVFP4 weight per-tensor scale divisor. */
export const NVFP4_TENSOR_DIVISOR = 2688;

function checkShape(what: string, values: ArrayLike<number>, rows: number, K: number, format: QuantFormat): void {
  if (!Number.isInteger(K) || K <= 0 || K % format.group !== 0) {
    throw new UserError(`${what}: K = ${K} must be a positive multiple of the ${format.kind} group ${format.group}`);
  }
  if (values.length !== rows * K) {
    throw new UserError(`${what}: ${values.length} values, expected rows·K = ${rows}·${K} = ${rows * K}`);
  }
}

function allocCodes(n: number, format: QuantFormat, unsigned: boolean): Int8Array | Uint8Array {
  return format.kind === 'int4' && !unsigned ? new Int8Array(n) : new Uint8Array(n);
}
function allocScales(n: number, format: QuantFormat): Uint16Array | Uint8Array {
  return format.kind === 'int4' ? new Uint16Array(n) : new Uint8Array(n);
}

/** The value of scale code `code` as used by the kernel (fp32, exact). NVFP4: micro × tensorScale (fp32). */
export function effectiveScale(code: number, format: QuantFormat, tensorScale = 1): number {
  if (format.kind === 'int4') return fromBits16(code, format.scaleDtype);
  if (format.kind === 'nvfp4') return mulF32(decodeUe4m3(code), tensorScale);
  return decodeUe8m0(code);
}

/**
 * Quantizes one group v[off .. off+G) (fp32 values, already shifted and smoothed) in place into
 * codes; returns the scale code. Steps 2–4 of docs/numerics.md.
 */
function quantizeGroup(
  v: Float64Array,
  off: number,
  format: QuantFormat,
  unsigned: boolean,
  tensorScale: number,
  codes: Int8Array | Uint8Array,
  byReciprocal: boolean,
): number {
  const G = format.group;
  let amax = 0;
  for (let i = 0; i < G; i++) amax = Math.max(amax, Math.abs(v[off + i]));
  let scaleCode: number;
  if (format.kind === 'int4') scaleCode = toBits16(divF32(amax, unsigned ? 15 : 7), format.scaleDtype);
  else if (format.kind === 'nvfp4') scaleCode = encodeUe4m3(divF32(divF32(amax, 6), tensorScale));
  else scaleCode = encodeUe8m0(divF32(amax, 6));
  const s = effectiveScale(scaleCode, format, tensorScale);
  // Activations: one correctly rounded reciprocal per group (0 for a zero or infinite scale), codes from
  // RN(v × rs) — the kernels' quant::code_rcp / code_nibble. Weights: RN(v ÷ s).
  const rs = s === 0 || s === Infinity ? 0 : divF32(1, s);
  for (let i = 0; i < G; i++) {
    if (byReciprocal ? rs === 0 : s === 0) {
      codes[off + i] = 0;
      continue;
    }
    const r = byReciprocal ? mulF32(v[off + i], rs) : divF32(v[off + i], s);
    if (format.kind === 'int4') {
      const q = rintEven(r); // cvt.rni.s32.f32 (NaN → 0), then the 4-bit saturation
      codes[off + i] = Number.isNaN(q) ? 0 : Math.min(Math.max(q, unsigned ? 0 : -8), unsigned ? 15 : 7);
    } else {
      codes[off + i] = encodeE2m1(r);
    }
  }
  return scaleCode;
}

/**
 * Activation quantization (activation kernel and the qnext epilogue). `x`: rows × K values exactly
 * representable in fp32 (decoded 16-bit values); `smooth`: K values (omitted = no smoothing);
 * `tensorScale`: NVFP4 activation per-tensor scale (1 by default).
 */
export function quantizeActivations(
  x: ArrayLike<number>,
  rows: number,
  K: number,
  format: QuantFormat,
  activation: ActivationCoding,
  smooth?: ArrayLike<number>,
  tensorScale = 1,
): QuantizedGroups {
  checkShape('activations', x, rows, K, format);
  if (activation.unsigned && format.kind !== 'int4') {
    throw new UserError(`activation.unsigned: true is only allowed for int4, not ${format.kind}`);
  }
  if (smooth && smooth.length !== K) throw new UserError(`smooth: ${smooth.length} values, expected K = ${K}`);
  const unsigned = activation.unsigned;
  const shift = Math.fround(unsigned ? activation.shift : 0);
  const codes = allocCodes(rows * K, format, unsigned);
  const scales = allocScales((rows * K) / format.group, format);
  const v = new Float64Array(rows * K);
  // Smoothing multiplies by the channel's correctly rounded reciprocal (quant::smooth_value_rcp).
  const rsmooth = smooth ? Float64Array.from({ length: K }, (_, k) => divF32(1, Math.fround(smooth[k]))) : undefined;
  for (let m = 0; m < rows; m++) {
    for (let k = 0; k < K; k++) {
      let t = Math.fround(x[m * K + k]);
      if (unsigned) t = addF32(t, shift);
      if (rsmooth) t = mulF32(t, rsmooth[k]);
      v[m * K + k] = t;
    }
  }
  for (let gi = 0; gi < scales.length; gi++) {
    scales[gi] = quantizeGroup(v, gi * format.group, format, unsigned, tensorScale, codes, true);
  }
  return { rows, K, format, unsigned, codes, scales, tensorScale };
}

/**
 * Weight quantization (packer and tests), rows = output channels N of weight [N,K]. Values are
 * rounded to fp32 first. NVFP4: tensorScale = amax ÷ 2688 (1 for an all-zero tensor, so no 0/0).
 */
export function quantizeWeights(w: ArrayLike<number>, rows: number, K: number, format: QuantFormat): QuantizedGroups {
  checkShape('weight', w, rows, K, format);
  const v = Float64Array.from(w, (x) => Math.fround(x));
  let tensorScale = 1;
  if (format.kind === 'nvfp4') {
    let amax = 0;
    for (const x of v) amax = Math.max(amax, Math.abs(x));
    const ts = divF32(amax, NVFP4_TENSOR_DIVISOR);
    if (ts > 0 && Number.isFinite(ts)) tensorScale = ts;
  }
  const codes = allocCodes(rows * K, format, false);
  const scales = allocScales((rows * K) / format.group, format);
  for (let gi = 0; gi < scales.length; gi++) {
    scales[gi] = quantizeGroup(v, gi * format.group, format, false, tensorScale, codes, false);
  }
  return { rows, K, format, unsigned: false, codes, scales, tensorScale };
}

/** The value of one code (without its scale). */
export function codeValue(code: number, format: QuantFormat): number {
  return format.kind === 'int4' ? code : decodeE2m1(code);
}

/**
 * The exact value a scale code stands for in the GEMM (float64): INT4 and MXFP4 as stored; NVFP4
 * micro × tensorScale unrounded (the kernel applies the tensor scales after the block-scaled MMA).
 */
export function dequantScale(code: number, format: QuantFormat, tensorScale = 1): number {
  if (format.kind === 'nvfp4') return decodeUe4m3(code) * tensorScale;
  return effectiveScale(code, format);
}

/** Exact dequantized values [rows·K] (float64; each is code × scale, exact). */
export function dequantize(q: QuantizedGroups): Float64Array {
  const { rows, K, format } = q;
  const out = new Float64Array(rows * K);
  for (let i = 0; i < rows * K; i++) {
    const s = dequantScale(q.scales[Math.floor(i / format.group)], format, q.tensorScale);
    out[i] = codeValue(q.codes[i], format) * s;
  }
  return out;
}
