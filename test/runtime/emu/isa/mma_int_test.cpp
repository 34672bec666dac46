// Integer MMA semantics (runtime/emu/isa/mma_int.h) against an independent scalar definition written
// from the PTX element-index formulas (ptx-fragments.md §1, §2, m8n8k32 from PTX's 8832 fragment):
// whole matrices A, B, C are built, scattered into lane registers by the formulas, the instruction runs,
// D is gathered by the formulas and compared with a plain triple loop in 64-bit arithmetic.
#include <cstdint>
#include <string>

#include "check.h"
#include "emu/isa/mma_int.h"

using namespace isa_test;

struct Pos { int row, col; };

// PTX formulas, element index i of a lane (g = lane>>2, t = lane&3).
static Pos a_k64(int lane, int i) {
  int g = lane >> 2, t = lane & 3;
  int row = (i < 8 || (i >= 16 && i < 24)) ? g : g + 8;
  return {row, t * 8 + (i & 7) + (i >= 16 ? 32 : 0)};
}
static Pos b_k64(int lane, int i) { return {(lane & 3) * 8 + (i & 7) + (i >= 8 ? 32 : 0), lane >> 2}; }
static Pos a_k32(int lane, int i) {
  int g = lane >> 2, t = lane & 3;
  int row = (i < 4 || (i >= 8 && i < 12)) ? g : g + 8;
  return {row, t * 4 + (i & 3) + (i >= 8 ? 16 : 0)};
}
static Pos b_k32(int lane, int i) { return {(lane & 3) * 4 + (i & 3) + (i >= 4 ? 16 : 0), lane >> 2}; }
static Pos cd_16x8(int lane, int i) { return {(lane >> 2) + (i >= 2 ? 8 : 0), (lane & 3) * 2 + (i & 1)}; }
static Pos a_m8(int lane, int i) { return {lane >> 2, (lane & 3) * 8 + i}; }
static Pos b_m8(int lane, int i) { return {(lane & 3) * 8 + i, lane >> 2}; }
static Pos cd_m8(int lane, int i) { return {lane >> 2, (lane & 3) * 2 + i}; }

static uint32_t encode(int v, int bits) { return static_cast<uint32_t>(v) & ((1u << bits) - 1); }

struct Case { int a[16][64]; int b[64][8]; int32_t c[16][8]; };

// Fill with values in [lo, hi] for the given type; `mode` selects random / all-min / all-max / mixed.
static void fill(Case& k, int M, int N, int K, int alo, int ahi, int blo, int bhi, int mode, Rng& r) {
  for (int m = 0; m < M; ++m)
    for (int kk = 0; kk < K; ++kk) k.a[m][kk] = mode == 1 ? alo : mode == 2 ? ahi : mode == 3 ? (kk & 1 ? alo : ahi) : r.range(alo, ahi);
  for (int kk = 0; kk < K; ++kk)
    for (int n = 0; n < N; ++n) k.b[kk][n] = mode == 1 ? blo : mode == 2 ? bhi : mode == 3 ? blo : r.range(blo, bhi);
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      uint32_t u = r.u32();
      int32_t near_max = INT32_MAX - static_cast<int32_t>(u % 20000);
      int32_t near_min = INT32_MIN + static_cast<int32_t>(u % 20000);
      k.c[m][n] = mode == 0 ? static_cast<int32_t>(u) : (m + n) % 3 == 0 ? near_max : (m + n) % 3 == 1 ? near_min : static_cast<int32_t>(u % 1000);
    }
}

static int32_t expect(const Case& k, int m, int n, int K, bool sat) {
  int64_t s = k.c[m][n];
  for (int kk = 0; kk < K; ++kk) s += static_cast<int64_t>(k.a[m][kk]) * k.b[kk][n];
  if (sat) return s > INT32_MAX ? INT32_MAX : s < INT32_MIN ? INT32_MIN : static_cast<int32_t>(s);
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(s)));
}

template <bool AS, bool BS, bool SAT>
static void test_k64(Rng& r) {
  const std::string name = std::string("mma.m16n8k64") + (SAT ? ".satfinite" : "") + (AS ? ".s4" : ".u4") + (BS ? ".s4" : ".u4");
  const int alo = AS ? -8 : 0, ahi = AS ? 7 : 15, blo = BS ? -8 : 0, bhi = BS ? 7 : 15;
  std::string detail;
  uint64_t n_checked = 0;
  for (int trial = 0; trial < 60 && detail.empty(); ++trial) {
    static Case k;
    fill(k, 16, 8, 64, alo, ahi, blo, bhi, trial % 4, r);
    svdq::isa::IntFrag16x8 fr[32] = {};
    int32_t c[32][4], d[32][4];
    for (int l = 0; l < 32; ++l) {
      for (int i = 0; i < 32; ++i) { Pos p = a_k64(l, i); fr[l].a[i / 8] |= encode(k.a[p.row][p.col], 4) << (4 * (i % 8)); }
      for (int i = 0; i < 16; ++i) { Pos p = b_k64(l, i); fr[l].b[i / 8] |= encode(k.b[p.row][p.col], 4) << (4 * (i % 8)); }
      for (int i = 0; i < 4; ++i) { Pos p = cd_16x8(l, i); c[l][i] = k.c[p.row][p.col]; }
    }
    svdq::isa::mma_m16n8k64_int<AS, BS, SAT>(fr, c, d);
    for (int l = 0; l < 32 && detail.empty(); ++l)
      for (int i = 0; i < 4; ++i, ++n_checked) {
        Pos p = cd_16x8(l, i);
        int32_t want = expect(k, p.row, p.col, 64, SAT);
        if (d[l][i] != want)
          detail = "trial " + std::to_string(trial) + " lane " + std::to_string(l) + " reg " + std::to_string(i) + " got " +
                   std::to_string(d[l][i]) + " want " + std::to_string(want);
      }
  }
  report(name, detail.empty(), detail, n_checked);
}

template <bool AS, bool BS, bool SAT>
static void test_k32(Rng& r) {
  const std::string name = std::string("mma.m16n8k32") + (SAT ? ".satfinite" : "") + (AS ? ".s8" : ".u8") + (BS ? ".s8" : ".u8");
  const int alo = AS ? -128 : 0, ahi = AS ? 127 : 255, blo = BS ? -128 : 0, bhi = BS ? 127 : 255;
  std::string detail;
  uint64_t n_checked = 0;
  for (int trial = 0; trial < 60 && detail.empty(); ++trial) {
    static Case k;
    fill(k, 16, 8, 32, alo, ahi, blo, bhi, trial % 4, r);
    svdq::isa::IntFrag16x8 fr[32] = {};
    int32_t c[32][4], d[32][4];
    for (int l = 0; l < 32; ++l) {
      for (int i = 0; i < 16; ++i) { Pos p = a_k32(l, i); fr[l].a[i / 4] |= encode(k.a[p.row][p.col], 8) << (8 * (i % 4)); }
      for (int i = 0; i < 8; ++i) { Pos p = b_k32(l, i); fr[l].b[i / 4] |= encode(k.b[p.row][p.col], 8) << (8 * (i % 4)); }
      for (int i = 0; i < 4; ++i) { Pos p = cd_16x8(l, i); c[l][i] = k.c[p.row][p.col]; }
    }
    svdq::isa::mma_m16n8k32_int<AS, BS, SAT>(fr, c, d);
    for (int l = 0; l < 32 && detail.empty(); ++l)
      for (int i = 0; i < 4; ++i, ++n_checked) {
        Pos p = cd_16x8(l, i);
        int32_t want = expect(k, p.row, p.col, 32, SAT);
        if (d[l][i] != want)
          detail = "trial " + std::to_string(trial) + " lane " + std::to_string(l) + " reg " + std::to_string(i) + " got " +
                   std::to_string(d[l][i]) + " want " + std::to_string(want);
      }
  }
  report(name, detail.empty(), detail, n_checked);
}

template <bool AS, bool BS, bool SAT>
static void test_m8(Rng& r) {
  const std::string name = std::string("mma.m8n8k32") + (SAT ? ".satfinite" : "") + (AS ? ".s4" : ".u4") + (BS ? ".s4" : ".u4");
  const int alo = AS ? -8 : 0, ahi = AS ? 7 : 15, blo = BS ? -8 : 0, bhi = BS ? 7 : 15;
  std::string detail;
  uint64_t n_checked = 0;
  for (int trial = 0; trial < 60 && detail.empty(); ++trial) {
    static Case k;
    fill(k, 8, 8, 32, alo, ahi, blo, bhi, trial % 4, r);
    svdq::isa::IntFrag8x8 fr[32] = {};
    int32_t c[32][2], d[32][2];
    for (int l = 0; l < 32; ++l) {
      for (int i = 0; i < 8; ++i) { Pos p = a_m8(l, i); fr[l].a |= encode(k.a[p.row][p.col], 4) << (4 * i); }
      for (int i = 0; i < 8; ++i) { Pos p = b_m8(l, i); fr[l].b |= encode(k.b[p.row][p.col], 4) << (4 * i); }
      for (int i = 0; i < 2; ++i) { Pos p = cd_m8(l, i); c[l][i] = k.c[p.row][p.col]; }
    }
    svdq::isa::mma_m8n8k32_int<AS, BS, SAT>(fr, c, d);
    for (int l = 0; l < 32 && detail.empty(); ++l)
      for (int i = 0; i < 2; ++i, ++n_checked) {
        Pos p = cd_m8(l, i);
        int32_t want = expect(k, p.row, p.col, 32, SAT);
        if (d[l][i] != want)
          detail = "trial " + std::to_string(trial) + " lane " + std::to_string(l) + " got " + std::to_string(d[l][i]) +
                   " want " + std::to_string(want);
      }
  }
  report(name, detail.empty(), detail, n_checked);
}

template <bool SAT>
static void all_mixes(Rng& r) {
  test_k64<true, true, SAT>(r); test_k64<true, false, SAT>(r); test_k64<false, true, SAT>(r); test_k64<false, false, SAT>(r);
  test_k32<true, true, SAT>(r); test_k32<true, false, SAT>(r); test_k32<false, true, SAT>(r); test_k32<false, false, SAT>(r);
  test_m8<true, true, SAT>(r); test_m8<true, false, SAT>(r); test_m8<false, true, SAT>(r); test_m8<false, false, SAT>(r);
}

int main() {
  Rng r(0x5eed1234);
  all_mixes<false>(r);
  all_mixes<true>(r);
  return finish();
}
