// The low-rank down projection X·L1 as a warp building block (docs/layouts.md: lora_down, lora_act).
// A warp holds some 16-row tiles of X (or of a GEMM's output, for qnext) as m16n8k16 A fragments, one
// 16-channel k-tile at a time, and accumulates [16 × 16·kRankTiles] per row tile in fp32 with
// mma_m16n8k16. Warps that covered different channels of the same rows are then combined through
// shared memory in a fixed order (deterministic, no atomics) and one lora_act slice is stored.
// Used by the activation kernel (act/kernel.h) and the GEMM's qnext epilogue.
#pragma once
#include "../fragment.h"
#include "../portable.h"
#include "../arch/memory.h"
#include "../arch/mma_fp.h"

namespace svdq::lowrank {

template <class H>
struct MmaKind;
template <>
struct MmaKind<__half> {
  static constexpr auto kValue = svdq::arch::F16;
};
template <>
struct MmaKind<__nv_bfloat16> {
  static constexpr auto kValue = svdq::arch::BF16;
};

/**
 * fp32 accumulators of kRowTiles 16-row tiles × kRankTiles 16-rank tiles for one warp, each 16×16
 * tile as 8 floats in the m16n8k16 C order (= the lora_act lane order).
 */
template <class H, int kRowTiles, int kRankTiles>
struct DownAccumulator {
  float acc[kRowTiles][kRankTiles][2][4];  // [.][.][n8 half][C regs]

  __device__ __forceinline__ void zero() {
#pragma unroll
    for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
      for (int r = 0; r < kRankTiles; ++r)
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[i][r][e >> 2][e & 3] = 0.0f;
  }

  /**
   * acc[i] += A[i] · L1[c16-th 16 channels, ranks 16·rank_tile0 ..] for every row tile i. `a[i]` is the
   * A fragment of row tile i for those 16 channels; `lora_down` the packed [K/16][R/16][32][8] tensor
   * with R = 16·rank_tiles_total. Each lane loads its 16 bytes per (k-tile, rank tile): B for ranks
   * 0–7 (words 0, 1) and 8–15 (words 2, 3) of that tile, shared by all row tiles.
   */
  __device__ __forceinline__ void mma_ktile(const uint32_t (&a)[kRowTiles][4], const H* lora_down, int c16,
                                            int rank_tiles_total, int rank_tile0, int lane) {
#pragma unroll
    for (int r = 0; r < kRankTiles; ++r) {
      const size_t idx = ((static_cast<size_t>(c16) * rank_tiles_total + rank_tile0 + r) * 32 + lane) * 8;
      const uint4 b = ldg_nc(reinterpret_cast<const uint4*>(lora_down + idx));  // read-only weights
      const uint32_t b0[2] = {b.x, b.y};
      const uint32_t b1[2] = {b.z, b.w};
#pragma unroll
      for (int i = 0; i < kRowTiles; ++i) {
        svdq::arch::mma_m16n8k16_f32<MmaKind<H>::kValue>(acc[i][r][0], a[i], b0, acc[i][r][0]);
        svdq::arch::mma_m16n8k16_f32<MmaKind<H>::kValue>(acc[i][r][1], a[i], b1, acc[i][r][1]);
      }
    }
  }

  /**
   * As mma_ktile, with the B fragments of this k-tile already in shared memory: `tiles` points at
   * kRankTiles × 32 uint4 granules ([rank tile][lane], the packed lora_down order), staged once for
   * all the block's warps (act/kernel.h) instead of read from global memory by every warp.
   */
  __device__ __forceinline__ void mma_ktile_shared(const uint32_t (&a)[kRowTiles][4], const uint4* tiles, int lane) {
#pragma unroll
    for (int r = 0; r < kRankTiles; ++r) {
      const uint4 b = lds(tiles + r * 32 + lane);
      const uint32_t b0[2] = {b.x, b.y};
      const uint32_t b1[2] = {b.z, b.w};
#pragma unroll
      for (int i = 0; i < kRowTiles; ++i) {
        svdq::arch::mma_m16n8k16_f32<MmaKind<H>::kValue>(acc[i][r][0], a[i], b0, acc[i][r][0]);
        svdq::arch::mma_m16n8k16_f32<MmaKind<H>::kValue>(acc[i][r][1], a[i], b1, acc[i][r][1]);
      }
    }
  }

  /**
   * Shared-memory bytes combine_in_order needs for `row_tiles` row tiles of the block (one slot of
   * kRankTiles 16×16 fp32 tiles each).
   */
  static constexpr int smem_bytes(int row_tiles) { return row_tiles * kRankTiles * 32 * 8 * 4; }

  /**
   * Sums the accumulators of the `parts` warps that hold the same row tiles (part index `part`,
   * 0..parts−1) into part 0, in the fixed order ((acc_{P−1} + acc_{P−2}) + …) + acc_0. `slot` points at
   * this warp group's kRowTiles·kRankTiles·1 KiB of shared memory (float4 granules [tile][half][lane]:
   * each quarter-warp stores 128 contiguous bytes, no bank conflicts). Every thread of the block must
   * call it (it contains parts __syncthreads()); afterwards only part 0's accumulators are the sum.
   */
  __device__ __forceinline__ void combine_in_order(float4* slot, int part, int parts, int lane) {
    if (parts == 1) return;
    __syncthreads();  // the slot may still be read from an earlier combine
    for (int p = parts - 1; p >= 1; --p) {
      if (part == p) {
#pragma unroll
        for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
          for (int r = 0; r < kRankTiles; ++r)
#pragma unroll
            for (int hf = 0; hf < 2; ++hf) {
              float4* cell = slot + ((i * kRankTiles + r) * 2 + hf) * 32 + lane;
              float* mine = acc[i][r][hf];
              float4 v = make_float4(mine[0], mine[1], mine[2], mine[3]);
              if (p != parts - 1) {
                const float4 o = lds(cell);
                v = make_float4(__fadd_rn(o.x, v.x), __fadd_rn(o.y, v.y), __fadd_rn(o.z, v.z), __fadd_rn(o.w, v.w));
              }
              sts(cell, v);
            }
      }
      __syncthreads();
    }
    if (part == 0) {
#pragma unroll
      for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
        for (int r = 0; r < kRankTiles; ++r)
#pragma unroll
          for (int hf = 0; hf < 2; ++hf) {
            const float4 o = lds(slot + ((i * kRankTiles + r) * 2 + hf) * 32 + lane);
            float* mine = acc[i][r][hf];
            mine[0] = __fadd_rn(o.x, mine[0]);
            mine[1] = __fadd_rn(o.y, mine[1]);
            mine[2] = __fadd_rn(o.z, mine[2]);
            mine[3] = __fadd_rn(o.w, mine[3]);
          }
    }
  }

  /** Stores row tile i's accumulators as lora_act[mt][rank_tile0 + r] (two 16-byte stores per tile). */
  __device__ __forceinline__ void store(float* lora_act, int i, int mt, int rank_tiles_total, int rank_tile0,
                                        int lane) const {
#pragma unroll
    for (int r = 0; r < kRankTiles; ++r) {
      float* p = lora_act + ((static_cast<size_t>(mt) * rank_tiles_total + rank_tile0 + r) * 32 + lane) * 8;
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        const float* v = acc[i][r][hf];
        stg(reinterpret_cast<float4*>(p + 4 * hf), make_float4(v[0], v[1], v[2], v[3]));
      }
    }
  }
};

}  // namespace svdq::lowrank
