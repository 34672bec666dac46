// 16-bit float types and the intrinsics kernels use. Under nvcc: CUDA's cuda_fp16.h / cuda_bf16.h.
// Under g++ (the emulator): 16-bit storage types with bit-exact twins, one rounding per operation,
// round to nearest even (ptx-fragments.md §7):
//   * conversions from float: RNE, overflow -> ±Inf, subnormals kept, NaN -> canonical 0x7FFF
//     (f16 and bf16 alike; the device NaN payload is UNCONFIRMED, see docs/emulator-isa.md);
//   * __hmul/__hadd/__hfma (and the x2 forms): the exact result rounded once (HFMA2/HMUL2 are fused),
//     NaN results canonical 0x7FFF; __hmax2 follows IEEE maximumNumber (a NaN operand yields the other);
//   * float intrinsics __fmul_rn, __fadd_rn, __fmaf_rn, __fdiv_rn: IEEE binary32 RNE. The emulator
//     build must use -ffp-contract=off so plain `a * b + c` is not fused either (README).
#pragma once
#include "vector_types.h"

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#else
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../../../emu/isa/float_formats.h"

struct __half_raw { unsigned short x; };
struct __nv_bfloat16_raw { unsigned short x; };

struct alignas(2) __half {
  unsigned short __x;
  __half() = default;
  __half(__half_raw r) : __x(r.x) {}
  __half(float f) : __x(svdq::isa::f16_from_f32_rn(f)) {}  // like CUDA: implicit, RNE
  operator float() const { return svdq::isa::f16_to_f32(__x); }
  operator __half_raw() const { return {__x}; }
};
struct alignas(2) __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(__nv_bfloat16_raw r) : __x(r.x) {}
  __nv_bfloat16(float f) : __x(svdq::isa::bf16_from_f32_rn(f)) {}
  operator float() const { return svdq::isa::bf16_to_f32(__x); }
  operator __nv_bfloat16_raw() const { return {__x}; }
};
struct alignas(4) __half2 { __half x, y; };
struct alignas(4) __nv_bfloat162 { __nv_bfloat16 x, y; };
typedef __half half;
typedef __half2 half2;
typedef __nv_bfloat16 nv_bfloat16;
typedef __nv_bfloat162 nv_bfloat162;
static_assert(sizeof(__half) == 2 && sizeof(__half2) == 4 && sizeof(__nv_bfloat162) == 4, "16-bit storage");

namespace svdq::numeric_detail {
inline __half mk_h(uint16_t b) { __half h; h.__x = b; return h; }
inline __nv_bfloat16 mk_b(uint16_t b) { __nv_bfloat16 h; h.__x = b; return h; }
// Exact a*b (+ c) rounded once: products of 16-bit floats are exact in binary64; the sum with c is
// taken in round-to-odd so the final RNE to 16 bits is a single correct rounding.
inline double fused(double a, double b, double c) { return svdq::isa::round_to_odd_sum(a * b, c); }
}  // namespace svdq::numeric_detail

// ---- bit casts and conversions ----------------------------------------------------------------
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short u) { return svdq::numeric_detail::mk_h(u); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) { return svdq::numeric_detail::mk_b(u); }

inline __half __float2half_rn(float f) { return svdq::numeric_detail::mk_h(svdq::isa::f16_from_f32_rn(f)); }
inline __half __float2half(float f) { return __float2half_rn(f); }
inline float __half2float(__half h) { return svdq::isa::f16_to_f32(h.__x); }
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return svdq::numeric_detail::mk_b(svdq::isa::bf16_from_f32_rn(f)); }
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline float __bfloat162float(__nv_bfloat16 h) { return svdq::isa::bf16_to_f32(h.__x); }

inline __half2 __floats2half2_rn(float lo, float hi) { return {__float2half_rn(lo), __float2half_rn(hi)}; }
inline __half2 __float2half2_rn(float f) { return {__float2half_rn(f), __float2half_rn(f)}; }
inline __half2 __halves2half2(__half lo, __half hi) { return {lo, hi}; }
inline __half2 __half2half2(__half h) { return {h, h}; }
inline float2 __half22float2(__half2 h) { return {__half2float(h.x), __half2float(h.y)}; }
inline float __low2float(__half2 h) { return __half2float(h.x); }
inline float __high2float(__half2 h) { return __half2float(h.y); }
inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi) { return {__float2bfloat16_rn(lo), __float2bfloat16_rn(hi)}; }
inline __nv_bfloat162 __float2bfloat162_rn(float f) { return {__float2bfloat16_rn(f), __float2bfloat16_rn(f)}; }
inline __nv_bfloat162 __halves2bfloat162(__nv_bfloat16 lo, __nv_bfloat16 hi) { return {lo, hi}; }
inline __nv_bfloat162 __bfloat162bfloat162(__nv_bfloat16 h) { return {h, h}; }
inline float2 __bfloat1622float2(__nv_bfloat162 h) { return {__bfloat162float(h.x), __bfloat162float(h.y)}; }
inline float __low2float(__nv_bfloat162 h) { return __bfloat162float(h.x); }
inline float __high2float(__nv_bfloat162 h) { return __bfloat162float(h.y); }

// ---- scalar arithmetic (one rounding each) ------------------------------------------------------
inline __half __hfma(__half a, __half b, __half c) {
  return svdq::numeric_detail::mk_h(svdq::isa::f16_from_f64_rn(
      svdq::numeric_detail::fused(__half2float(a), __half2float(b), __half2float(c))));
}
inline __half __hmul(__half a, __half b) {
  return svdq::numeric_detail::mk_h(svdq::isa::f16_from_f64_rn(double(__half2float(a)) * __half2float(b)));
}
inline __half __hadd(__half a, __half b) {
  return svdq::numeric_detail::mk_h(svdq::isa::f16_from_f64_rn(double(__half2float(a)) + __half2float(b)));
}
inline __half __hsub(__half a, __half b) {
  return svdq::numeric_detail::mk_h(svdq::isa::f16_from_f64_rn(double(__half2float(a)) - __half2float(b)));
}
inline __half __habs(__half a) { return svdq::numeric_detail::mk_h(a.__x & 0x7FFF); }
inline __half __hneg(__half a) { return svdq::numeric_detail::mk_h(a.__x ^ 0x8000); }
inline __nv_bfloat16 __hfma(__nv_bfloat16 a, __nv_bfloat16 b, __nv_bfloat16 c) {
  return svdq::numeric_detail::mk_b(svdq::isa::bf16_from_f64_rn(
      svdq::numeric_detail::fused(__bfloat162float(a), __bfloat162float(b), __bfloat162float(c))));
}
inline __nv_bfloat16 __hmul(__nv_bfloat16 a, __nv_bfloat16 b) {
  return svdq::numeric_detail::mk_b(svdq::isa::bf16_from_f64_rn(double(__bfloat162float(a)) * __bfloat162float(b)));
}
inline __nv_bfloat16 __hadd(__nv_bfloat16 a, __nv_bfloat16 b) {
  // bf16 operands span 2^-133..2^128: the exact sum may need more than 53 bits, hence round-to-odd.
  return svdq::numeric_detail::mk_b(svdq::isa::bf16_from_f64_rn(
      svdq::isa::round_to_odd_sum(__bfloat162float(a), __bfloat162float(b))));
}
inline __nv_bfloat16 __hsub(__nv_bfloat16 a, __nv_bfloat16 b) {
  return svdq::numeric_detail::mk_b(svdq::isa::bf16_from_f64_rn(
      svdq::isa::round_to_odd_sum(__bfloat162float(a), -double(__bfloat162float(b)))));
}
inline __nv_bfloat16 __habs(__nv_bfloat16 a) { return svdq::numeric_detail::mk_b(a.__x & 0x7FFF); }
inline __nv_bfloat16 __hneg(__nv_bfloat16 a) { return svdq::numeric_detail::mk_b(a.__x ^ 0x8000); }

namespace svdq::numeric_detail {
// IEEE 754-2019 maximumNumber with -0 < +0; both NaN -> canonical NaN.
template <class H>
inline H hmax(H a, H b, float fa, float fb) {
  if (std::isnan(fa) && std::isnan(fb)) { H r; r.__x = 0x7FFF; return r; }
  if (std::isnan(fa)) return b;
  if (std::isnan(fb)) return a;
  if (fa == fb) return std::signbit(fa) ? b : a;
  return fa > fb ? a : b;
}
}  // namespace svdq::numeric_detail
inline __half __hmax(__half a, __half b) { return svdq::numeric_detail::hmax(a, b, __half2float(a), __half2float(b)); }
inline __nv_bfloat16 __hmax(__nv_bfloat16 a, __nv_bfloat16 b) {
  return svdq::numeric_detail::hmax(a, b, __bfloat162float(a), __bfloat162float(b));
}

// ---- packed x2 forms: element-wise on (.x = low half, .y = high half) -----------------------------
inline __half2 __hfma2(__half2 a, __half2 b, __half2 c) { return {__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y)}; }
inline __half2 __hmul2(__half2 a, __half2 b) { return {__hmul(a.x, b.x), __hmul(a.y, b.y)}; }
inline __half2 __hadd2(__half2 a, __half2 b) { return {__hadd(a.x, b.x), __hadd(a.y, b.y)}; }
inline __half2 __hsub2(__half2 a, __half2 b) { return {__hsub(a.x, b.x), __hsub(a.y, b.y)}; }
inline __half2 __habs2(__half2 a) { return {__habs(a.x), __habs(a.y)}; }
inline __half2 __hneg2(__half2 a) { return {__hneg(a.x), __hneg(a.y)}; }
inline __half2 __hmax2(__half2 a, __half2 b) { return {__hmax(a.x, b.x), __hmax(a.y, b.y)}; }
inline __nv_bfloat162 __hfma2(__nv_bfloat162 a, __nv_bfloat162 b, __nv_bfloat162 c) {
  return {__hfma(a.x, b.x, c.x), __hfma(a.y, b.y, c.y)};
}
inline __nv_bfloat162 __hmul2(__nv_bfloat162 a, __nv_bfloat162 b) { return {__hmul(a.x, b.x), __hmul(a.y, b.y)}; }
inline __nv_bfloat162 __hadd2(__nv_bfloat162 a, __nv_bfloat162 b) { return {__hadd(a.x, b.x), __hadd(a.y, b.y)}; }
inline __nv_bfloat162 __hsub2(__nv_bfloat162 a, __nv_bfloat162 b) { return {__hsub(a.x, b.x), __hsub(a.y, b.y)}; }
inline __nv_bfloat162 __habs2(__nv_bfloat162 a) { return {__habs(a.x), __habs(a.y)}; }
inline __nv_bfloat162 __hneg2(__nv_bfloat162 a) { return {__hneg(a.x), __hneg(a.y)}; }
inline __nv_bfloat162 __hmax2(__nv_bfloat162 a, __nv_bfloat162 b) { return {__hmax(a.x, b.x), __hmax(a.y, b.y)}; }

// ---- float intrinsics (binary32, RNE; never contracted) ------------------------------------------
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }  // exact RNE (default FP env)
// cvt.rni.s32.f32: nearest even; NaN -> 0; out of range saturates (PTX cvt float->int is saturating).
inline int __float2int_rn(float f) {
  if (std::isnan(f)) return 0;
  if (f >= 2147483648.0f) return 2147483647;
  if (f <= -2147483648.0f) return static_cast<int>(-2147483647 - 1);
  return static_cast<int>(std::nearbyint(f));
}
inline float __uint_as_float(unsigned u) { return svdq::isa::f32_from_bits(u); }
inline unsigned __float_as_uint(float f) { return svdq::isa::f32_bits(f); }
inline float __int_as_float(int i) { return svdq::isa::f32_from_bits(static_cast<uint32_t>(i)); }
inline int __float_as_int(float f) { return static_cast<int>(svdq::isa::f32_bits(f)); }

#endif  // !__CUDACC__
