// store: Y[m, n] = RN16(y), fp16 saturating (docs/numerics.md epilogue 4), predicated on M and N.
// Pairs of 16-column tiles are transposed inside each quad (4 shuffles per row and tile pair) so every
// lane writes 16 contiguous bytes: one 16-byte store per lane and row instead of four 4-byte ones, and
// each warp request covers whole 32-byte sectors. A lone last tile (N % 32 = 16) is stored 4 bytes per lane.
#pragma once
#include "context.h"

namespace svdq::epilogue {

namespace store_detail {
/**
 * 4×4 word transpose inside a quad: on entry w[b] of lane t holds columns 8b+2t, 8b+2t+1 (block b of
 * 8 columns); on exit lane t holds block t as out[s] = columns 8t+2s, 8t+2s+1 (16 contiguous bytes).
 */
__device__ __forceinline__ uint4 quad_transpose(const uint32_t (&w)[4], int t) {
  // Selects instead of run-time array indices keep everything in registers.
  const bool hi = (t & 2) != 0, odd = (t & 1) != 0;
  // Round 1 (xor 2): send the partner my words of its half, receive its words of mine.
  const uint32_t mine0 = hi ? w[2] : w[0], mine1 = hi ? w[3] : w[1];
  const uint32_t from0 = __shfl_xor_sync(0xffffffffu, hi ? w[0] : w[2], 2);
  const uint32_t from1 = __shfl_xor_sync(0xffffffffu, hi ? w[1] : w[3], 2);
  // Now blocks (hi·2 + k), k = 0, 1: from source t (mine_k) and source t^2 (from_k).
  // Round 2 (xor 1): send the partner its block (k = !odd) from both sources, receive mine (k = odd).
  const uint32_t r1 = __shfl_xor_sync(0xffffffffu, odd ? mine0 : mine1, 1);  // source t^1
  const uint32_t r3 = __shfl_xor_sync(0xffffffffu, odd ? from0 : from1, 1);  // source t^3
  const uint32_t s0 = odd ? mine1 : mine0;                                    // source t
  const uint32_t s2 = odd ? from1 : from0;                                    // source t^2
  // out[s] = my block from source s; source s = t ^ d.
  uint32_t out[4];
#pragma unroll
  for (int s = 0; s < 4; ++s) {
    const int d = s ^ t;
    out[s] = d == 0 ? s0 : d == 1 ? r1 : d == 2 ? s2 : r3;
  }
  return make_uint4(out[0], out[1], out[2], out[3]);
}
}  // namespace store_detail

template <class Cfg>
struct Store {
  static __device__ __forceinline__ void apply(const Context<Cfg>& c, Tile<Cfg>& y) {
    using H = typename Cfg::Half;
    uint32_t* out = static_cast<uint32_t*>(c.args->y);  // column pairs, row stride N/2
    const size_t row_pairs = static_cast<size_t>(c.N) / 2;
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int m = (c.warp_mt0 + i) * 16 + c.g + 8 * half;
        const bool row_ok = m < c.M;
        uint32_t* row = out + static_cast<size_t>(row_ok ? m : 0) * row_pairs;
#pragma unroll
        for (int j = 0; j < Cfg::WTN; j += 2) {
          const int nt = c.warp_nt0 + j;
          if (nt >= c.ntiles) continue;  // warp-uniform
          const float* a = y.v[i][j];
          if (j + 1 < Cfg::WTN && nt + 1 < c.ntiles) {  // warp-uniform
            const float* b = y.v[i][j + 1];
            const uint32_t w[4] = {out_pair<H>(a[2 * half], a[2 * half + 1]), out_pair<H>(a[4 + 2 * half], a[5 + 2 * half]),
                                   out_pair<H>(b[2 * half], b[2 * half + 1]), out_pair<H>(b[4 + 2 * half], b[5 + 2 * half])};
            const uint4 v = store_detail::quad_transpose(w, c.t);
            if (row_ok) stg(reinterpret_cast<uint4*>(row + nt * 8 + 4 * c.t), v);
          } else if (row_ok) {
            stg(row + nt * 8 + c.t, out_pair<H>(a[2 * half], a[2 * half + 1]));
            stg(row + nt * 8 + 4 + c.t, out_pair<H>(a[4 + 2 * half], a[5 + 2 * half]));
          }
        }
      }
  }
};

}  // namespace svdq::epilogue
