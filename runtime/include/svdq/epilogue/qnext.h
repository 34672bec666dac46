// qnext: quantize this layer's output for the next layer (docs/numerics.md epilogue 5) with the shared
// quantizer of the activation kernel (quant/tile.h, C-fragment order), and fuse the next layer's
// low-rank down projection (lowrank/down.h): this block's columns are a K range of the next layer, so
// it writes one lora_act slice (index = blockIdx along N) with the warps of a row combined in a fixed
// order through shared memory (deterministic, no atomics).
// Rows past M are zeroed first: their codes and scales are 0 and they add nothing to the down partial.
// Planner rule: the warp tile's N is a multiple of Fmt::kUnitK (= max(64, group)).
#pragma once
#include "../lowrank/down.h"
#include "../quant/tile.h"
#include "context.h"

namespace svdq::epilogue {

/**
 * Fmt: quant::Int4<unsigned, ScaleT, group> of the next layer. NEXT_RANK: its down rank (0: none).
 * RANK_CHUNK: 16-rank tiles accumulated at once (bounds registers; a divisor of NEXT_RANK/16).
 */
template <class Cfg, class Fmt, int NEXT_RANK, int RANK_CHUNK>
struct QNext {
  using H = typename Cfg::Half;
  static constexpr int UNIT_TILES = Fmt::kUnitK / 16;
  static constexpr int UNITS = Cfg::WTN / UNIT_TILES;
  static_assert(Cfg::WTN % UNIT_TILES == 0, "qnext: warp tile N must be a multiple of max(64, next group)");
  static_assert(NEXT_RANK % 16 == 0 && (NEXT_RANK == 0 || (NEXT_RANK / 16) % RANK_CHUNK == 0), "rank chunk");
  using Down = lowrank::DownAccumulator<H, Cfg::WTM, RANK_CHUNK>;
  /** float4 granules of one warp row's combine slot (Down::smem_bytes(WTM) / 16). */
  static constexpr int SLOT_FLOAT4 = Cfg::WTM * RANK_CHUNK * 64;
  /** Shared memory the down combine needs (0 without a down projection or with one warp along N). */
  static constexpr int SMEM_BYTES = (NEXT_RANK > 0 && Cfg::WARPS_N > 1) ? Cfg::WARPS_M * SLOT_FLOAT4 * 16 : 0;

  static __device__ __forceinline__ void apply(const Context<Cfg>& c, Tile<Cfg>& y) {
    const svdq_gemm_args_t& a = *c.args;
    // x = RN16(y) as stored (fp16 saturating), rows past M zeroed; kept as m16n8k16 A fragments too.
    uint32_t x[Cfg::WTM][Cfg::WTN][4];
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      const int m0 = (c.warp_mt0 + i) * 16 + c.g;
      const bool ok[2] = {m0 < c.M, m0 + 8 < c.M};
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j)
#pragma unroll
        for (int q = 0; q < 4; ++q)
          x[i][j][q] = ok[q & 1] ? out_pair<H>(y.v[i][j][2 * q], y.v[i][j][2 * q + 1]) : 0u;
    }
    quantize(c, a, x);
    if constexpr (NEXT_RANK > 0) down(c, a, x);
  }

 private:
  static __device__ __forceinline__ void quantize(const Context<Cfg>& c, const svdq_gemm_args_t& a,
                                                  const uint32_t (&x)[Cfg::WTM][Cfg::WTN][4]) {
    const uint32_t* smooth = static_cast<const uint32_t*>(a.next_smooth);  // column pairs
#pragma unroll
    for (int u = 0; u < UNITS; ++u) {
      const int nt0 = c.warp_nt0 + u * UNIT_TILES;
      if (nt0 >= c.ntiles) continue;  // warp-uniform: N is a multiple of the unit
      float sm[UNIT_TILES][4];
#pragma unroll
      for (int jj = 0; jj < UNIT_TILES; ++jj) {
        const uint32_t s0 = ldg(smooth + (nt0 + jj) * 8 + c.t), s1 = ldg(smooth + (nt0 + jj) * 8 + 4 + c.t);
        sm[jj][0] = lo_f32<H>(s0);
        sm[jj][1] = hi_f32<H>(s0);
        sm[jj][2] = lo_f32<H>(s1);
        sm[jj][3] = hi_f32<H>(s1);
      }
#pragma unroll
      for (int i = 0; i < Cfg::WTM; ++i) {
        const int mt = c.warp_mt0 + i;
        if (mt >= c.mtiles) continue;  // warp-uniform
        const int m0 = mt * 16 + c.g;
        const bool ok[2] = {m0 < c.M, m0 + 8 < c.M};
        float v[Fmt::kSlices][4][8];
#pragma unroll
        for (int s = 0; s < Fmt::kSlices; ++s)
#pragma unroll
          for (int w = 0; w < 4; ++w)
#pragma unroll
            for (int e = 0; e < 8; ++e) {
              const int jj = s * 4 + w;
              const uint32_t p = x[i][u * UNIT_TILES + jj][e >> 1];
              const float xv = (e & 1) ? hi_f32<H>(p) : lo_f32<H>(p);
              v[s][w][e] = quant::smooth_value<Fmt::kUnsigned>(xv, a.next_shift, sm[jj][(e & 1) + 2 * (e >> 2)],
                                                               ok[(e >> 1) & 1]);
            }
        const quant::UnitResult<Fmt> r = quant::quantize_unit<Fmt, quant::Order::kCFrag>(v, c.lane);
        quant::store_unit<Fmt>(r, a.next_aq, a.next_ascales, mt, nt0 * 16, c.N, c.lane);
      }
    }
  }

  static __device__ __forceinline__ void down(const Context<Cfg>& c, const svdq_gemm_args_t& a,
                                              const uint32_t (&x)[Cfg::WTM][Cfg::WTN][4]) {
    constexpr int R16 = NEXT_RANK / 16;
    const H* lora_down = static_cast<const H*>(a.next_lora_down);
    float* slice = a.next_lora_act + static_cast<size_t>(c.block_n) * c.mtiles * R16 * 256;
#pragma unroll 1
    for (int r0 = 0; r0 < R16; r0 += RANK_CHUNK) {
      Down acc;
      acc.zero();
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
        const int nt = c.warp_nt0 + j;
        if (nt >= c.ntiles) continue;  // warp-uniform
        uint32_t frag[Cfg::WTM][4];
#pragma unroll
        for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
          for (int q = 0; q < 4; ++q) frag[i][q] = x[i][j][q];
        acc.mma_ktile(frag, lora_down, nt, R16, r0, c.lane);
      }
      acc.combine_in_order(reinterpret_cast<float4*>(c.smem) + c.warp_m * SLOT_FLOAT4,
                           c.warp_n, Cfg::WARPS_N, c.lane);
      if (c.warp_n == 0) {
#pragma unroll
        for (int i = 0; i < Cfg::WTM; ++i)
          if (c.warp_mt0 + i < c.mtiles) acc.store(slice, i, c.warp_mt0 + i, R16, r0, c.lane);
      }
    }
  }
};

}  // namespace svdq::epilogue
