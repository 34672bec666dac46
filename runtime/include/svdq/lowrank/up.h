// lowrank (up projection) epilogue: y += (Σ_s lora_act_s · scale_rt) · L2, one 16-rank tile at a time in
// ascending order (docs/numerics.md epilogue 2). lora_act is stored in the m16n8k16 A-fragment order
// (docs/layouts.md), so each A fragment is Σ over the S slices in order, × the tile's scale, RN16 pairs;
// lora_up tiles are B fragments. Each warp owns its rows and columns, so it loads its own fragments
// (16-byte loads, L1 shares them between the warps of a block): no shared memory and no block barrier.
// The next rank tile's loads are issued before the current tile's MMAs (register double buffer), so
// the loads of the unrolled rank loop overlap the MMAs. Values, order and MMAs are unchanged.
#pragma once
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

/** One rank tile's fragments of a warp: its A tiles (lora_act, summed and scaled) and B tiles (lora_up). */
template <class Cfg>
struct UpFrags {
  uint32_t a[Cfg::WTM][4];
  uint4 b[Cfg::WTN];
};

template <class Cfg>
struct Up {
  /** No shared memory: each warp reads its own fragments. */
  static constexpr int kSmemBytes = 0;

  static __device__ __forceinline__ void load(UpFrags<Cfg>& f, const epilogue::Context<Cfg>& c, int rt) {
    using H = typename Cfg::Half;
    constexpr int R16 = Cfg::RANK / 16;
    const auto* args = c.args;
    const uint4* up = static_cast<const uint4*>(args->lora_up);  // [N/16][R/16][32] × 8 halves
    const float scale = ldg(args->lora_scales + rt);
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      const int mt = c.warp_mt0 + i;
      load_lora_act<H, R16>(f.a[i], args->lora_act, args->lora_act_slices, c.mtiles, mt, rt, scale, c.lane, mt < c.mtiles);
    }
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      const int nt = c.warp_nt0 + j;
      const bool ok = nt < c.ntiles;
      f.b[j] = ldg_pred(up + (ok ? (static_cast<size_t>(nt) * R16 + rt) * 32 + c.lane : 0), ok, make_uint4(0u, 0u, 0u, 0u));
    }
  }

  static __device__ __forceinline__ void apply(const epilogue::Context<Cfg>& c, epilogue::Tile<Cfg>& y) {
    using H = typename Cfg::Half;
    constexpr int R16 = Cfg::RANK / 16;
    UpFrags<Cfg> f[2];
    load(f[0], c, 0);
#pragma unroll
    for (int rt = 0; rt < R16; ++rt) {
      if (rt + 1 < R16) load(f[(rt + 1) & 1], c, rt + 1);  // in flight during this tile's MMAs
      const UpFrags<Cfg>& cur = f[rt & 1];
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
#pragma unroll
        for (int i = 0; i < Cfg::WTM; ++i) {
          float lo[4] = {y.v[i][j][0], y.v[i][j][1], y.v[i][j][2], y.v[i][j][3]};
          float hi[4] = {y.v[i][j][4], y.v[i][j][5], y.v[i][j][6], y.v[i][j][7]};
          mma16<H>(lo, cur.a[i], cur.b[j].x, cur.b[j].y);
          mma16<H>(hi, cur.a[i], cur.b[j].z, cur.b[j].w);
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
