// Warp-level semantics of the integer mma.sync shapes (ptx-fragments.md §1, §2; m8n8k32 from PTX
// §9.7.14.5.x `#warp-level-matrix-fragment-mma-8832`). Each lane computes only its own D registers
// from the 32 lanes' A/B registers (gathered by the arch/ twin with one warp_exchange), so the cost per
// instruction is exactly the M·N·K multiply-adds, with no allocation and no indirect calls.
//
// Semantics: element products are exact; the K-sum is exact (|dot| <= 2^20, DERIVED §1/§2);
//   no .satfinite: D = (C + dot) mod 2^32; .satfinite: D = clamp(C + dot, INT32_MIN, INT32_MAX)
//   (saturation applied once to the exact sum — the per-partial-sum behaviour is UNCONFIRMED, §1).
#pragma once
#include <cstdint>

namespace svdq::isa {

// One lane's A and B registers for a 16×8 integer MMA (A: 4 regs, B: 2 regs).
struct IntFrag16x8 { uint32_t a[4]; uint32_t b[2]; };
// One lane's registers for m8n8k32 (A: 1 reg, B: 1 reg).
struct IntFrag8x8 { uint32_t a; uint32_t b; };

namespace detail {
template <bool S>
inline int32_t nib(uint32_t w, int j) {
  return S ? static_cast<int32_t>(w << (28 - 4 * j)) >> 28 : static_cast<int32_t>((w >> (4 * j)) & 0xF);
}
template <bool S>
inline int32_t byte(uint32_t w, int j) {
  return S ? static_cast<int32_t>(w << (24 - 8 * j)) >> 24 : static_cast<int32_t>((w >> (8 * j)) & 0xFF);
}
// Σ_j a.nibble[j] * b.nibble[j] over the 8 nibbles of two words (same k for the same j).
template <bool AS, bool BS>
inline int32_t dot8_nibbles(uint32_t a, uint32_t b) {
  int32_t s = 0;
  for (int j = 0; j < 8; ++j) s += nib<AS>(a, j) * nib<BS>(b, j);
  return s;
}
template <bool AS, bool BS>
inline int32_t dot4_bytes(uint32_t a, uint32_t b) {
  int32_t s = 0;
  for (int j = 0; j < 4; ++j) s += byte<AS>(a, j) * byte<BS>(b, j);
  return s;
}
template <bool SAT>
inline int32_t accumulate(int32_t c, int64_t dot) {
  int64_t v = static_cast<int64_t>(c) + dot;
  if (SAT) {
    if (v > INT32_MAX) return INT32_MAX;
    if (v < INT32_MIN) return INT32_MIN;
    return static_cast<int32_t>(v);
  }
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}
}  // namespace detail

// m16n8k64 s4/u4 (§1): lane (g,t) owns D(g,2t), D(g,2t+1), D(g+8,2t), D(g+8,2t+1).
// Row r's k-range [8t', 8t'+8) sits in lane 4(r%8)+t' (reg r/8 for k<32, reg 2+r/8 for k>=32);
// column n's k-range [8t', 8t'+8) in lane 4n+t' (reg 0 for k<32, reg 1 for k>=32).
template <bool AS, bool BS, bool SAT>
inline void mma_m16n8k64_int_lane(int lane, const IntFrag16x8* frags, const int32_t c[4], int32_t d[4]) {
  const int g = lane >> 2, t = lane & 3;
  // Decode the two rows and two columns this lane needs once (k-ordered), then four plain dots the
  // compiler vectorises.
  int16_t arow[2][64], bcol[2][64];
  for (int tp = 0; tp < 4; ++tp) {
    const IntFrag16x8& fa = frags[4 * g + tp];
    const IntFrag16x8& fb0 = frags[4 * (2 * t) + tp];
    const IntFrag16x8& fb1 = frags[4 * (2 * t + 1) + tp];
    for (int j = 0; j < 8; ++j) {
      arow[0][8 * tp + j] = static_cast<int16_t>(detail::nib<AS>(fa.a[0], j));
      arow[1][8 * tp + j] = static_cast<int16_t>(detail::nib<AS>(fa.a[1], j));
      arow[0][32 + 8 * tp + j] = static_cast<int16_t>(detail::nib<AS>(fa.a[2], j));
      arow[1][32 + 8 * tp + j] = static_cast<int16_t>(detail::nib<AS>(fa.a[3], j));
      bcol[0][8 * tp + j] = static_cast<int16_t>(detail::nib<BS>(fb0.b[0], j));
      bcol[0][32 + 8 * tp + j] = static_cast<int16_t>(detail::nib<BS>(fb0.b[1], j));
      bcol[1][8 * tp + j] = static_cast<int16_t>(detail::nib<BS>(fb1.b[0], j));
      bcol[1][32 + 8 * tp + j] = static_cast<int16_t>(detail::nib<BS>(fb1.b[1], j));
    }
  }
  for (int i = 0; i < 4; ++i) {
    const int16_t* ar = arow[i >> 1];
    const int16_t* bc = bcol[i & 1];
    int32_t s = 0;  // |s| <= 64·225: exact
    for (int k = 0; k < 64; ++k) s += static_cast<int32_t>(ar[k]) * bc[k];
    d[i] = detail::accumulate<SAT>(c[i], s);
  }
}

// m16n8k32 s8/u8 (§2): same lane/register structure with 4 bytes per register.
template <bool AS, bool BS, bool SAT>
inline void mma_m16n8k32_int_lane(int lane, const IntFrag16x8* frags, const int32_t c[4], int32_t d[4]) {
  const int g = lane >> 2, t = lane & 3;
  int64_t acc[4] = {0, 0, 0, 0};
  for (int tp = 0; tp < 4; ++tp) {
    const IntFrag16x8& fa = frags[4 * g + tp];
    const IntFrag16x8& fb0 = frags[4 * (2 * t) + tp];
    const IntFrag16x8& fb1 = frags[4 * (2 * t + 1) + tp];
    acc[0] += detail::dot4_bytes<AS, BS>(fa.a[0], fb0.b[0]) + detail::dot4_bytes<AS, BS>(fa.a[2], fb0.b[1]);
    acc[1] += detail::dot4_bytes<AS, BS>(fa.a[0], fb1.b[0]) + detail::dot4_bytes<AS, BS>(fa.a[2], fb1.b[1]);
    acc[2] += detail::dot4_bytes<AS, BS>(fa.a[1], fb0.b[0]) + detail::dot4_bytes<AS, BS>(fa.a[3], fb0.b[1]);
    acc[3] += detail::dot4_bytes<AS, BS>(fa.a[1], fb1.b[0]) + detail::dot4_bytes<AS, BS>(fa.a[3], fb1.b[1]);
  }
  for (int i = 0; i < 4; ++i) d[i] = detail::accumulate<SAT>(c[i], acc[i]);
}

// m8n8k32 s4/u4 (Turing, sm_75): A reg = A[g][8t..8t+7], B reg = B[8t..8t+7][g], D = (g, 2t), (g, 2t+1).
template <bool AS, bool BS, bool SAT>
inline void mma_m8n8k32_int_lane(int lane, const IntFrag8x8* frags, const int32_t c[2], int32_t d[2]) {
  const int g = lane >> 2, t = lane & 3;
  int64_t acc[2] = {0, 0};
  for (int tp = 0; tp < 4; ++tp) {
    const uint32_t a = frags[4 * g + tp].a;
    acc[0] += detail::dot8_nibbles<AS, BS>(a, frags[4 * (2 * t) + tp].b);
    acc[1] += detail::dot8_nibbles<AS, BS>(a, frags[4 * (2 * t + 1) + tp].b);
  }
  for (int i = 0; i < 2; ++i) d[i] = detail::accumulate<SAT>(c[i], acc[i]);
}

// Whole-warp forms (tests, tools): d[lane][reg] for all 32 lanes.
template <bool AS, bool BS, bool SAT>
inline void mma_m16n8k64_int(const IntFrag16x8 frags[32], const int32_t c[32][4], int32_t d[32][4]) {
  for (int l = 0; l < 32; ++l) mma_m16n8k64_int_lane<AS, BS, SAT>(l, frags, c[l], d[l]);
}
template <bool AS, bool BS, bool SAT>
inline void mma_m16n8k32_int(const IntFrag16x8 frags[32], const int32_t c[32][4], int32_t d[32][4]) {
  for (int l = 0; l < 32; ++l) mma_m16n8k32_int_lane<AS, BS, SAT>(l, frags, c[l], d[l]);
}
template <bool AS, bool BS, bool SAT>
inline void mma_m8n8k32_int(const IntFrag8x8 frags[32], const int32_t c[32][2], int32_t d[32][2]) {
  for (int l = 0; l < 32; ++l) mma_m8n8k32_int_lane<AS, BS, SAT>(l, frags, c[l], d[l]);
}

}  // namespace svdq::isa
