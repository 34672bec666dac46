// Known-answer and reference tests for the scalar encodings (runtime/emu/isa/float_formats.h) and the
// g++ twins of cuda_fp16/cuda_bf16 conversions (runtime/include/svdq/numeric/half.h):
// every e2m1 / e4m3 / ue4m3 / ue8m0 code point, round-to-nearest-even ties, saturation, NaN;
// f16 and bf16 from float on 2^24 sampled bit patterns plus every tie (and its float neighbours)
// around every 16-bit value, checked against the independent binary-search reference (ref_round.h).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "check.h"
#include "emu/isa/float_formats.h"
#include "ref_round.h"
#include "emu/isa/cvt.h"
#include "svdq/arch/cvt.h"
#include "svdq/numeric/half.h"

using namespace isa_test;
namespace I = svdq::isa;

static float bits2f(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static uint32_t f2bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
static std::string hex(uint32_t v) { char b[16]; std::snprintf(b, sizeof b, "0x%X", v); return b; }

// Reference f32 -> IEEE-like 16-bit format with Inf at code `inf` (f16 0x7C00, bf16 0x7F80), NaN -> 0x7FFF.
static uint16_t ref_to16(float f, const RefFormat& fmt, uint16_t inf) {
  if (std::isnan(f)) return 0x7FFF;
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  double ax = std::fabs(static_cast<double>(f));
  if (ax >= fmt.overflow_threshold()) return sign | inf;
  return static_cast<uint16_t>(sign | fmt.round(ax));
}

static void test_16bit(const char* name, const RefFormat& fmt, uint16_t inf, uint16_t (*impl)(float),
                       uint16_t (*intrinsic)(float), float (*decode)(uint16_t), Rng& r) {
  std::string bad;
  uint64_t n = 0;
  auto check = [&](float f) {
    ++n;
    uint16_t want = ref_to16(f, fmt, inf), got = impl(f), got2 = intrinsic(f);
    if (bad.empty() && (got != want || got2 != want))
      bad = std::string("input ") + hex(f2bits(f)) + " got " + hex(got) + "/" + hex(got2) + " want " + hex(want);
  };
  // every 16-bit value: decode is exact (vs textbook), and every midpoint and its neighbours
  for (uint32_t c = 0; c < 0x10000; ++c) {
    uint32_t mag = c & 0x7FFF;
    float v = decode(static_cast<uint16_t>(c));
    if (mag < inf) {
      double want = fmt.values[mag] * ((c & 0x8000) ? -1 : 1);
      if (bad.empty() && static_cast<double>(v) != want) bad = std::string("decode ") + hex(c);
      check(v);
      if (mag + 1 <= fmt.values.size() - 1) {
        double mid = (fmt.values[mag] + fmt.values[mag + 1]) / 2 * ((c & 0x8000) ? -1 : 1);
        float fm = static_cast<float>(mid);
        if (static_cast<double>(fm) != mid) { bad = "midpoint not representable in f32"; continue; }
        check(fm);
        check(std::nextafter(fm, INFINITY));
        check(std::nextafter(fm, -INFINITY));
      }
    } else if (mag == inf) {
      if (bad.empty() && !std::isinf(v)) bad = std::string("decode inf ") + hex(c);
    } else if (bad.empty() && !std::isnan(v)) {
      bad = std::string("decode nan ") + hex(c);
    }
  }
  // the overflow boundary: max + ulp/2 ties to even -> Inf; just below -> max
  float thr = static_cast<float>(fmt.overflow_threshold());
  check(thr); check(-thr); check(std::nextafter(thr, 0.0f)); check(INFINITY); check(-INFINITY);
  check(bits2f(0x7FC00000u)); check(bits2f(0xFFC00001u)); check(bits2f(0x7F800001u));
  // 2^24 sampled float bit patterns (every exponent, both signs, NaN payloads included)
  for (int i = 0; i < (1 << 24); ++i) check(bits2f(r.u32()));
  report(name, bad.empty(), bad, n);
}

static uint16_t impl_f16(float f) { return I::f16_from_f32_rn(f); }
static uint16_t intr_f16(float f) { return __half_as_ushort(__float2half_rn(f)); }
static float dec_f16(uint16_t h) { return __half2float(__ushort_as_half(h)); }
static uint16_t impl_bf16(float f) { return I::bf16_from_f32_rn(f); }
static uint16_t intr_bf16(float f) { return __bfloat16_as_ushort(__float2bfloat16_rn(f)); }
static float dec_bf16(uint16_t h) { return __bfloat162float(__ushort_as_bfloat16(h)); }

static void test_e2m1(Rng& r) {
  // §4.6 table, verbatim
  const float table[16] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, -0.0f, -0.5f, -1, -1.5f, -2, -3, -4, -6};
  std::string bad;
  for (uint32_t c = 0; c < 16; ++c) {
    float v = I::e2m1_to_f32(c);
    if (f2bits(v) != f2bits(table[c]) && bad.empty()) bad = "decode " + hex(c);
    if (I::e2m1_from_f32_satfinite(table[c]) != c && bad.empty()) bad = "roundtrip " + hex(c);
  }
  // ties to even code: 0.25->0, 0.75->1.0, 1.25->1.0, 1.75->2, 2.5->2, 3.5->4, 5->4; saturation; NaN
  struct KA { float in; uint8_t out; } ka[] = {
      {0.25f, 0x0}, {0.75f, 0x2}, {1.25f, 0x2}, {1.75f, 0x4}, {2.5f, 0x4}, {3.5f, 0x6}, {5.0f, 0x6},
      {-0.25f, 0x8}, {-0.75f, 0xA}, {-5.0f, 0xE}, {0.2500001f, 0x1}, {0.7499999f, 0x1}, {5.0000005f, 0x7},
      {6.5f, 0x7}, {1e30f, 0x7}, {-7.0f, 0xF}, {INFINITY, 0x7}, {-INFINITY, 0xF}, {NAN, 0x7},
      {-0.0f, 0x8}, {0.0f, 0x0}, {-0.1f, 0x8}, {1e-40f, 0x0}};
  for (auto k : ka)
    if (I::e2m1_from_f32_satfinite(k.in) != k.out && bad.empty())
      bad = "KAT " + std::to_string(k.in) + " got " + hex(I::e2m1_from_f32_satfinite(k.in)) + " want " + hex(k.out);
  RefFormat fmt = RefFormat::make(2, 1, 1, 7);
  for (int i = 0; i < 200000 && bad.empty(); ++i) {
    float x = static_cast<float>((r.uniform() * 2 - 1) * 8);
    uint8_t want = static_cast<uint8_t>((std::signbit(x) ? 8 : 0) | fmt.round(std::fabs(static_cast<double>(x))));
    if (I::e2m1_from_f32_satfinite(x) != want) bad = "random " + std::to_string(x);
  }
  report("cvt e2m1 (all codes, ties, satfinite, NaN)", bad.empty(), bad, 200016);
}

static void test_e4m3(Rng& r) {
  RefFormat fmt = RefFormat::make(4, 3, 7, 0x7E);
  std::string bad;
  // KAT from §4.6: 0x38 = 1.0, 0x7E = 448, 0x01 = 2^-9, 0x7F = NaN
  if (I::e4m3_to_f32(0x38) != 1.0f || I::e4m3_to_f32(0x7E) != 448.0f || I::e4m3_to_f32(0x01) != std::ldexp(1.0f, -9) ||
      !std::isnan(I::e4m3_to_f32(0x7F)) || !std::isnan(I::e4m3_to_f32(0xFF)) || I::e4m3_to_f32(0xB8) != -1.0f)
    bad = "KAT decode";
  for (uint32_t c = 0; c < 256 && bad.empty(); ++c) {
    if ((c & 0x7F) == 0x7F) continue;
    double want = fmt.values[c & 0x7F] * ((c & 0x80) ? -1 : 1);
    float v = I::e4m3_to_f32(c);
    if (static_cast<double>(v) != want) bad = "decode " + hex(c);
    if (I::e4m3_from_f32_satfinite(v) != c) bad = "roundtrip " + hex(c);
    if (c < 0x7F && I::ue4m3_to_f32(c) != v) bad = "ue4m3 decode " + hex(c);
    if (c < 0x7E) {  // every tie goes to the even code, its neighbours to the nearer code
      float mid = static_cast<float>((fmt.values[c & 0x7F] + fmt.values[(c & 0x7F) + 1]) / 2 * ((c & 0x80) ? -1 : 1));
      uint32_t even = (c & 1) ? c + 1 : c;
      if (I::e4m3_from_f32_satfinite(mid) != even) bad = "tie above " + hex(c);
      if (I::e4m3_from_f32_satfinite(std::nextafter(mid, 0.0f)) != c) bad = "below tie " + hex(c);
      if (I::e4m3_from_f32_satfinite(std::nextafter(mid, mid > 0 ? INFINITY : -INFINITY)) != c + 1) bad = "above tie " + hex(c);
    }
  }
  struct KA { float in; uint8_t out; } ka[] = {{449.0f, 0x7E}, {464.0f, 0x7E}, {1e9f, 0x7E}, {-1e9f, 0xFE},
                                               {INFINITY, 0x7E}, {-INFINITY, 0xFE}, {NAN, 0x7F},
                                               {std::ldexp(1.0f, -10), 0x00}, {std::ldexp(1.5f, -10), 0x01}};
  for (auto k : ka)
    if (I::e4m3_from_f32_satfinite(k.in) != k.out && bad.empty()) bad = "KAT " + std::to_string(k.in);
  for (int i = 0; i < 200000 && bad.empty(); ++i) {
    float x = static_cast<float>(std::ldexp(r.uniform() * 2 - 1, r.range(-12, 10)));
    uint8_t want = static_cast<uint8_t>((std::signbit(x) ? 0x80 : 0) | fmt.round(std::fabs(static_cast<double>(x))));
    if (I::e4m3_from_f32_satfinite(x) != want) bad = "random " + std::to_string(x);
  }
  report("cvt e4m3/ue4m3 (all codes, ties, satfinite, NaN)", bad.empty(), bad, 200000 + 256 * 4);
}

static void test_ue8m0() {
  std::string bad;
  for (uint32_t c = 0; c < 255; ++c)
    if (I::ue8m0_to_f64(c) != std::pow(2.0, static_cast<int>(c) - 127)) bad = "decode " + hex(c);
  if (I::ue8m0_to_f64(0x7F) != 1.0 || !std::isnan(I::ue8m0_to_f64(0xFF)) || I::ue8m0_to_f64(0) != std::ldexp(1.0, -127))
    bad = "KAT";
  report("ue8m0 decode (all codes)", bad.empty(), bad, 256);
}

// ue8m0 rounding up: both the isa twin and the host/device bit version against a direct search.
static void test_ue8m0_rp(Rng& r) {
  std::string bad;
  auto ref = [](float x) -> uint32_t {
    if (std::isnan(x)) return 0xFF;
    if (!(x > 0)) return 0x00;
    for (int c = 0; c <= 0xFE; ++c)
      if (std::ldexp(1.0, c - 127) >= static_cast<double>(x)) return static_cast<uint32_t>(c);
    return 0xFE;  // satfinite
  };
  auto one = [&](float x) {
    const uint32_t want = ref(x), a = I::ue8m0_from_f32_rp(x), b = svdq::arch::ue8m0_rp_from_bits(f2bits(x));
    if ((a != want || b != want) && bad.empty())
      bad = "x " + hex(f2bits(x)) + " isa " + hex(a) + " bits " + hex(b) + " want " + hex(want);
  };
  for (int e = -160; e <= 130; ++e)
    for (float m : {1.0f, 1.0000001f, 0.75f, 0.9999999f, 1.5f}) one(std::ldexp(m, e));
  for (float x : {0.0f, -0.0f, -1.0f, INFINITY, -INFINITY, NAN, 3.4028235e38f, 1e-45f}) one(x);
  for (int i = 0; i < 1000000; ++i) one(bits2f(r.u32()));
  report("ue8m0 round-up scale (isa twin and device bit code)", bad.empty(), bad, 1001458);
}

// cvt.rni.s32.f32 and cvt.pack.sat against their PTX definitions
static void test_int_cvt(Rng& r) {
  std::string bad;
  struct KA { float in; int32_t out; } ka[] = {{0.5f, 0}, {1.5f, 2}, {2.5f, 2}, {-0.5f, 0}, {-1.5f, -2}, {-2.5f, -2},
                                             {2147483520.0f, 2147483520}, {3e9f, INT32_MAX}, {-3e9f, INT32_MIN},
                                             {INFINITY, INT32_MAX}, {-INFINITY, INT32_MIN}, {NAN, 0}, {1e-30f, 0}};
  for (auto k : ka)
    if (I::cvt_rni_s32_f32(k.in) != k.out && bad.empty()) bad = "rni " + std::to_string(k.in);
  auto sat = [](int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; };
  for (int i = 0; i < 200000 && bad.empty(); ++i) {
    const int32_t a = static_cast<int32_t>(r.u32()) >> r.range(0, 31), b = static_cast<int32_t>(r.u32()) >> r.range(0, 31);
    const uint32_t c = r.u32();
    const uint32_t ws4 = (c << 8) | ((static_cast<uint32_t>(sat(a, -8, 7)) & 15) << 4) | (static_cast<uint32_t>(sat(b, -8, 7)) & 15);
    const uint32_t wu4 = (c << 8) | (static_cast<uint32_t>(sat(a, 0, 15)) << 4) | static_cast<uint32_t>(sat(b, 0, 15));
    const uint32_t ws8 = (c << 16) | ((static_cast<uint32_t>(sat(a, -128, 127)) & 255) << 8) | (static_cast<uint32_t>(sat(b, -128, 127)) & 255);
    if (I::cvt_pack_sat_s4(a, b, c) != ws4 || I::cvt_pack_sat_u4(a, b, c) != wu4 || I::cvt_pack_sat_s8(a, b, c) != ws8)
      bad = "pack a " + std::to_string(a) + " b " + std::to_string(b);
    const float f = bits2f(r.u32());
    if (!std::isnan(f) && std::fabs(f) < 2e9f) {
      const double fl = std::floor(static_cast<double>(f)), rem = static_cast<double>(f) - fl;
      const int64_t want = static_cast<int64_t>(rem > 0.5 || (rem == 0.5 && std::fmod(fl, 2.0) != 0) ? fl + 1 : fl);
      if (I::cvt_rni_s32_f32(f) != want) bad = "rni random " + hex(f2bits(f));
    }
  }
  report("cvt.rni.s32.f32 and cvt.pack.sat.{s4,u4,s8}", bad.empty(), bad, 200013);
}

int main() {
  Rng r(0xF0F0);
  test_16bit("cvt.rn.f16.f32 / __float2half_rn", RefFormat::make(5, 10, 15, 0x7BFF), 0x7C00, impl_f16, intr_f16, dec_f16, r);
  test_16bit("cvt.rn.bf16.f32 / __float2bfloat16_rn", RefFormat::make(8, 7, 127, 0x7F7F), 0x7F80, impl_bf16, intr_bf16, dec_bf16, r);
  test_e2m1(r);
  test_e4m3(r);
  test_ue8m0();
  test_ue8m0_rp(r);
  test_int_cvt(r);
  return finish();
}
