// One k64 step of a warp: the 4-bit MMAs of its MT×NT tiles and the per-group dequantization
// (docs/numerics.md "GEMM main loop"). Integer partials are exact; the scale arithmetic is explicit
// (__fmul_rn/__fmaf_rn, or __hmul2/__hfma2 for f16 accumulation) so nvcc and the emulator agree bit for bit.
#pragma once
#include "config.h"

namespace svdq::gemm {

/** The fragments one warp needs for one k64 step, in the canonical packed orders (docs/layouts.md). */
template <class Cfg>
struct StepFrags {
  uint4 a[Cfg::WTM];                // A fragment per 16-row tile (w0..w3 of §1)
  uint4 b[Cfg::WTN];                // two B fragments per 16-column tile: (x,y) cols 0-7, (z,w) cols 8-15
  uint32_t as[Cfg::WTM][Cfg::SPS];  // ascale pair: rows g (low half) and g+8 (high half)
  uint2 ws[Cfg::WTN][Cfg::SPS];     // wscales: cols 2t, 2t+1 (x), 8+2t, 9+2t (y)
};

/** Cross-group accumulator: fp32 (default) or pairs in the scale dtype (f16 accumulation). */
template <class Cfg, Accum A = Cfg::ACCUM>
struct Accumulator;
template <class Cfg>
struct Accumulator<Cfg, Accum::F32> {
  float v[Cfg::WTM][Cfg::WTN][8];
  int p[Cfg::WTM][Cfg::WTN][8];  // int32 partial of the current group
};
template <class Cfg>
struct Accumulator<Cfg, Accum::F16> {
  uint32_t v[Cfg::WTM][Cfg::WTN][4];  // ScaleHalf pairs (elements 2q, 2q+1)
  int p[Cfg::WTM][Cfg::WTN][8];
};

template <class Cfg>
__device__ __forceinline__ void clear(Accumulator<Cfg>& acc) {
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
#pragma unroll
      for (int e = 0; e < 8; ++e) acc.p[i][j][e] = 0;
      if constexpr (Cfg::ACCUM == Accum::F32) {
#pragma unroll
        for (int e = 0; e < 8; ++e) acc.v[i][j][e] = 0.0f;
      } else {
#pragma unroll
        for (int q = 0; q < 4; ++q) acc.v[i][j][q] = 0u;
      }
    }
}

/** acc += f32(p) · (ascale · wscale) for every element, then p = 0. */
template <class Cfg>
__device__ __forceinline__ void dequantize(Accumulator<Cfg>& acc, int i, int j, uint32_t as, uint2 ws) {
  using S = typename Cfg::ScaleHalf;
  if constexpr (Cfg::ACCUM == Accum::F32) {
    const float a[2] = {lo_f32<S>(as), hi_f32<S>(as)};
    const float w[4] = {lo_f32<S>(ws.x), hi_f32<S>(ws.x), lo_f32<S>(ws.y), hi_f32<S>(ws.y)};
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const float s = __fmul_rn(a[(e >> 1) & 1], w[(e & 1) + 2 * (e >> 2)]);
      acc.v[i][j][e] = __fmaf_rn(__int2float_rn(acc.p[i][j][e]), s, acc.v[i][j][e]);
      acc.p[i][j][e] = 0;
    }
  } else {
    using H = Half16<S>;
    const uint32_t rows[2] = {(as & 0xFFFFu) * 0x10001u, (as >> 16) * 0x10001u};  // (a_g, a_g), (a_g8, a_g8)
    const uint32_t cols[2] = {ws.x, ws.y};
#pragma unroll
    for (int q = 0; q < 4; ++q) {
      const auto s = __hmul2(H::pair(rows[q & 1]), H::pair(cols[q >> 1]));
      const auto p = H::pair(pack_rn<S>(__int2float_rn(acc.p[i][j][2 * q]), __int2float_rn(acc.p[i][j][2 * q + 1])));
      acc.v[i][j][q] = H::unpair(__hfma2(p, s, H::pair(acc.v[i][j][q])));
      acc.p[i][j][2 * q] = acc.p[i][j][2 * q + 1] = 0;
    }
  }
}

/** The 4-bit MMA with u4 or s4 activations (weights are always s4). */
template <bool ACT_U4>
__device__ __forceinline__ void mma4(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  const uint32_t b[2] = {b0, b1};
  const int c[4] = {d[0], d[1], d[2], d[3]};
  if constexpr (ACT_U4)
    arch::mma_m16n8k64<arch::U4, arch::S4, false>(d, a, b, c);
  else
    arch::mma_m16n8k64<arch::S4, arch::S4, false>(d, a, b, c);
}

/**
 * Computes global k64 step `kt` from `f`: for each scale group inside the step, the exact int32 partial
 * (accumulated across two steps when G = 128), then its dequantization once the group is complete.
 * G = 32: two MMAs per half, each with the other half of the A fragment zeroed (exact).
 */
template <class Cfg>
__device__ __forceinline__ void compute_step(Accumulator<Cfg>& acc, const StepFrags<Cfg>& f, int kt) {
  const bool group_done = Cfg::STEPS_PER_GROUP == 1 || (kt % Cfg::STEPS_PER_GROUP) == Cfg::STEPS_PER_GROUP - 1;
#pragma unroll
  for (int h = 0; h < Cfg::SPS; ++h) {
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      uint32_t a[4] = {f.a[i].x, f.a[i].y, f.a[i].z, f.a[i].w};
      if constexpr (Cfg::SPS == 2) {  // words 0,1 hold k 0..31; words 2,3 hold k 32..63
        if (h == 0) a[2] = a[3] = 0u;
        else a[0] = a[1] = 0u;
      }
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
        int lo[4] = {acc.p[i][j][0], acc.p[i][j][1], acc.p[i][j][2], acc.p[i][j][3]};
        int hi[4] = {acc.p[i][j][4], acc.p[i][j][5], acc.p[i][j][6], acc.p[i][j][7]};
        mma4<Cfg::ACT_U4>(lo, a, f.b[j].x, f.b[j].y);
        mma4<Cfg::ACT_U4>(hi, a, f.b[j].z, f.b[j].w);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          acc.p[i][j][e] = lo[e];
          acc.p[i][j][4 + e] = hi[e];
        }
        if (group_done) dequantize<Cfg>(acc, i, j, f.as[i][h], f.ws[j][h]);
      }
    }
  }
}

/** The accumulator as fp32 for the epilogue (f16 accumulation widens exactly). */
template <class Cfg>
__device__ __forceinline__ void to_f32(const Accumulator<Cfg>& acc, WarpTile<Cfg::WTM, Cfg::WTN>& y) {
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j)
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        if constexpr (Cfg::ACCUM == Accum::F32) {
          y.v[i][j][e] = acc.v[i][j][e];
        } else {
          const uint32_t w = acc.v[i][j][e >> 1];
          y.v[i][j][e] = (e & 1) ? hi_f32<typename Cfg::ScaleHalf>(w) : lo_f32<typename Cfg::ScaleHalf>(w);
        }
      }
}

}  // namespace svdq::gemm
