// Bit-exact scalar encodings used by the emulator twins: IEEE binary16, bfloat16, OCP E4M3 (and its
// unsigned UE4M3 scale form), E2M1, UE8M0. Decoding is exact; encoding rounds to nearest, ties to
// even, from an exactly known value (ptx-fragments.md §7 "cvt rounding", §4.6 value tables).
// Pure functions, no emulator state: unit-tested in test/runtime/emu/isa/.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace svdq::isa {

inline uint32_t f32_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float f32_from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint64_t f64_bits(double d) { uint64_t u; std::memcpy(&u, &d, 8); return u; }
inline double f64_from_bits(uint64_t u) { double d; std::memcpy(&d, &u, 8); return d; }

// A small binary floating-point format: `mbits` stored mantissa bits, exponent bias, and the
// unbiased exponent of the smallest normal (emin = 1 - bias).
struct MiniFormat { int mbits; int bias; };
constexpr MiniFormat kF16{10, 15};
constexpr MiniFormat kBF16{7, 127};
constexpr MiniFormat kE4M3{3, 7};
constexpr MiniFormat kE2M1{1, 1};

// Magnitude code (exponent field << mbits | mantissa) of |x| rounded to nearest-even in format `f`,
// with an unbounded exponent range above (the caller decides overflow: Inf or saturation).
// `ax` must be finite, >= 0 and exactly the value to round (or its round-to-odd double image, see
// round_to_odd_sum), so a single rounding happens here.
inline uint32_t round_magnitude(double ax, MiniFormat f) {
  if (ax == 0.0) return 0;
  const int emin = 1 - f.bias;
  int e2;
  std::frexp(ax, &e2);           // ax = m * 2^e2, m in [0.5, 1)
  int e = e2 - 1;                // ax in [2^e, 2^(e+1))
  int eq = e < emin ? emin : e;  // binade whose quantum applies (subnormals share emin's quantum)
  double n = std::ldexp(ax, f.mbits - eq);  // ax / quantum, exact (power-of-two scaling)
  double fl = std::floor(n);
  double rem = n - fl;
  uint64_t N = static_cast<uint64_t>(fl);
  if (rem > 0.5 || (rem == 0.5 && (N & 1))) ++N;
  const uint64_t hidden = uint64_t{1} << f.mbits;
  if (N < hidden) return static_cast<uint32_t>(N);  // subnormal (only when e < emin)
  if (N == 2 * hidden) { N = hidden; ++eq; }       // carried into the next binade
  return static_cast<uint32_t>((static_cast<uint64_t>(eq + f.bias) << f.mbits) | (N - hidden));
}

// Exact value of a magnitude code in format `f` (no Inf/NaN interpretation).
inline double decode_magnitude(uint32_t code, MiniFormat f) {
  const uint32_t mant = code & ((1u << f.mbits) - 1);
  const int ef = static_cast<int>(code >> f.mbits);
  if (ef == 0) return std::ldexp(static_cast<double>(mant), 1 - f.bias - f.mbits);
  return std::ldexp(static_cast<double>(mant | (1u << f.mbits)), ef - f.bias - f.mbits);
}

// Round-to-odd image of a + b in binary64: the exact sum if representable, else the neighbour whose
// last mantissa bit is 1. Rounding that image once more to any format with <= 51 mantissa bits gives
// the correctly rounded (RNE) result of the exact sum (no double-rounding error).
inline double round_to_odd_sum(double a, double b) {
  double s = a + b;
  if (!std::isfinite(s)) return s;
  double bb = s - a;
  double err = (a - (s - bb)) + (b - bb);  // TwoSum: a + b = s + err exactly
  if (err == 0.0) return s;
  if (f64_bits(s) & 1) return s;
  return std::nextafter(s, err > 0 ? INFINITY : -INFINITY);
}

// The exact sum of n finite binary64 terms, rounded once to binary32 (nearest even). The terms are
// accumulated into a non-overlapping expansion (Shewchuk's grow-expansion: exact), whose components
// are then added smallest first with round-to-odd, so the final conversion is a single correct
// rounding. Non-finite terms fall back to the plain IEEE sum (Inf/NaN propagate as in hardware).
// n <= 32.
inline float sum_exact_to_f32(const double* x, int n) {
  double e[33];
  int m = 0;
  for (int i = 0; i < n; ++i) {
    double q = x[i];
    if (!std::isfinite(q)) {
      double s = 0;
      for (int j = 0; j < n; ++j) s += x[j];
      return static_cast<float>(s);
    }
    int k = 0;
    for (int j = 0; j < m; ++j) {
      const double s = q + e[j];
      const double bb = s - q;
      const double err = (q - (s - bb)) + (e[j] - bb);
      q = s;
      if (err != 0.0) e[k++] = err;
    }
    e[k++] = q;
    m = k;
  }
  double r = 0.0;
  for (int j = 0; j < m; ++j) r = round_to_odd_sum(r, e[j]);
  return static_cast<float>(r);
}

// ---- binary16 -------------------------------------------------------------------------------
constexpr uint16_t kF16CanonicalNaN = 0x7FFF;  // ptx-fragments.md §7: host fallbacks return 0x7FFF
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t ef = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (ef == 0x1F) return f32_from_bits(sign | 0x7F800000u | (mant << 13));  // Inf / NaN (payload kept)
  if (ef == 0) {                                    // subnormal: mant * 2^-24, exact in binary32
    float mag = static_cast<float>(mant) * 5.9604644775390625e-8f;
    return sign ? -mag : mag;
  }
  return f32_from_bits(sign | ((ef + 112) << 23) | (mant << 13));  // rebias 15 -> 127
}
// Round an exactly known (or round-to-odd) double to binary16: RNE, overflow -> Inf, NaN -> 0x7FFF.
inline uint16_t f16_from_f64_rn(double x) {
  if (std::isnan(x)) return kF16CanonicalNaN;
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  double ax = std::fabs(x);
  if (std::isinf(ax)) return sign | 0x7C00;
  uint32_t code = round_magnitude(ax, kF16);
  if (code >= 0x7C00) code = 0x7C00;
  return static_cast<uint16_t>(sign | code);
}
inline uint16_t f16_from_f32_rn(float f) { return f16_from_f64_rn(static_cast<double>(f)); }

// ---- bfloat16 -------------------------------------------------------------------------------
constexpr uint16_t kBF16CanonicalNaN = 0x7FFF;
inline float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }
inline uint16_t bf16_from_f64_rn(double x) {
  if (std::isnan(x)) return kBF16CanonicalNaN;
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  double ax = std::fabs(x);
  if (std::isinf(ax)) return sign | 0x7F80;
  uint32_t code = round_magnitude(ax, kBF16);
  if (code >= 0x7F80) code = 0x7F80;
  return static_cast<uint16_t>(sign | code);
}
inline uint16_t bf16_from_f32_rn(float f) { return bf16_from_f64_rn(static_cast<double>(f)); }

// ---- E2M1 (fp4): 1 sign, 2 exponent, 1 mantissa, bias 1, no Inf/NaN (§4.6) ------------------
inline float e2m1_to_f32(uint32_t code) {
  static constexpr float kMag[8] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f};
  float m = kMag[code & 7];
  return (code & 8) ? -m : m;
}
// cvt.rn.satfinite.e2m1x2.f32 element (§7): RNE, |x| > 6 -> ±6, ±Inf -> ±6.
// NaN -> +6 (0x7): E2M1 has no NaN; the device result is UNCONFIRMED (documented in emulator-isa.md).
inline uint8_t e2m1_from_f32_satfinite(float f) {
  if (std::isnan(f)) return 0x7;
  const uint8_t sign = std::signbit(f) ? 8 : 0;
  double ax = std::fabs(static_cast<double>(f));
  uint32_t code = std::isinf(ax) ? 7u : round_magnitude(ax, kE2M1);
  if (code > 7) code = 7;
  return static_cast<uint8_t>(sign | code);
}

// ---- E4M3 (OCP "FN": no Inf, NaN = S.1111.111, max 448) and UE4M3 (same, sign bit 0) ----------
inline float e4m3_to_f32(uint32_t code) {
  const uint32_t mag = code & 0x7F;
  if (mag == 0x7F) return f32_from_bits(0x7FFFFFFFu | ((code & 0x80u) << 24));
  float m = static_cast<float>(decode_magnitude(mag, kE4M3));
  return (code & 0x80) ? -m : m;
}
// cvt.rn.satfinite.e4m3x2.f32 element (§7 `.satfinite`: |x| > MAX_NORM -> ±MAX_NORM, NaN stays NaN):
// RNE, ±Inf -> ±448 (0x7E/0xFE), NaN -> 0x7F (sign of a NaN result UNCONFIRMED; we return +).
inline uint8_t e4m3_from_f32_satfinite(float f) {
  if (std::isnan(f)) return 0x7F;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  double ax = std::fabs(static_cast<double>(f));
  uint32_t code = std::isinf(ax) ? 0x7Eu : round_magnitude(ax, kE4M3);
  if (code > 0x7E) code = 0x7E;
  return static_cast<uint8_t>(sign | code);
}
// UE4M3 scale (§4.6): 7 bits, bias 7, 0x7F = NaN, bit 7 must be 0 (a set bit 7 is UNCONFIRMED on
// hardware; the emulator ignores it, i.e. decodes code & 0x7F).
inline float ue4m3_to_f32(uint32_t code) { return e4m3_to_f32(code & 0x7F); }

// ---- UE8M0 scale (§4.6): 2^(code-127), 0xFF = NaN, 0x00 = 2^-127 (NVIDIA's definition) --------
inline double ue8m0_to_f64(uint32_t code) {
  code &= 0xFF;
  if (code == 0xFF) return NAN;
  return std::ldexp(1.0, static_cast<int>(code) - 127);
}
inline float ue8m0_to_f32(uint32_t code) { return static_cast<float>(ue8m0_to_f64(code)); }

}  // namespace svdq::isa
