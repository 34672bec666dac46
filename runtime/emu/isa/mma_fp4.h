// Warp-level semantics of the sm_120a block-scaled FP4 MMA (ptx-fragments.md §4):
//   mma.sync.aligned.kind::mxf4nvf4.block_scale.scale_vec::4X.m16n8k64.row.col.f32.e2m1.e2m1.f32.ue4m3
//   mma.sync.aligned.kind::mxf4.block_scale.scale_vec::2X.m16n8k64.row.col.f32.e2m1.e2m1.f32.ue8m0
// A/B: e2m1 nibbles in the §1 m16n8k64 layout (§4.3). Scales (§4.4 table):
//   SF_A[row m][block b] = byte (bid_a + b) of lane 4(m%8) + 2·tid_a + (m >= 8)'s scale-a register,
//   SF_B[block b][col n] = byte (bid_b + b) of lane 4n + tid_b's scale-b register,
//   block b covers k in [b·BS, (b+1)·BS), BS = 16 (4X) or 32 (2X). Other lanes' scale registers are ignored.
// Arithmetic (§4.5, the emulator's documented choice where PTX is silent):
//   each block partial Σ a_k·b_k is exact (multiples of 1/4, |p| ≤ 1152), scaled exactly by SF_A·SF_B
//   (m·2^e integers); C and the block terms are summed EXACTLY and rounded once to binary32 RNE
//   (exact_sum.h), so no summation order is implied. A NaN scale (ue4m3 0x7F, ue8m0 0xFF) makes the affected outputs NaN (hardware UNCONFIRMED).
#pragma once
#include <cstdint>

#include <cmath>

#include "exact_sum.h"
#include "float_formats.h"

namespace svdq::isa {

enum class Fp4Scale { UE4M3_4X, UE8M0_2X };

// One lane's operands of the block-scaled MMA; the selectors are carried so the twin can check that
// the warp agrees on them (PTX defines them per instruction).
struct Fp4Frag {
  uint32_t a[4];
  uint32_t b[2];
  uint32_t sfa, sfb;
  uint16_t bida, tida, bidb, tidb;
};

namespace detail {
// 2·e2m1 as a signed integer: 2·a · 2·b = 4·(a·b).
inline int32_t e2m1_x2(uint32_t w, int j) {
  static constexpr int8_t kTwice[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};
  return kTwice[(w >> (4 * j)) & 0xF];
}
// A scale as m·2^e (exact) or NaN.
struct ScaleParts { int32_t m; int e; bool nan; };
template <Fp4Scale S>
inline ScaleParts scale_parts(uint32_t reg, int byte) {
  const uint32_t code = (reg >> (8 * byte)) & 0xFF;
  if (S == Fp4Scale::UE8M0_2X) return {1, static_cast<int>(code) - 127, code == 0xFF};
  const uint32_t c = code & 0x7F;  // bit 7 must be 0 (§4.6); ignored
  const int ef = static_cast<int>(c >> 3), frac = static_cast<int>(c & 7);
  if (c == 0x7F) return {0, 0, true};
  return ef == 0 ? ScaleParts{frac, -9, false} : ScaleParts{frac | 8, ef - 10, false};
}
}  // namespace detail

// Lane `lane` computes its 4 outputs D(g,2t), D(g,2t+1), D(g+8,2t), D(g+8,2t+1).
// `sel` supplies byte-id/thread-id (the calling lane's, assumed warp-uniform).
template <Fp4Scale S>
inline void mma_m16n8k64_fp4_lane(int lane, const Fp4Frag* frags, const Fp4Frag& sel, const float c[4], float d[4]) {
  constexpr int kBlocks = S == Fp4Scale::UE4M3_4X ? 4 : 2;
  constexpr int kBlockK = 64 / kBlocks;
  const int g = lane >> 2, t = lane & 3;
  // rows g, g+8 and columns 2t, 2t+1 decoded once (k order), as 2·value integers
  int16_t arow[2][64], bcol[2][64];
  for (int tp = 0; tp < 4; ++tp) {
    const Fp4Frag& fa = frags[4 * g + tp];
    const Fp4Frag& fb0 = frags[4 * (2 * t) + tp];
    const Fp4Frag& fb1 = frags[4 * (2 * t + 1) + tp];
    for (int j = 0; j < 8; ++j) {
      arow[0][8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fa.a[0], j));
      arow[1][8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fa.a[1], j));
      arow[0][32 + 8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fa.a[2], j));
      arow[1][32 + 8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fa.a[3], j));
      bcol[0][8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fb0.b[0], j));
      bcol[0][32 + 8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fb0.b[1], j));
      bcol[1][8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fb1.b[0], j));
      bcol[1][32 + 8 * tp + j] = static_cast<int16_t>(detail::e2m1_x2(fb1.b[1], j));
    }
  }
  for (int i = 0; i < 4; ++i) {
    const int m = g + 8 * (i >> 1), n = 2 * t + (i & 1);
    const uint32_t sfa = frags[4 * (m % 8) + 2 * sel.tida + (m >= 8 ? 1 : 0)].sfa;
    const uint32_t sfb = frags[4 * n + sel.tidb].sfb;
    const int16_t* ar = arow[i >> 1];
    const int16_t* bc = bcol[i & 1];
    ExactTerms<kBlocks + 1> terms;
    bool nan = !std::isfinite(c[i]);
    if (!nan) terms.add_float(c[i]);
    for (int b = 0; b < kBlocks; ++b) {
      int32_t part4 = 0;  // 4·Σ a·b over the block: exact
      for (int k = b * kBlockK; k < (b + 1) * kBlockK; ++k) part4 += static_cast<int32_t>(ar[k]) * bc[k];
      const detail::ScaleParts sa = detail::scale_parts<S>(sfa, sel.bida + b);
      const detail::ScaleParts sb = detail::scale_parts<S>(sfb, sel.bidb + b);
      nan = nan || sa.nan || sb.nan;
      terms.add(static_cast<int64_t>(part4) * sa.m * sb.m, sa.e + sb.e - 2);
    }
    if (nan) {  // NaN scale, or Inf/NaN in C: IEEE propagation of C (NaN for a NaN scale)
      d[i] = std::isnan(c[i]) || !std::isinf(c[i]) ? NAN : c[i];
      bool scale_nan = false;
      for (int b = 0; b < kBlocks; ++b)
        scale_nan = scale_nan || detail::scale_parts<S>(sfa, sel.bida + b).nan || detail::scale_parts<S>(sfb, sel.bidb + b).nan;
      if (scale_nan) d[i] = NAN;
      continue;
    }
    d[i] = terms.round();
  }
}

template <Fp4Scale S>
inline void mma_m16n8k64_fp4(const Fp4Frag frags[32], const float c[32][4], float d[32][4]) {
  for (int l = 0; l < 32; ++l) mma_m16n8k64_fp4_lane<S>(l, frags, frags[l], c[l], d[l]);
}

}  // namespace svdq::isa
