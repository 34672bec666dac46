// Small helpers shared by the GEMM and its epilogue: the 16-bit type's operations behind one traits
// struct (fp16 and bf16 kernels are the same source), and the register tile of one warp.
// Fragment orders follow ptx-fragments.md §1 (4-bit A/B) and §3 (16-bit A/B, f32 C/D).
#pragma once
#include "portable.h"

namespace svdq {

/** The operations kernels need on a 16-bit float type H (fp16 or bf16). */
template <class H>
struct Half16;

template <>
struct Half16<__half> {
  using T = __half;
  using T2 = __half2;
  static constexpr bool kIsBf16 = false;
  static constexpr float kMax = 65504.0f;
  static __device__ __forceinline__ float to_f32(T h) { return __half2float(h); }
  static __device__ __forceinline__ T from_f32(float f) { return __float2half_rn(f); }
  static __device__ __forceinline__ uint32_t bits(T h) { return __half_as_ushort(h); }
  static __device__ __forceinline__ T from_bits(uint32_t b) { return __ushort_as_half(static_cast<unsigned short>(b)); }
  static __device__ __forceinline__ T2 pair(uint32_t w) { return __halves2half2(from_bits(w & 0xFFFFu), from_bits(w >> 16)); }
  static __device__ __forceinline__ uint32_t unpair(T2 v) { return bits(v.x) | (bits(v.y) << 16); }
};

template <>
struct Half16<__nv_bfloat16> {
  using T = __nv_bfloat16;
  using T2 = __nv_bfloat162;
  static constexpr bool kIsBf16 = true;
  static constexpr float kMax = 3.3895313892515355e38f;
  static __device__ __forceinline__ float to_f32(T h) { return __bfloat162float(h); }
  static __device__ __forceinline__ T from_f32(float f) { return __float2bfloat16_rn(f); }
  static __device__ __forceinline__ uint32_t bits(T h) { return __bfloat16_as_ushort(h); }
  static __device__ __forceinline__ T from_bits(uint32_t b) { return __ushort_as_bfloat16(static_cast<unsigned short>(b)); }
  static __device__ __forceinline__ T2 pair(uint32_t w) { return __halves2bfloat162(from_bits(w & 0xFFFFu), from_bits(w >> 16)); }
  static __device__ __forceinline__ uint32_t unpair(T2 v) { return bits(v.x) | (bits(v.y) << 16); }
};

/** Low / high 16-bit element of a packed word, widened exactly to f32. */
template <class H>
__device__ __forceinline__ float lo_f32(uint32_t w) { return Half16<H>::to_f32(Half16<H>::from_bits(w & 0xFFFFu)); }
template <class H>
__device__ __forceinline__ float hi_f32(uint32_t w) { return Half16<H>::to_f32(Half16<H>::from_bits(w >> 16)); }
/** RN16 of two floats packed low (lo) / high (hi): the m16n8k16 register order (ptx-fragments.md §3). */
template <class H>
__device__ __forceinline__ uint32_t pack_rn(float lo, float hi) {
  return Half16<H>::bits(Half16<H>::from_f32(lo)) | (Half16<H>::bits(Half16<H>::from_f32(hi)) << 16);
}

/**
 * One warp's output tile in fp32: MT×NT tiles of 16×16, each as 8 floats in the m16n8k16 C order
 * (nunchaku-kernels.md §2.0): [0..3] = (g,2t) (g,2t+1) (g+8,2t) (g+8,2t+1); [4..7] the same at col+8.
 */
template <int MT, int NT>
struct WarpTile {
  float v[MT][NT][8];
};

/** Row (within a 16×16 tile) and column of element e of the 8-float C order for lane (g, t). */
__device__ __forceinline__ int frag_row(int g, int e) { return g + 8 * ((e >> 1) & 1); }
__device__ __forceinline__ int frag_col(int t, int e) { return 2 * t + (e & 1) + 8 * (e >> 2); }

}  // namespace svdq
