// Floating-point MMA semantics (runtime/emu/isa/mma_fp.h, mma_fp4.h) against scalar definitions built from
// the PTX fragment formulas (ptx_layouts.h) and a long-double triple loop:
//   * exactly representable cases (every partial sum exact in binary32) must match bit for bit;
//   * random f16/bf16 cases must be within the documented tolerance of the exact result
//     (docs/emulator-isa.md: |d - exact| <= 2^-23 · (|C| + Σ|a·b|) for the emulator itself);
//   * FP4: every e2m1 code, ue4m3 / ue8m0 scales, non-default thread-id/byte-id selectors, garbage in
//     the scale registers of non-supplying lanes; exact against the long-double reference.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "check.h"
#include "emu/isa/exact_sum.h"
#include "emu/isa/float_formats.h"
#include "emu/isa/mma_fp.h"
#include "emu/isa/mma_fp4.h"
#include "ptx_layouts.h"

using namespace isa_test;
namespace I = svdq::isa;

// ---- m16n8k16 f16 / bf16 ---------------------------------------------------------------------
template <I::Fp16Kind K>
static void run_k16(const uint16_t A[16][16], const uint16_t B[16][8], const float C[16][8], float D[16][8]) {
  I::IntFrag16x8 fr[32] = {};
  float c[32][4], d[32][4];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 8; ++i) { Pos p = a_k16(l, i); fr[l].a[i / 2] |= uint32_t{A[p.row][p.col]} << (16 * (i % 2)); }
    for (int i = 0; i < 4; ++i) { Pos p = b_k16(l, i); fr[l].b[i / 2] |= uint32_t{B[p.row][p.col]} << (16 * (i % 2)); }
    for (int i = 0; i < 4; ++i) { Pos p = cd_16x8(l, i); c[l][i] = C[p.row][p.col]; }
  }
  I::mma_m16n8k16_f32<K>(fr, c, d);
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) { Pos p = cd_16x8(l, i); D[p.row][p.col] = d[l][i]; }
}

template <I::Fp16Kind K>
static void test_k16(const char* name, Rng& r) {
  auto enc = [](float f) { return K == I::Fp16Kind::F16 ? I::f16_from_f32_rn(f) : I::bf16_from_f32_rn(f); };
  auto dec = [](uint16_t h) { return K == I::Fp16Kind::F16 ? I::f16_to_f32(h) : I::bf16_to_f32(h); };
  static uint16_t A[16][16], B[16][8];
  static float C[16][8], D[16][8];
  std::string bad;
  uint64_t n = 0;
  for (int trial = 0; trial < 400 && bad.empty(); ++trial) {
    const bool exact = trial % 2 == 0;
    for (int m = 0; m < 16; ++m)
      for (int k = 0; k < 16; ++k)
        A[m][k] = enc(exact ? static_cast<float>(r.range(-16, 16)) * 0.25f : static_cast<float>((r.uniform() * 2 - 1) * std::ldexp(1.0, r.range(-8, 8))));
    for (int k = 0; k < 16; ++k)
      for (int c = 0; c < 8; ++c)
        B[k][c] = enc(exact ? static_cast<float>(r.range(-16, 16)) * 0.5f : static_cast<float>((r.uniform() * 2 - 1) * std::ldexp(1.0, r.range(-8, 8))));
    for (int m = 0; m < 16; ++m)
      for (int c = 0; c < 8; ++c)
        C[m][c] = exact ? static_cast<float>(r.range(-1000, 1000)) : static_cast<float>((r.uniform() * 2 - 1) * 100);
    if (trial == 1) {  // subnormal inputs are honoured (f16: 2^-24; bf16: 2^-133), and NaN / Inf propagate
      A[0][0] = K == I::Fp16Kind::F16 ? 0x0001 : 0x0001;
      B[0][0] = enc(1024.0f);
      A[1][3] = K == I::Fp16Kind::F16 ? 0x7C00 : 0x7F80;  // +Inf
      A[2][5] = K == I::Fp16Kind::F16 ? 0x7E00 : 0x7FC0;  // NaN
    }
    run_k16<K>(A, B, C, D);
    for (int m = 0; m < 16 && bad.empty(); ++m)
      for (int c = 0; c < 8; ++c, ++n) {
        long double s = C[m][c], mag = std::fabs(static_cast<long double>(C[m][c]));
        for (int k = 0; k < 16; ++k) {
          long double p = static_cast<long double>(dec(A[m][k])) * dec(B[k][c]);
          s += p;
          mag += std::fabs(p);
        }
        const float want = static_cast<float>(s);
        const float got = D[m][c];
        bool ok;
        if (std::isnan(want)) ok = std::isnan(got);
        else if (exact || std::isinf(want)) ok = got == want;
        else ok = std::fabs(static_cast<long double>(got) - s) <= std::ldexp(mag, -23);
        if (!ok)
          bad = "trial " + std::to_string(trial) + " D[" + std::to_string(m) + "][" + std::to_string(c) + "] got " +
                std::to_string(got) + " want " + std::to_string(want);
      }
  }
  report(name, bad.empty(), bad, n);
}

// ---- block-scaled FP4 ----------------------------------------------------------------------------
template <I::Fp4Scale S>
static void test_fp4(const char* name, Rng& r) {
  constexpr int kBlocks = S == I::Fp4Scale::UE4M3_4X ? 4 : 2, kBS = 64 / kBlocks;
  static uint8_t A[16][64], B[64][8], SA[16][4], SB[4][8];
  std::string bad;
  uint64_t n = 0;
  for (int trial = 0; trial < 400 && bad.empty(); ++trial) {
    const uint16_t tida = static_cast<uint16_t>(trial % 2), tidb = static_cast<uint16_t>(trial % 4);
    const uint16_t bida = S == I::Fp4Scale::UE8M0_2X ? static_cast<uint16_t>((trial / 2) % 2 * 2) : 0;
    const uint16_t bidb = S == I::Fp4Scale::UE8M0_2X ? static_cast<uint16_t>((trial / 4) % 2 * 2) : 0;
    for (int m = 0; m < 16; ++m)
      for (int k = 0; k < 64; ++k) A[m][k] = static_cast<uint8_t>(trial == 0 ? (k % 16) : r.range(0, 15));  // every code
    for (int k = 0; k < 64; ++k)
      for (int c = 0; c < 8; ++c) B[k][c] = static_cast<uint8_t>(trial == 0 ? ((k + c) % 16) : r.range(0, 15));
    // ue8m0 "extreme" trials: scale codes in [x, x+16] and [y, y+16] for random x, y in 0..238, so results
    // span 2^-256 .. 2^+260 (underflow to subnormal/zero, overflow to Inf); otherwise codes 110..144.
    const bool extreme = S == I::Fp4Scale::UE8M0_2X && trial % 7 == 0;
    const int x0 = extreme ? r.range(0, 238) : 110, y0 = extreme ? r.range(0, 238) : 110;
    const int span = extreme ? 16 : 34;
    for (int m = 0; m < 16; ++m)
      for (int b = 0; b < kBlocks; ++b)
        SA[m][b] = static_cast<uint8_t>(S == I::Fp4Scale::UE4M3_4X ? r.range(0, 0x7E) : r.range(x0, x0 + span));
    for (int b = 0; b < kBlocks; ++b)
      for (int c = 0; c < 8; ++c)
        SB[b][c] = static_cast<uint8_t>(S == I::Fp4Scale::UE4M3_4X ? r.range(0, 0x7E) : r.range(y0, y0 + span));
    // every term is a multiple of 2^unit: e2m1 products 2^-2, ue4m3 scales 2^-9 each, ue8m0 2^(code-127)
    const int unit = S == I::Fp4Scale::UE4M3_4X ? -20 : x0 + y0 - 254 - 2;
    I::Fp4Frag fr[32];
    float cin[32][4], d[32][4];
    for (int l = 0; l < 32; ++l) {
      fr[l] = I::Fp4Frag{{0, 0, 0, 0}, {0, 0}, r.u32(), r.u32(), bida, tida, bidb, tidb};  // garbage scales
      for (int i = 0; i < 32; ++i) { Pos p = a_k64(l, i); fr[l].a[i / 8] |= uint32_t{A[p.row][p.col]} << (4 * (i % 8)); }
      for (int i = 0; i < 16; ++i) { Pos p = b_k64(l, i); fr[l].b[i / 8] |= uint32_t{B[p.row][p.col]} << (4 * (i % 8)); }
      for (int i = 0; i < 4; ++i) {  // C: a multiple of 2^(unit+12) when that is a normal float, else 0
        const int ce = unit + 12;
        cin[l][i] = (ce > -126 && ce < 120) ? std::ldexp(static_cast<float>(r.range(-50, 50)), ce) : 0.0f;
      }
    }
    // the supplying lanes' scale bytes (others keep garbage)
    for (int m = 0; m < 16; ++m)
      for (int b = 0; b < kBlocks; ++b) {
        uint32_t& reg = fr[sfa_lane(m, tida)].sfa;
        const int byte = bida + b;
        reg = (reg & ~(0xFFu << (8 * byte))) | (uint32_t{SA[m][b]} << (8 * byte));
      }
    for (int c = 0; c < 8; ++c)
      for (int b = 0; b < kBlocks; ++b) {
        uint32_t& reg = fr[sfb_lane(c, tidb)].sfb;
        const int byte = bidb + b;
        reg = (reg & ~(0xFFu << (8 * byte))) | (uint32_t{SB[b][c]} << (8 * byte));
      }
    I::mma_m16n8k64_fp4<S>(fr, cin, d);
    auto sval = [](uint8_t code) -> long double {
      if (S == I::Fp4Scale::UE4M3_4X) {  // textbook ue4m3: bias 7, 3 mantissa bits
        int e = code >> 3, m = code & 7;
        return e == 0 ? std::ldexp(static_cast<long double>(m) / 8, -6) : std::ldexp(1 + static_cast<long double>(m) / 8, e - 7);
      }
      return std::ldexp(1.0L, code - 127);
    };
    static const long double kE2M1[16] = {0, 0.5L, 1, 1.5L, 2, 3, 4, 6, -0.0L, -0.5L, -1, -1.5L, -2, -3, -4, -6};
    for (int l = 0; l < 32 && bad.empty(); ++l)
      for (int i = 0; i < 4; ++i, ++n) {
        Pos p = cd_16x8(l, i);
        // D = C + Σ_k a_k·b_k·SFA·SFB exactly: a 128-bit integer count of 2^unit, rounded once to float.
        __int128 acc = static_cast<__int128>(std::ldexp(static_cast<long double>(cin[l][i]), -unit));
        for (int k = 0; k < 64; ++k) {
          long double t = kE2M1[A[p.row][k]] * kE2M1[B[k][p.col]] * sval(SA[p.row][k / kBS]) * sval(SB[k / kBS][p.col]);
          acc += static_cast<__int128>(std::ldexp(t, -unit));  // exact: t has <= 12 significant bits
        }
        const bool neg = acc < 0;
        unsigned __int128 u = neg ? -static_cast<unsigned __int128>(acc) : static_cast<unsigned __int128>(acc);
        int shift = 0;
        while ((u >> 63) != 0) {  // keep 63 bits plus a sticky bit: the one final rounding stays correct
          const bool sticky = (u & 1) != 0;
          u >>= 1;
          u |= sticky ? 1 : 0;
          ++shift;
        }
        const long double mag = std::ldexp(static_cast<long double>(static_cast<uint64_t>(u)), shift + unit);
        const float want = static_cast<float>(neg ? -mag : mag);
        if (!(d[l][i] == want))
          bad = "trial " + std::to_string(trial) + " lane " + std::to_string(l) + " reg " + std::to_string(i) + " got " +
                std::to_string(d[l][i]) + " want " + std::to_string(want) + " sa " + std::to_string(SA[p.row][0]) + "," + std::to_string(SA[p.row][1]) + " sb " + std::to_string(SB[0][p.col]) + "," + std::to_string(SB[1][p.col]) + " c " + std::to_string(cin[l][i]);
      }
  }
  report(name, bad.empty(), bad, n);
}

// The exact-sum rounding used by the FP twins: N·2^unit -> float, against long double (64-bit
// significand: exact for |N| < 2^64) converted once, over every binade incl. subnormals and overflow.
static void test_round_i128(Rng& r) {
  std::string bad;
  uint64_t n = 0;
  for (int i = 0; i < 400000 && bad.empty(); ++i, ++n) {
    const int bits = r.range(1, 63);
    int64_t v = static_cast<int64_t>((static_cast<uint64_t>(r.u32()) << 32 | r.u32()) >> (64 - bits));
    if (i % 3 == 0) v |= 1;                                // sticky low bits
    if (i % 5 == 0) v = (v >> 20) << 20 | (int64_t{1} << 19);  // exact ties at many positions
    if (r.u32() & 1) v = -v;
    const int unit = r.range(-220, 140);
    const float want = static_cast<float>(std::ldexp(static_cast<long double>(v), unit));
    const float got = I::round_i128_to_f32(v, unit);
    if (std::memcmp(&got, &want, 4) != 0)
      bad = std::to_string(v) + "*2^" + std::to_string(unit) + " got " + std::to_string(got) + " want " + std::to_string(want);
  }
  report("exact sum rounding (int128 -> binary32, RNE, subnormal, overflow)", bad.empty(), bad, n);
}

int main() {
  Rng r(0xFACADE);
  test_round_i128(r);
  test_k16<I::Fp16Kind::F16>("mma.m16n8k16.f32.f16.f16.f32", r);
  test_k16<I::Fp16Kind::BF16>("mma.m16n8k16.f32.bf16.bf16.f32", r);
  test_fp4<I::Fp4Scale::UE4M3_4X>("mma.m16n8k64.kind::mxf4nvf4.scale_vec::4X.ue4m3", r);
  test_fp4<I::Fp4Scale::UE8M0_2X>("mma.m16n8k64.kind::mxf4.scale_vec::2X.ue8m0", r);
  return finish();
}
