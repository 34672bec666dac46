// INT4 activation quantization, one value at a time: exactly the rounding sites of docs/numerics.md
// (mirrored by runtime/reference/quantize.ts). Every fp32 step is correctly rounded (__fadd_rn,
// __fmul_rn, __frcp_rn, cvt.rni); no approximate reciprocal, so codes are bit-identical on every GPU and
// in the emulator. Divisions are replaced by multiplications with correctly rounded reciprocals taken
// once per channel (smoothing) and once per group (codes), never per element. The quad-level tile quantizer (quant/tile.h) composes these; quant/fp4.h has the e2m1
// formats with the same interface.
#pragma once
#include "../arch/memory.h"
#include "../arch/warp.h"
#include "../fragment.h"
#include "../portable.h"

namespace svdq::quant {

/** How a format's scales are laid out (docs/layouts.md). */
enum class ScaleLayout {
  kInt4Pairs,  // 16-bit scales, (row g, row g+8) pairs per group: ((mt·(K/G) + grp)·8 + r%8)·2 + r/8
  kFp4Bytes,   // one byte per row and group, a row's 64/G bytes of a 64-slice contiguous
};

/**
 * The reciprocal every division of the activation quantizer is replaced by: RN(1 ÷ d), correctly
 * rounded (__frcp_rn), one per channel (smoothing) or per group (codes) — never per element.
 */
__device__ __forceinline__ float rcp_rn(float d) { return __frcp_rn(d); }

/**
 * Step 1 for one value with the channel's reciprocal smoothing factor rs = rcp_rn(f32(smooth)):
 * v = f32(x) (+ shift, u4 only) × rs. Rows outside the matrix give 0 (so padded rows get code 0 and
 * scale 0 even with a shift). The act kernel computes rs once per channel and unit.
 */
template <bool kUnsigned>
__device__ __forceinline__ float smooth_value_rcp(float x, float shift, float rsmooth, bool row_valid) {
  float v = kUnsigned ? __fadd_rn(x, shift) : x;
  v = __fmul_rn(v, rsmooth);
  return row_valid ? v : 0.0f;
}

/**
 * Step 1 from the smoothing factor itself (the GEMM's qnext epilogue): the same bits as
 * smooth_value_rcp(x, shift, rcp_rn(smooth), row_valid).
 */
template <bool kUnsigned>
__device__ __forceinline__ float smooth_value(float x, float shift, float smooth, bool row_valid) {
  return smooth_value_rcp<kUnsigned>(x, shift, rcp_rn(smooth), row_valid);
}

/** The per-group reciprocal of a stored scale for the codes: 0 for a zero (or infinite) scale → codes 0. */
__device__ __forceinline__ float code_rcp(float scale_f32) { return scale_f32 == 0.0f ? 0.0f : rcp_rn(scale_f32); }

/**
 * INT4 coding: s4 (codes −8..7, qmax 7) or u4 (0..15, qmax 15, with an additive shift), groups of
 * kGroup ∈ {32, 64, 128} channels, scales stored as the 16-bit type ScaleT (fp16 or bf16).
 */
template <bool kUnsigned_, class ScaleT_, int kGroup_>
struct Int4 {
  static constexpr bool kUnsigned = kUnsigned_;
  using ScaleT = ScaleT_;
  static constexpr int kGroup = kGroup_;
  static_assert(kGroup == 32 || kGroup == 64 || kGroup == 128, "INT4 group must be 32, 64 or 128");
  static constexpr ScaleLayout kScaleLayout = ScaleLayout::kInt4Pairs;
  static constexpr float kQmax = kUnsigned ? 15.0f : 7.0f;
  static constexpr int kCodeMin = kUnsigned ? 0 : -8;
  static constexpr int kCodeMax = kUnsigned ? 15 : 7;
  /** Channels one quantization unit covers: a whole number of 64-wide MMA slices and of groups. */
  static constexpr int kUnitK = kGroup > 64 ? kGroup : 64;
  static constexpr int kSlices = kUnitK / 64;
  static constexpr int kGroupsPerUnit = kUnitK / kGroup;

  /** Step 3: the stored scale's bits, RN16(amax ÷ qmax), and its exact fp32 value. */
  static __device__ __forceinline__ uint32_t scale_bits(float amax, float& scale_f32, float /*tensor_scale*/ = 1.0f) {
    using H = Half16<ScaleT>;
    const ScaleT s = H::from_f32(__fdiv_rn(amax, kQmax));
    scale_f32 = H::to_f32(s);
    return H::bits(s);
  }

  /**
   * Step 4: the 4-bit code (as a nibble) of v under the stored scale, given its reciprocal
   * rs = code_rcp(scale): clamp(rni(RN(v × rs))); rs 0 (scale 0 or +Inf) gives code 0 with no test:
   * v × 0 is ±0, or NaN for an infinite or NaN v, and rni(NaN) = 0.
   */
  static __device__ __forceinline__ uint32_t code_nibble(float v, float rscale) {
    int q = __float2int_rn(__fmul_rn(v, rscale));  // cvt.rni.s32.f32: nearest even, NaN → 0
    q = q < kCodeMin ? kCodeMin : (q > kCodeMax ? kCodeMax : q);
    return static_cast<uint32_t>(q) & 0xFu;
  }
};

}  // namespace svdq::quant
