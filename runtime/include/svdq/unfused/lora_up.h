// Unfused low-rank up projection, read-modify-write of the layer output:
//   y [M,N] (16-bit) = RN16( y + (RN16(lora_act · scale_rt)) · lora_upᵀ )
// lora_act [M,R] fp32, lora_scales [R/16] fp32 (one per 16 ranks), lora_up [N,R] 16-bit, all row-major.
// The up projection accumulates all R ranks in fp32 (m16n8k16 MMAs), then adds to y once and rounds.
//
// Block = kWarps warps, kBlockRows rows × kBlockCols columns. Warp w first turns row tile w's lora_act
// into scaled 16-bit A fragments and shares them through shared memory (lora_act is read once per
// block); then every warp covers all kBlockRows rows for its 32-column groups (groups w, w+kWarps, …).
// Output columns are permuted inside a group (n8 tile j, B column c ↔ column 8·(c/2) + 2j + c%2) so a
// lane's C registers are 8 consecutive columns: y is read and written with 16-byte accesses.
#pragma once
#include "common.h"

namespace svdq::unfused {

/** 32-column groups per warp; a block covers kWarps · kGroupsPerWarp · 32 columns. */
constexpr int kGroupsPerWarp = 4;
constexpr int kBlockCols = kWarps * kGroupsPerWarp * 32;

/** Requires N % 32 == 0 and RANK % 32 == 0 (host checks); rows ≥ M are neither read nor written. */
template <class H, int RANK>
__global__ void lora_up_kernel(const float* __restrict__ lora_act, const float* __restrict__ lora_scales,
                               const H* __restrict__ lora_up, H* __restrict__ y, int M, int N) {
  static_assert(RANK > 0 && RANK % 32 == 0, "the unfused kernels take ranks that are multiples of 32");
  constexpr int kChunks = RANK / 32;
  __shared__ uint4 afrag[kRowTiles][kChunks][2][32];  // [row tile][32-rank chunk][mma][lane] A fragments
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane >> 2, t = lane & 3;
  const int m0 = static_cast<int>(blockIdx.y) * kBlockRows;

  // 1. Row tile `warp`: lane reads ranks 8t..8t+7 of rows g, g+8 (two 16-byte loads each), scales, rounds.
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int r = 32 * c + 8 * t;
    const float scale = ldg(lora_scales + r / 16);
    uint4 pk[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = m0 + 16 * warp + g + 8 * h;
      const bool ok = row < M;
      const float4* p = reinterpret_cast<const float4*>(lora_act + (ok ? static_cast<size_t>(row) * RANK + r : 0));
      const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
      const float4 lo = ldg_pred(p, ok, zero), hi = ldg_pred(p + 1, ok, zero);
      pk[h] = make_uint4(pack_rn2<H>(__fmul_rn(lo.x, scale), __fmul_rn(lo.y, scale)),
                         pack_rn2<H>(__fmul_rn(lo.z, scale), __fmul_rn(lo.w, scale)),
                         pack_rn2<H>(__fmul_rn(hi.x, scale), __fmul_rn(hi.y, scale)),
                         pack_rn2<H>(__fmul_rn(hi.z, scale), __fmul_rn(hi.w, scale)));
    }
    sts(&afrag[warp][c][0][lane], make_uint4(pk[0].x, pk[1].x, pk[0].y, pk[1].y));  // ranks r..r+3
    sts(&afrag[warp][c][1][lane], make_uint4(pk[0].z, pk[1].z, pk[0].w, pk[1].w));  // ranks r+4..r+7
  }
  __syncthreads();
  uint4 a[kRowTiles][kChunks][2];
#pragma unroll
  for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
    for (int c = 0; c < kChunks; ++c)
#pragma unroll
      for (int q = 0; q < 2; ++q) a[i][c][q] = lds(&afrag[i][c][q][lane]);

  // 2. 32-column groups: acc[i][j] = C fragment of row tile i, n8 tile j (columns 8t+2j, 8t+2j+1).
  for (int gi = 0; gi < kGroupsPerWarp; ++gi) {
    const int n0 = static_cast<int>(blockIdx.x) * kBlockCols + (gi * kWarps + warp) * 32;
    if (n0 >= N) break;
    float acc[kRowTiles][4][4];
#pragma unroll
    for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c)
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const int n = n0 + 8 * (g >> 1) + 2 * j + (g & 1);  // B column g of n8 tile j
        const uint4 w = ldg_nc(reinterpret_cast<const uint4*>(lora_up + static_cast<size_t>(n) * RANK + 32 * c + 8 * t));
#pragma unroll
        for (int i = 0; i < kRowTiles; ++i) {
          const uint4& a0 = a[i][c][0];
          const uint4& a1 = a[i][c][1];
          mma16<H>(acc[i][j], a0.x, a0.y, a0.z, a0.w, w.x, w.y);
          mma16<H>(acc[i][j], a1.x, a1.y, a1.z, a1.w, w.z, w.w);
        }
      }
    // 3. y += acc: lane owns columns n0+8t .. n0+8t+7 of rows g and g+8 (word j = columns 8t+2j, +1).
#pragma unroll
    for (int i = 0; i < kRowTiles; ++i)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + 16 * i + g + 8 * h;
        if (row >= M) continue;
        uint4* p = reinterpret_cast<uint4*>(y + static_cast<size_t>(row) * N + n0 + 8 * t);
        const uint4 old = ldg(p);
        const uint32_t in[4] = {old.x, old.y, old.z, old.w};
        uint32_t out[4];
#pragma unroll
        for (int j = 0; j < 4; ++j)
          out[j] = pack_rn2<H>(__fadd_rn(lo16<H>(in[j]), acc[i][j][2 * h]), __fadd_rn(hi16<H>(in[j]), acc[i][j][2 * h + 1]));
        stg(p, make_uint4(out[0], out[1], out[2], out[3]));
      }
  }
}

}  // namespace svdq::unfused
