// How the activation kernel reads X, and turns row-ordered registers into
// m16n8k16 A fragments for the low-rank down projection.
//
// Lane l = 4g + t reads, per 16×64 slice at channel k, four 16-byte runs (8 channels each):
//   r[0] = row g, k+8t..   r[1] = row g+8, k+8t..   r[2] = row g, k+32+8t..   r[3] = row g+8, k+32+8t..
// which is exactly the order of the lane's aq words w0..w3 (docs/layouts.md), so the quantizer packs
// codes without any exchange, and each warp request reads whole 32-byte sectors (8 rows × 64 bytes).
#pragma once
#include "../portable.h"
#include "../arch/memory.h"
#include "../arch/warp.h"

namespace svdq::act {

/** Eight consecutive 16-bit values at p: one 16-byte load (kVec) or eight 2-byte loads; 0 when !pred. */
template <bool kVec, class T>
__device__ __forceinline__ uint4 load8(const T* p, bool pred) {
  if constexpr (kVec) {
    // X and smooth are read-only for the kernel's lifetime: the non-coherent (read-only cache) path.
    return pred ? ldg_nc(reinterpret_cast<const uint4*>(p)) : make_uint4(0u, 0u, 0u, 0u);
  } else {
    const unsigned short* q = reinterpret_cast<const unsigned short*>(p);
    uint32_t w[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const uint32_t lo = pred ? ldg_nc(q + 2 * i) : 0u;
      const uint32_t hi = pred ? ldg_nc(q + 2 * i + 1) : 0u;
      w[i] = lo | (hi << 16);
    }
    return make_uint4(w[0], w[1], w[2], w[3]);
  }
}

/** The lane's four runs of one 16×64 slice (row tile starting at row0, channels k..k+63). */
template <bool kVec, class T>
__device__ __forceinline__ void load_slice(uint4 (&r)[4], const T* x, int M, int K, int row0, int k, int lane) {
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int w = 0; w < 4; ++w) {
    const int row = row0 + g + 8 * (w & 1);
    const int col = k + 32 * (w >> 1) + 8 * t;
    const bool ok = row < M;
    r[w] = load8<kVec>(x + static_cast<size_t>(ok ? row : 0) * K + col, ok);
  }
}

__device__ __forceinline__ uint32_t word_of(const uint4& v, int i) {
  return i == 0 ? v.x : (i == 1 ? v.y : (i == 2 ? v.z : v.w));
}

/**
 * 4×4 transpose of 32-bit words inside each quad: on exit word s of lane t is word t of lane s.
 * Two butterfly stages (xor 2 swaps the off-diagonal 2×2 blocks, xor 1 transposes each block), four
 * shuffles in all.
 */
__device__ __forceinline__ uint4 quad_transpose(uint4 v, int t) {
  const bool hi2 = (t & 2) != 0, hi1 = (t & 1) != 0;
  uint32_t r0 = __shfl_xor_sync(0xffffffffu, hi2 ? v.x : v.z, 2);
  uint32_t r1 = __shfl_xor_sync(0xffffffffu, hi2 ? v.y : v.w, 2);
  if (hi2) { v.x = r0; v.y = r1; } else { v.z = r0; v.w = r1; }
  r0 = __shfl_xor_sync(0xffffffffu, hi1 ? v.x : v.y, 1);
  r1 = __shfl_xor_sync(0xffffffffu, hi1 ? v.z : v.w, 1);
  if (hi1) { v.x = r0; v.z = r1; } else { v.y = r0; v.w = r1; }
  return v;
}

/**
 * A fragments of the four 16×16 tiles of a slice from its row-ordered runs. After quad_transpose of
 * run w, word s of lane t holds the pair at column 32·(w>>1) + 8s + 2t of row half w&1, so tile j takes
 * words 2(j&1) (columns 16j+2t) and 2(j&1)+1 (16j+8+2t) of runs 2(j>>1) (row g) and 2(j>>1)+1 (row g+8).
 */
__device__ __forceinline__ void slice_to_a_frags(uint32_t (&a)[4][4], const uint4 (&r)[4], int lane) {
  uint4 tr[4];
#pragma unroll
  for (int w = 0; w < 4; ++w) tr[w] = quad_transpose(r[w], lane & 3);
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int w = 2 * (j >> 1), s = 2 * (j & 1);
    a[j][0] = word_of(tr[w], s);
    a[j][1] = word_of(tr[w + 1], s);
    a[j][2] = word_of(tr[w], s + 1);
    a[j][3] = word_of(tr[w + 1], s + 1);
  }
}

/**
 * A fragments of a slice's four *virtual* 16-channel k-tiles straight from the row-ordered runs, no
 * exchange: virtual tile vt = 2·hh + q takes words 2q (logical columns 2t, 2t+1) and 2q + 1 (2t+8, 2t+9)
 * of runs 2hh (row g) and 2hh + 1 (row g+8), i.e. channels 32hh + 8t + 4q + 0..3. The B operand must be
 * permuted to match (act/kernel.h stage_step).
 */
__device__ __forceinline__ void direct_a_frags(uint32_t (&a)[4][4], const uint4 (&r)[4]) {
#pragma unroll
  for (int vt = 0; vt < 4; ++vt) {
    const int w = 2 * (vt >> 1), q = vt & 1;
    a[vt][0] = word_of(r[w], 2 * q);
    a[vt][1] = word_of(r[w + 1], 2 * q);
    a[vt][2] = word_of(r[w], 2 * q + 1);
    a[vt][3] = word_of(r[w + 1], 2 * q + 1);
  }
}

}  // namespace svdq::act
