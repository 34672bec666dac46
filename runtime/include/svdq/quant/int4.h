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

/**
 * RN(a ÷ b) for a ≥ 0 (finite or +Inf) and b ∈ {7, 15} without a division (no MUFU, no slow-path CALL):
 * q0 = RN(a × RN(1/b)), the exact residual a − q0·b by one fma, and one fma correction. Checked bit for
 * bit against a ÷ b for every non-negative fp32 a and +Inf (subnormals included), for b = 7 and 15 (a
 * sample: test/kernels/act/quant-division-free.test.ts); an
 * infinite q0 is returned as is (the residual would be NaN).
 */
__device__ __forceinline__ float div_rn_qmax(float a, float b, float rb) {
  const float q0 = __fmul_rn(a, rb);
  const float q1 = __fmaf_rn(__fmaf_rn(-q0, b, a), rb, q0);
  return fabsf(q0) < INFINITY ? q1 : q0;
}

/**
 * code_rcp for a 16-bit (fp16 or bf16) scale value, with no MUFU, division or slow-path CALL: the same
 * bits as code_rcp(s) for every such s < 2^126 (every INT4 scale: RN16(amax ÷ qmax) ≤ RN16(FLT_MAX ÷ 7)
 * < 2^126), and 0 for s = 0 or +Inf. s is brought into [2^-126, 2^64] by an exact power-of-two factor,
 * seeded by the integer reciprocal estimate (≈ 12 %), refined by three Newton steps
 * y ← fma(y, fma(−s, y, 1), y) (correct rounding checked exhaustively on the domain, not proved), then scaled back
 * exactly (or overflows to +Inf exactly when RN(1/s) does). Checked bit for bit against RN(1/s) for
 * all positive bf16 and fp16 values below 2^126 (test/kernels/act/quant-division-free.test.ts, on the
 * emulator).
 */
__device__ __forceinline__ float code_rcp16(float s) {
  constexpr float kTwo64 = 18446744073709551616.0f, kTwoM64 = 5.42101086242752217e-20f;
  const float pre = s < 1.17549435e-38f ? kTwo64 : (s > kTwo64 ? kTwoM64 : 1.0f);
  const float sn = __fmul_rn(s, pre);
  float y = __uint_as_float(0x7EF311C3u - __float_as_uint(sn));
#pragma unroll
  for (int i = 0; i < 3; ++i) y = __fmaf_rn(y, __fmaf_rn(-sn, y, 1.0f), y);
  const float r = __fmul_rn(y, pre);
  return (s > 0.0f && s < INFINITY) ? r : 0.0f;
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

  /** The per-group code reciprocal of a stored scale (code_rcp's bits, see code_rcp16). */
  static __device__ __forceinline__ float code_rcp(float scale_f32) { return code_rcp16(scale_f32); }

  /** Step 3: the stored scale's bits, RN16(amax ÷ qmax), and its exact fp32 value (amax ≥ 0). */
  static __device__ __forceinline__ uint32_t scale_bits(float amax, float& scale_f32, float /*tensor_scale*/ = 1.0f) {
    using H = Half16<ScaleT>;
    // RN(amax ÷ qmax) exactly (amax ≥ 0: a maximum of absolute values), by the fma sequence above.
    const ScaleT s = H::from_f32(div_rn_qmax(amax, kQmax, 1.0f / kQmax));
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
