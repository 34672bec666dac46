// Exact sums of small binary terms m·2^e, rounded once to binary32 (nearest even): the arithmetic of the
// emulator's FP MMA twins (see mma_fp.h / mma_fp4.h for the policy). Terms whose bit span fits 124 bits
// are added in a 128-bit integer (the fast path for real data); wider spans fall back to the error-free
// binary64 expansion sum_exact_to_f32. Pure; no state.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "float_formats.h"

namespace svdq::isa {

// Correctly rounded (nearest even) binary32 value of acc·2^unit, built bit by bit (no libm).
inline float round_i128_to_f32(__int128 acc, int unit) {
  if (acc == 0) return 0.0f;
  const uint32_t sign = acc < 0 ? 0x80000000u : 0u;
  const unsigned __int128 u = acc < 0 ? -static_cast<unsigned __int128>(acc) : static_cast<unsigned __int128>(acc);
  const uint64_t hi = static_cast<uint64_t>(u >> 64), lo = static_cast<uint64_t>(u);
  const int p = hi != 0 ? 127 - __builtin_clzll(hi) : 63 - __builtin_clzll(lo);  // msb position
  const int e = p + unit;                                                        // value in [2^e, 2^(e+1))
  uint32_t inf = sign | 0x7F800000u, bits;
  if (e > 127) { std::memcpy(&bits, &inf, 4); float f; std::memcpy(&f, &bits, 4); return f; }
  // drop `shift` low bits: 24 significant bits for normals, the 2^-149 quantum for subnormals
  const int shift = e >= -126 ? p - 23 : -149 - unit;
  uint64_t mant;
  if (shift <= 0) {
    mant = static_cast<uint64_t>(u << -shift);
  } else if (shift > p + 1) {
    mant = 0;  // below half the smallest quantum
  } else {
    mant = static_cast<uint64_t>(u >> shift);
    const unsigned __int128 rem = u & ((static_cast<unsigned __int128>(1) << shift) - 1);
    const unsigned __int128 half = static_cast<unsigned __int128>(1) << (shift - 1);
    if (rem > half || (rem == half && (mant & 1))) ++mant;
  }
  if (e >= -126) {
    int ef = e + 127;
    if (mant == (uint64_t{1} << 24)) { mant >>= 1; ++ef; }
    if (ef > 254) {
      bits = inf;
    } else {
      bits = sign | (static_cast<uint32_t>(ef) << 23) | (static_cast<uint32_t>(mant) & 0x7FFFFFu);
    }
  } else {
    bits = sign | static_cast<uint32_t>(mant);  // mant <= 2^23: 2^23 is the smallest normal
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Up to kMax terms m·2^e (|m| < 2^40), summed exactly and rounded once.
template <int kMax>
struct ExactTerms {
  int n = 0;
  int64_t m[kMax];
  int e[kMax];
  bool all_negative_zero = true;  // IEEE: an exact-zero sum is -0 only if every addend is -0

  void add(int64_t mant, int exp, bool negative_zero = false) {
    if (!negative_zero) all_negative_zero = false;
    if (mant == 0) return;
    m[n] = mant;
    e[n] = exp;
    ++n;
  }
  // A finite binary32 value as m·2^e.
  void add_float(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    const uint32_t ef = (u >> 23) & 0xFF, frac = u & 0x7FFFFF;
    int64_t mant = ef == 0 ? frac : (frac | 0x800000);
    if (u >> 31) mant = -mant;
    add(mant, ef == 0 ? -149 : static_cast<int>(ef) - 150, u == 0x80000000u);
  }
  float round() const {
    if (n == 0) return all_negative_zero ? -0.0f : 0.0f;
    int lo = e[0], top = e[0];
    for (int i = 0; i < n; ++i) {
      const uint64_t a = static_cast<uint64_t>(m[i] < 0 ? -m[i] : m[i]);
      const int t = e[i] + 64 - __builtin_clzll(a);
      if (e[i] < lo) lo = e[i];
      if (t > top) top = t;
    }
    if (top - lo <= 120) {
      __int128 acc = 0;
      for (int i = 0; i < n; ++i) acc += static_cast<__int128>(m[i]) << (e[i] - lo);
      return round_i128_to_f32(acc, lo);
    }
    double d[kMax];
    for (int i = 0; i < n; ++i) d[i] = std::ldexp(static_cast<double>(m[i]), e[i]);  // exact: |m| < 2^53
    return sum_exact_to_f32(d, n);
  }
};

}  // namespace svdq::isa
