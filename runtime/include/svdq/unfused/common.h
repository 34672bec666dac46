// Shared pieces of the unfused low-rank kernels (unfused/lora_down.h, unfused/lora_up.h): what a
// non-fused engine runs when the low-rank branch is NOT folded into the 4-bit kernels (Nunchaku's
// NO_LORA_FUSION path, a plain PyTorch LoRA). They exist to measure what fusion saves (bench/fusion.ts).
//
// Operands use the plain logical layouts (docs/layouts.md "Logical tensors", PyTorch/PEFT orientation):
// x [M,K], lora_down [R,K], lora_up [N,R], y [M,N] in the 16-bit dtype, lora_act [M,R] fp32, all
// row-major. So every lane can issue 16-byte loads of 8 consecutive elements, the m16n8k16 MMAs use a
// *permuted* reduction order inside each 32-wide chunk: lane (g, t) loads elements 8t..8t+7 of a row and
// feeds 8t..8t+3 to the first MMA (as its k = 2t, 2t+1, 8+2t, 8+2t+1) and 8t+4..8t+7 to the second. A
// and B use the same permutation, so the sum is the same dot product (only the fp32 summation order
// differs, which PTX leaves unspecified anyway).
#pragma once
#include "../portable.h"
#include "../fragment.h"
#include "../arch/memory.h"
#include "../arch/mma_fp.h"

namespace svdq::unfused {

/** Warps per block of both kernels; each block covers kBlockRows rows of M. */
constexpr int kWarps = 4;
/** 16-row tiles per block (and per warp: every warp covers all rows of its block). */
constexpr int kRowTiles = 4;
constexpr int kBlockRows = 16 * kRowTiles;

template <class H>
__device__ __forceinline__ void mma16(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t b0,
                                      uint32_t b1) {
  const uint32_t a[4] = {a0, a1, a2, a3};
  const uint32_t b[2] = {b0, b1};
  if constexpr (Half16<H>::kIsBf16)
    arch::mma_m16n8k16_f32<arch::BF16>(d, a, b, d);
  else
    arch::mma_m16n8k16_f32<arch::F16>(d, a, b, d);
}

/** Two fp32 values rounded to nearest-even 16-bit, `lo` in bits 15:0. */
template <class H>
__device__ __forceinline__ uint32_t pack_rn2(float lo, float hi) {
  return Half16<H>::bits(Half16<H>::from_f32(lo)) | (Half16<H>::bits(Half16<H>::from_f32(hi)) << 16);
}

template <class H>
__device__ __forceinline__ float lo16(uint32_t w) {
  return Half16<H>::to_f32(Half16<H>::from_bits(w & 0xFFFFu));
}
template <class H>
__device__ __forceinline__ float hi16(uint32_t w) {
  return Half16<H>::to_f32(Half16<H>::from_bits(w >> 16));
}

}  // namespace svdq::unfused
