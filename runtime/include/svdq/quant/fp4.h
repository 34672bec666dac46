// e2m1 activation formats with the Int4 interface (quant/int4.h): NVFP4 (groups of 16, ue4m3 scales,
// optional per-tensor activation scale) and MXFP4 (groups of 32, ue8m0 scales), docs/numerics.md steps 3–4.
// The conversions are written out in integer/fp32 arithmetic (exact, every arch, the emulator too):
// e2m1 and ue4m3 round to nearest even with saturation (cvt.rn.satfinite semantics), ue8m0 rounds up
// to a power of two; codes multiply by the stored scale's correctly rounded reciprocal (one per group;
// exact for MXFP4's powers of two).
#pragma once
#include "int4.h"

namespace svdq::quant {

namespace fp4_detail {
/** |a| → e2m1 magnitude code 0..7, RNE with ties to the even code, saturating at 6 (0x7). */
__device__ __forceinline__ uint32_t e2m1_magnitude(float a) {
  // Codes 0, 0.5, 1, 1.5, 2, 3, 4, 6; midpoints 0.25 0.75 1.25 1.75 2.5 3.5 5 go to the even code.
  return (a > 0.25f) + (a >= 0.75f) + (a > 1.25f) + (a >= 1.75f) + (a > 2.5f) + (a >= 3.5f) + (a > 5.0f);
}
/** e2m1 code of x (bit 3 = sign; negative values rounding to zero keep the sign, as IEEE does). */
__device__ __forceinline__ uint32_t e2m1_code(float x) {
  if (x != x) return 0x7u;  // NaN → +MAX_NORM (reference fp4.ts); not reachable from a nonzero scale
  const uint32_t sign = (__float_as_uint(x) >> 28) & 0x8u;
  return sign | e2m1_magnitude(fabsf(x));
}
/** ue4m3 (bias 7, 3 mantissa bits, max 448 = 0x7E), RNE + satfinite, for finite x ≥ 0. */
__device__ __forceinline__ uint32_t ue4m3_code(float x) {
  if (x < 0.015625f) return static_cast<uint32_t>(__float2int_rn(__fmul_rn(x, 512.0f)));  // subnormals: quantum 2^-9
  uint32_t b = __float_as_uint(x);
  b += 0x7FFFFu + ((b >> 20) & 1u);  // round the 23-bit mantissa to 3 bits, ties to even (carry may bump the exponent)
  const uint32_t code = (b >> 20) - ((127u - 7u) << 3);
  return code > 0x7Eu ? 0x7Eu : code;
}
__device__ __forceinline__ float ue4m3_value(uint32_t code) {
  const uint32_t e = code >> 3, m = code & 7u;
  return e == 0 ? __fmul_rn(static_cast<float>(m), 0.001953125f)  // m · 2^-9
                : __uint_as_float(((e + 120u) << 23) | (m << 20));
}
/** ue8m0: the smallest power of two ≥ x, floored at 2^-127 (code 0), saturating at 2^127 (254). */
__device__ __forceinline__ uint32_t ue8m0_code(float x) {
  const uint32_t b = __float_as_uint(x);
  if (b >= 0x7F800000u) return 0xFFu;   // +Inf or NaN
  if (b <= 0x00400000u) return 0u;      // x ≤ 2^-127
  const uint32_t e = b >> 23, m = b & 0x7FFFFFu;
  const uint32_t code = e == 0 ? 1u : e + (m != 0u);
  return code > 254u ? 254u : code;
}
__device__ __forceinline__ float ue8m0_value(uint32_t code) {
  return code == 0 ? __uint_as_float(0x00400000u) : __uint_as_float(code << 23);  // 2^(code-127)
}
}  // namespace fp4_detail

/** NVFP4 activations: e2m1 codes, groups of 16, ue4m3 scales under an optional per-tensor scale (input_scale). */
struct Nvfp4 {
  static constexpr bool kUnsigned = false;
  static constexpr int kGroup = 16;
  static constexpr ScaleLayout kScaleLayout = ScaleLayout::kFp4Bytes;
  static constexpr int kUnitK = 64;
  static constexpr int kSlices = 1;
  static constexpr int kGroupsPerUnit = 4;
  /**
   * Two-level scaling (ModelOpt/TensorRT): micro = ue4m3((amax ÷ 6) ÷ ts), the codes' scale
   * f32(micro) × ts (fp32). ts = 1 makes both steps exact: the one-level recipe, bit for bit.
   */
  static __device__ __forceinline__ uint32_t scale_bits(float amax, float& scale_f32, float tensor_scale = 1.0f) {
    const uint32_t c = fp4_detail::ue4m3_code(__fdiv_rn(__fdiv_rn(amax, 6.0f), tensor_scale));
    scale_f32 = __fmul_rn(fp4_detail::ue4m3_value(c), tensor_scale);
    return c;
  }
  /** The per-group code reciprocal (quant::code_rcp: any fp32 scale). */
  static __device__ __forceinline__ float code_rcp(float scale_f32) { return quant::code_rcp(scale_f32); }
  static __device__ __forceinline__ uint32_t code_nibble(float v, float rscale) {
    return rscale == 0.0f ? 0u : fp4_detail::e2m1_code(__fmul_rn(v, rscale));
  }
};

/** MXFP4 activations: e2m1 codes, groups of 32, ue8m0 scales (never 0, so no code saturates). */
struct Mxfp4 {
  static constexpr bool kUnsigned = false;
  static constexpr int kGroup = 32;
  static constexpr ScaleLayout kScaleLayout = ScaleLayout::kFp4Bytes;
  static constexpr int kUnitK = 64;
  static constexpr int kSlices = 1;
  static constexpr int kGroupsPerUnit = 2;
  static __device__ __forceinline__ uint32_t scale_bits(float amax, float& scale_f32, float /*tensor_scale*/ = 1.0f) {
    const uint32_t c = fp4_detail::ue8m0_code(__fdiv_rn(amax, 6.0f));
    scale_f32 = fp4_detail::ue8m0_value(c);
    return c;
  }
  /** The per-group code reciprocal (quant::code_rcp: any fp32 scale). */
  static __device__ __forceinline__ float code_rcp(float scale_f32) { return quant::code_rcp(scale_f32); }
  static __device__ __forceinline__ uint32_t code_nibble(float v, float rscale) {
    return rscale == 0.0f ? 0u : fp4_detail::e2m1_code(__fmul_rn(v, rscale));
  }
};

}  // namespace svdq::quant
