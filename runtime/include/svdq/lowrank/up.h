// lowrank (up projection) epilogue: y += (Σ_s lora_act_s · scale_rt) · L2, one 16-rank tile at a time in
// ascending order (docs/numerics.md epilogue 2). lora_act is stored in the m16n8k16 A-fragment order
// (docs/layouts.md), so each A fragment is Σ over the S slices in order, × the tile's scale, RN16 pairs;
// lora_up tiles are B fragments. Per rank tile the block stages its rows' A fragments and its columns'
// lora_up tiles in shared memory once (16-byte loads; lora_up by cp.async where the main loop has it),
// so every low-rank tensor is read once per block, not once per warp; the warps then read their
// fragments from shared memory. The values, their order and the MMAs are those of a per-warp read.
#pragma once
#include "../arch/cp_async.h"
#include "../epilogue/context.h"

namespace svdq::lowrank {

template <class H>
__device__ __forceinline__ void mma16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  const uint32_t b[2] = {b0, b1};
  const float c[4] = {d[0], d[1], d[2], d[3]};
  if constexpr (Half16<H>::kIsBf16)
    arch::mma_m16n8k16_f32<arch::BF16>(d, a, b, c);
  else
    arch::mma_m16n8k16_f32<arch::F16>(d, a, b, c);
}

/** This lane's A fragment of rank tile rt for 16-row tile mt: Σ over slices, × scale, RN16 pairs. */
template <class H, int R16>
__device__ __forceinline__ void load_lora_act(uint32_t (&a)[4], const float* act, int slices, int mtiles, int mt,
                                              int rt, float scale, int lane, bool ok) {
  const size_t slice_floats = static_cast<size_t>(mtiles) * R16 * 256;
  const size_t at = ((static_cast<size_t>(mt) * R16 + rt) * 32 + lane) * 8;
  float v[8];
  const float4 zero = make_float4(0.f, 0.f, 0.f, 0.f);
  for (int s = 0; s < slices; ++s) {
    const float4* p = reinterpret_cast<const float4*>(act + (ok ? s * slice_floats + at : 0));
    const float4 lo = ldg_pred(p, ok, zero), hi = ldg_pred(p + 1, ok, zero);
    const float w[8] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
    for (int e = 0; e < 8; ++e) v[e] = s == 0 ? w[e] : __fadd_rn(v[e], w[e]);
  }
#pragma unroll
  for (int q = 0; q < 4; ++q) a[q] = pack_rn<H>(__fmul_rn(v[2 * q], scale), __fmul_rn(v[2 * q + 1], scale));
}

template <class Cfg>
struct Up {
  /**
   * Dynamic shared memory the epilogue needs at the start of the block's (then idle) ring: one rank
   * tile of A fragments for the block's BTM row tiles and of B fragments for its BTN column tiles, 512 B
   * per 16-row/column tile. codegen/plan/gemm.ts sizes the launch with (blockM/16 + blockN/16) · 512.
   */
  static constexpr int kSmemBytes = (Cfg::BTM + Cfg::BTN) * 512;
  static constexpr bool kAsync = Cfg::STAGING == gemm::Staging::Smem;  // cp.async exists (sm_80+)

  /** Waits for this thread's copies (the main loop's or ours), then for every thread of the block. */
  static __device__ __forceinline__ void block_barrier() {
    if constexpr (kAsync) arch::cp_async_wait<0>();
    __syncthreads();
  }

  static __device__ __forceinline__ void apply(const epilogue::Context<Cfg>& c, epilogue::Tile<Cfg>& y) {
    using H = typename Cfg::Half;
    constexpr int R16 = Cfg::RANK / 16;
    const auto* args = c.args;
    const uint4* up = static_cast<const uint4*>(args->lora_up);  // [N/16][R/16][32] × 8 halves
    uint4* s_act = reinterpret_cast<uint4*>(c.smem);             // [BTM][32] A fragments of rank tile rt
    uint4* s_up = s_act + Cfg::BTM * 32;                         // [BTN][32] B fragments of rank tile rt
    const int block_mt0 = c.warp_mt0 - c.warp_m * Cfg::WTM;
    const int block_nt0 = c.warp_nt0 - c.warp_n * Cfg::WTN;
#pragma unroll 1
    for (int rt = 0; rt < R16; ++rt) {
      const float scale = ldg(args->lora_scales + rt);
      block_barrier();  // the ring, or the previous rank tile's fragments, may still be read
#pragma unroll 1
      for (int x = c.tid; x < Cfg::BTM * 32; x += Cfg::THREADS) {
        const int mt = block_mt0 + x / 32;
        uint32_t a[4];
        load_lora_act<H, R16>(a, args->lora_act, args->lora_act_slices, c.mtiles, mt, rt, scale, x % 32,
                              mt < c.mtiles);
        sts(s_act + x, make_uint4(a[0], a[1], a[2], a[3]));
      }
#pragma unroll 1
      for (int x = c.tid; x < Cfg::BTN * 32; x += Cfg::THREADS) {
        const int nt = block_nt0 + x / 32;
        const bool ok = nt < c.ntiles;
        const uint4* src = up + (ok ? (static_cast<size_t>(nt) * R16 + rt) * 32 + x % 32 : 0);
        if constexpr (kAsync) {
          arch::cp_async_cg16(s_up + x, src, ok ? 16u : 0u);  // 0: zero-filled, nothing read
        } else {
          sts(s_up + x, ldg_pred(src, ok, make_uint4(0u, 0u, 0u, 0u)));
        }
      }
      if constexpr (kAsync) arch::cp_async_commit();
      block_barrier();
      uint32_t a[Cfg::WTM][4];
#pragma unroll
      for (int i = 0; i < Cfg::WTM; ++i) {
        const uint4 v = lds(s_act + (c.warp_m * Cfg::WTM + i) * 32 + c.lane);
        a[i][0] = v.x;
        a[i][1] = v.y;
        a[i][2] = v.z;
        a[i][3] = v.w;
      }
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
        const uint4 w = lds(s_up + (c.warp_n * Cfg::WTN + j) * 32 + c.lane);
#pragma unroll
        for (int i = 0; i < Cfg::WTM; ++i) {
          float lo[4] = {y.v[i][j][0], y.v[i][j][1], y.v[i][j][2], y.v[i][j][3]};
          float hi[4] = {y.v[i][j][4], y.v[i][j][5], y.v[i][j][6], y.v[i][j][7]};
          mma16<H>(lo, a[i], w.x, w.y);
          mma16<H>(hi, a[i], w.z, w.w);
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            y.v[i][j][e] = lo[e];
            y.v[i][j][4 + e] = hi[e];
          }
        }
      }
    }
  }
};

}  // namespace svdq::lowrank
