// Warp-level semantics of mma.sync.aligned.m16n8k16.row.col.f32.{f16|bf16}.{f16|bf16}.f32
// (ptx-fragments.md §3). Register layout is exact per PTX; the arithmetic is the emulator's documented
// choice because PTX leaves "accumulation order, rounding and handling of subnormal inputs" unspecified:
//
//   every product a_k·b_k is formed exactly (exact in binary64: ≤ 22 significant bits);
//   C + Σ a_k·b_k is summed EXACTLY (exact_sum.h: a 128-bit fixed-point sum, or an error-free binary64
//   expansion when the terms span more than 120 bits) and rounded once to binary32, nearest-even — so the
//   result does not depend on any order. An exact-zero result is +0 unless every addend is -0. Subnormal inputs are honoured
//   (not flushed); Inf/NaN inputs propagate through the plain IEEE sum.
// Tolerance policy for kernels: docs/emulator-isa.md "FP MMA".
#pragma once
#include <cstdint>

#include <cmath>

#include "exact_sum.h"
#include "float_formats.h"
#include "mma_int.h"  // IntFrag16x8: the same 4+2 register payload

namespace svdq::isa {

enum class Fp16Kind { F16, BF16 };

namespace detail {
// A 16-bit float as m·2^e (exact), or `special` for Inf/NaN; `v` is its value.
struct HalfParts { int32_t m; int e; bool special; double v; };
template <Fp16Kind K>
inline HalfParts half_parts(uint16_t h) {
  const bool neg = (h & 0x8000) != 0;
  if (K == Fp16Kind::F16) {
    const int ef = (h >> 10) & 0x1F, frac = h & 0x3FF;
    const double v = f16_to_f32(h);
    if (ef == 0x1F) return {0, 0, true, v};
    const int32_t m = ef == 0 ? frac : (frac | 0x400);
    return {neg ? -m : m, ef == 0 ? -24 : ef - 25, false, v};
  }
  const int ef = (h >> 7) & 0xFF, frac = h & 0x7F;
  const double v = bf16_to_f32(h);
  if (ef == 0xFF) return {0, 0, true, v};
  const int32_t m = ef == 0 ? frac : (frac | 0x80);
  return {neg ? -m : m, ef == 0 ? -133 : ef - 134, false, v};
}
}  // namespace detail

// Lane (g,t) computes D(g,2t), D(g,2t+1), D(g+8,2t), D(g+8,2t+1).
// Row r's k = 2t'+h sits in lane 4(r%8)+t', reg r/8 (k < 8) or 2 + r/8 (k >= 8), half h;
// column n's k = 2t'+h in lane 4n+t', reg 0 (k < 8) or 1 (k >= 8), half h.
template <Fp16Kind K>
inline void mma_m16n8k16_f32_lane(int lane, const IntFrag16x8* frags, const float c[4], float d[4]) {
  const int g = lane >> 2, t = lane & 3;
  detail::HalfParts arow[2][16], bcol[2][16];
  bool special = false;
  for (int tp = 0; tp < 4; ++tp) {
    for (int rh = 0; rh < 2; ++rh) {  // rh = 0: row g, 1: row g+8
      const IntFrag16x8& fa = frags[4 * g + tp];
      for (int h = 0; h < 2; ++h) {
        arow[rh][2 * tp + h] = detail::half_parts<K>(static_cast<uint16_t>(fa.a[rh] >> (16 * h)));
        arow[rh][8 + 2 * tp + h] = detail::half_parts<K>(static_cast<uint16_t>(fa.a[2 + rh] >> (16 * h)));
      }
    }
    for (int cn = 0; cn < 2; ++cn) {  // column 2t + cn
      const IntFrag16x8& fb = frags[4 * (2 * t + cn) + tp];
      for (int h = 0; h < 2; ++h) {
        bcol[cn][2 * tp + h] = detail::half_parts<K>(static_cast<uint16_t>(fb.b[0] >> (16 * h)));
        bcol[cn][8 + 2 * tp + h] = detail::half_parts<K>(static_cast<uint16_t>(fb.b[1] >> (16 * h)));
      }
    }
  }
  for (int k = 0; k < 16; ++k)
    special = special || arow[0][k].special || arow[1][k].special || bcol[0][k].special || bcol[1][k].special;
  for (int i = 0; i < 4; ++i) {
    const detail::HalfParts* ar = arow[i >> 1];
    const detail::HalfParts* bc = bcol[i & 1];
    if (special || !std::isfinite(c[i])) {  // Inf/NaN: the plain IEEE sum propagates them
      double s = c[i];
      for (int k = 0; k < 16; ++k) s += ar[k].v * bc[k].v;
      d[i] = static_cast<float>(s);
      continue;
    }
    ExactTerms<17> terms;
    terms.add_float(c[i]);
    for (int k = 0; k < 16; ++k) {
      const bool negzero = (ar[k].m == 0 || bc[k].m == 0) && (std::signbit(ar[k].v) != std::signbit(bc[k].v));
      terms.add(static_cast<int64_t>(ar[k].m) * bc[k].m, ar[k].e + bc[k].e, negzero);
    }
    d[i] = terms.round();
  }
}

template <Fp16Kind K>
inline void mma_m16n8k16_f32(const IntFrag16x8 frags[32], const float c[32][4], float d[32][4]) {
  for (int l = 0; l < 32; ++l) mma_m16n8k16_f32_lane<K>(l, frags, c[l], d[l]);
}

}  // namespace svdq::isa
