// Unfused low-rank down projection: lora_act [M,R] fp32 = X [M,K] · lora_downᵀ [R,K] (16-bit inputs,
// fp32 accumulation, unscaled like the fused path's lora_act). Written once, row-major.
//
// Block = kWarps warps × kBlockRows rows. The warps split K (warp w takes 32-wide chunks w, w+kWarps, …)
// so X and lora_down are each read once per block; the kWarps partial sums are combined through shared
// memory in a fixed order (lowrank::DownAccumulator::combine_in_order: deterministic, no atomics), then
// warp 0 stores. Per 32-chunk a lane issues two 16-byte X loads per row tile (rows g, g+8) and one
// 16-byte lora_down load per 8 ranks; every warp request covers whole 32-byte sectors.
#pragma once
#include "common.h"
#include "../lowrank/down.h"

namespace svdq::unfused {

/** Requires K % 32 == 0 and RANK % 32 == 0 (host checks); rows ≥ M are read as 0 and never stored. */
template <class H, int RANK>
__global__ void lora_down_kernel(const H* __restrict__ x, const H* __restrict__ lora_down, float* __restrict__ lora_act,
                                 int M, int K) {
  static_assert(RANK > 0 && RANK % 32 == 0, "the unfused kernels take ranks that are multiples of 32");
  constexpr int kRankTiles = RANK / 16;
  using Acc = lowrank::DownAccumulator<H, kRowTiles, kRankTiles>;
  // = Acc::smem_bytes(kRowTiles) / 16 (that helper is host-only constexpr under nvcc)
  __shared__ float4 slot[kRowTiles * kRankTiles * 2 * 32];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane >> 2, t = lane & 3;
  const int m0 = static_cast<int>(blockIdx.x) * kBlockRows;
  const uint4 zero = make_uint4(0u, 0u, 0u, 0u);

  Acc acc;
  acc.zero();
  for (int c = warp; c < K / 32; c += kWarps) {
    const int k = 32 * c + 8 * t;
    uint4 xa[kRowTiles][2];  // rows g and g+8 of each row tile, elements k..k+7
#pragma unroll
    for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + 16 * i + g + 8 * h;
        const bool ok = row < M;
        xa[i][h] = ldg_pred(reinterpret_cast<const uint4*>(x + (ok ? static_cast<size_t>(row) * K + k : 0)), ok, zero);
      }
#pragma unroll
    for (int r = 0; r < kRankTiles; ++r)
#pragma unroll
      for (int hf = 0; hf < 2; ++hf) {
        // B column g of this 8-rank tile = rank 16r + 8hf + g, elements k..k+7 (read-only weights).
        const int rank = 16 * r + 8 * hf + g;
        const uint4 w = ldg_nc(reinterpret_cast<const uint4*>(lora_down + static_cast<size_t>(rank) * K + k));
#pragma unroll
        for (int i = 0; i < kRowTiles; ++i) {
          float(&d)[4] = acc.acc[i][r][hf];
          mma16<H>(d, xa[i][0].x, xa[i][1].x, xa[i][0].y, xa[i][1].y, w.x, w.y);  // elements k..k+3
          mma16<H>(d, xa[i][0].z, xa[i][1].z, xa[i][0].w, xa[i][1].w, w.z, w.w);  // elements k+4..k+7
        }
      }
  }
  acc.combine_in_order(slot, warp, kWarps, lane);
  if (warp != 0) return;
#pragma unroll
  for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + 16 * i + g + 8 * h;
      if (row >= M) continue;
#pragma unroll
      for (int r = 0; r < kRankTiles; ++r)
#pragma unroll
        for (int hf = 0; hf < 2; ++hf) {
          // C fragment: (row g, ranks 2t, 2t+1) in regs 0, 1; row g+8 in regs 2, 3.
          const float* v = acc.acc[i][r][hf];
          float2* p = reinterpret_cast<float2*>(lora_act + static_cast<size_t>(row) * RANK + 16 * r + 8 * hf + 2 * t);
          stg(p, make_float2(v[2 * h], v[2 * h + 1]));
        }
    }
}

}  // namespace svdq::unfused
