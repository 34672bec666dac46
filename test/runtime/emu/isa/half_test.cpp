// The g++ twins of the cuda_fp16 / cuda_bf16 arithmetic intrinsics (numeric/half.h) against an exact
// reference: operands are decoded to integers times a fixed power of two, a·b + c is formed exactly in
// 128-bit integers, and rounded once by the independent binary-search rounding of ref_round.h.
// f16 covers its whole range (every f16 is a multiple of 2^-24); bf16 samples operands with exponents
// in [-20, 20] so the 128-bit fixed point stays exact. Plus NaN / Inf / overflow / signed-zero cases.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "check.h"
#include "ref_round.h"
#include "svdq/numeric/half.h"

using namespace isa_test;

static std::string hex(uint32_t v) { char b[16]; std::snprintf(b, sizeof b, "0x%X", v); return b; }

// Exact value N·2^unit (N a 128-bit integer) rounded to a 16-bit format: RNE, overflow -> Inf.
static uint16_t round_fixed(__int128 n, int unit, const RefFormat& fmt, uint16_t inf) {
  if (n == 0) return 0;  // callers handle the sign of an exact zero
  const bool neg = n < 0;
  unsigned __int128 u = neg ? -static_cast<unsigned __int128>(n) : static_cast<unsigned __int128>(n);
  int shift = 0;
  while ((u >> 62) != 0) { const bool st = u & 1; u >>= 1; u |= st; ++shift; }
  // 62 bits + sticky -> long double exactly, then compare against the format's value list
  const long double v = std::ldexp(static_cast<long double>(static_cast<uint64_t>(u)), shift + unit);
  uint16_t mag;
  if (v >= static_cast<long double>(fmt.overflow_threshold())) mag = inf;
  else {
    // binary search on long double (values list holds doubles exactly)
    size_t lo = 0, hi = fmt.values.size() - 1;
    if (v >= fmt.values[hi]) mag = static_cast<uint16_t>(hi);
    else {
      while (hi - lo > 1) { size_t mid = (lo + hi) / 2; if (fmt.values[mid] <= v) lo = mid; else hi = mid; }
      const long double dl = v - fmt.values[lo], dh = fmt.values[hi] - v;
      mag = static_cast<uint16_t>(dl < dh ? lo : dh < dl ? hi : ((lo & 1) == 0 ? lo : hi));
    }
  }
  return static_cast<uint16_t>((neg ? 0x8000 : 0) | mag);
}

template <class H>
static void test_arith(const char* name, const RefFormat& fmt, uint16_t inf, int min_unit, int exp_lo, int exp_hi, Rng& r) {
  auto mk = [](uint16_t b) { H h; h.__x = b; return h; };
  auto val = [&](uint16_t b) { return static_cast<long double>(static_cast<float>(mk(b))); };
  auto rand_op = [&]() -> uint16_t {
    for (;;) {
      uint16_t b = static_cast<uint16_t>(r.u32());
      if ((b & 0x7FFF) >= inf) continue;  // finite only here; specials below
      if (b & 0x7FFF) {
        int e;
        std::frexp(static_cast<double>(val(b)), &e);
        if (e < exp_lo || e > exp_hi) continue;
      }
      return b;
    }
  };
  std::string bad;
  uint64_t n = 0;
  for (int i = 0; i < 300000 && bad.empty(); ++i) {
    const uint16_t a = rand_op(), b = rand_op(), c = rand_op();
    const __int128 A = static_cast<__int128>(std::ldexp(val(a), -min_unit));
    const __int128 B = static_cast<__int128>(std::ldexp(val(b), -min_unit));
    const __int128 C = static_cast<__int128>(std::ldexp(val(c), -min_unit));
    // products in units 2^(2·min_unit); sums of a and c in units 2^min_unit
    const __int128 P = A * B;
    const __int128 F = P + C * (static_cast<__int128>(1) << -min_unit);  // a·b + c in units 2^(2·min_unit)
    auto expect = [&](__int128 v, int unit, bool zero_neg) -> uint16_t {
      if (v == 0) return zero_neg ? 0x8000 : 0;
      return round_fixed(v, unit, fmt, inf);
    };
    const bool sa = a & 0x8000, sb = b & 0x8000, sc = c & 0x8000;
    // IEEE signs of exact zeros: x·y -> sign xor; x + y (RN) -> -0 only if both are -0
    const uint16_t w_mul = expect(P, 2 * min_unit, sa != sb);
    const uint16_t w_add = expect(A + C, min_unit, sa && sc && (a & 0x7FFF) == 0 && (c & 0x7FFF) == 0);
    const uint16_t w_fma = expect(F, 2 * min_unit, (sa != sb) && sc && P == 0 && (c & 0x7FFF) == 0);
    const uint16_t g_mul = __hmul(mk(a), mk(b)).__x, g_add = __hadd(mk(a), mk(c)).__x, g_fma = __hfma(mk(a), mk(b), mk(c)).__x;
    n += 3;
    if (g_mul != w_mul) bad = "mul " + hex(a) + "*" + hex(b) + " got " + hex(g_mul) + " want " + hex(w_mul);
    else if (g_add != w_add) bad = "add " + hex(a) + "+" + hex(c) + " got " + hex(g_add) + " want " + hex(w_add);
    else if (g_fma != w_fma) bad = "fma " + hex(a) + "," + hex(b) + "," + hex(c) + " got " + hex(g_fma) + " want " + hex(w_fma);
  }
  report(name, bad.empty(), bad, n);
}

static void test_specials() {
  std::string bad;
  auto H = [](uint16_t b) { return __ushort_as_half(b); };
  auto B = [](uint16_t b) { return __ushort_as_bfloat16(b); };
  // NaN results are canonical 0x7FFF; Inf - Inf is NaN; overflow rounds to Inf; habs clears the sign
  if (__half_as_ushort(__hadd(H(0x7C00), H(0xFC00))) != 0x7FFF) bad = "f16 inf-inf";
  if (__half_as_ushort(__hmul(H(0x7BFF), H(0x4000))) != 0x7C00) bad = "f16 overflow";
  if (__half_as_ushort(__hfma(H(0x7E01), H(0x3C00), H(0))) != 0x7FFF) bad = "f16 nan payload";
  if (__bfloat16_as_ushort(__hmul(B(0x7F7F), B(0x4000))) != 0x7F80) bad = "bf16 overflow";
  if (__bfloat16_as_ushort(__hadd(B(0xFF80), B(0x7F80))) != 0x7FFF) bad = "bf16 inf-inf";
  // __hmax2: NaN operand yields the other; -0 < +0
  __half2 m = __hmax2(__halves2half2(H(0x7E00), H(0x8000)), __halves2half2(H(0x3C00), H(0x0000)));
  if (__half_as_ushort(m.x) != 0x3C00 || __half_as_ushort(m.y) != 0x0000) bad = "hmax2";
  __half2 ab = __habs2(__halves2half2(H(0xBC00), H(0xFE00)));
  if (__half_as_ushort(ab.x) != 0x3C00 || __half_as_ushort(ab.y) != 0x7E00) bad = "habs2";
  // x2 forms are element-wise with .x = low half; floats2 packing order
  __half2 p = __floats2half2_rn(1.0f, -2.0f);
  if (__half_as_ushort(p.x) != 0x3C00 || __half_as_ushort(p.y) != 0xC000) bad = "floats2half2 order";
  __nv_bfloat162 q = __floats2bfloat162_rn(1.0f, 3.0f);
  float2 qf = __bfloat1622float2(__hfma2(q, q, q));
  if (qf.x != 2.0f || qf.y != 12.0f) bad = "bf16 hfma2";
  float2 hf = __half22float2(__hmul2(p, p));
  if (hf.x != 1.0f || hf.y != 4.0f) bad = "hmul2";
  if (__float2int_rn(2.5f) != 2 || __float2int_rn(-3.5f) != -4 || __float2int_rn(NAN) != 0 || __float2int_rn(3e9f) != 2147483647)
    bad = "float2int_rn";
  if (__int2float_rn(16777217) != 16777216.0f || __int2float_rn(16777219) != 16777220.0f) bad = "int2float_rn ties";
  if (__fmaf_rn(1.0f + std::ldexp(1.0f, -12), 1.0f + std::ldexp(1.0f, -12), -1.0f) != std::ldexp(1.0f, -11) + std::ldexp(1.0f, -24))
    bad = "fmaf_rn fused";
  report("half.h specials (NaN, Inf, overflow, max, abs, packing order, float intrinsics)", bad.empty(), bad, 16);
}

int main() {
  Rng r(0xBEEF);
  test_arith<__half>("__hmul/__hadd/__hfma f16 (exact reference)", RefFormat::make(5, 10, 15, 0x7BFF), 0x7C00, -24, -30, 30, r);
  test_arith<__nv_bfloat16>("__hmul/__hadd/__hfma bf16 (exact reference)", RefFormat::make(8, 7, 127, 0x7F7F), 0x7F80, -28, -20, 20, r);
  test_specials();
  return finish();
}
