// Integer conversions and packing (PTX §9.7.9.21 `cvt`, `cvt.pack`): pure twins of
//   cvt.rni.s32.f32                     nearest-even integer, NaN -> 0, saturating to int32;
//   cvt.pack.sat.{s4,u4,s8}.s32.b32 d, a, b, c
//       d = (c << 2n) | (sat_n(a) << n) | sat_n(b)   (n = 4 or 8: b lands in the low field);
//   ue8m0 of a positive float rounded up (the MX block-scale rule; plain integer code on both sides).
#pragma once
#include <cmath>
#include <cstdint>

#include "float_formats.h"

namespace svdq::isa {

inline int32_t cvt_rni_s32_f32(float f) {
  if (std::isnan(f)) return 0;
  if (f >= 2147483648.0f) return INT32_MAX;
  if (f <= -2147483648.0f) return INT32_MIN;
  return static_cast<int32_t>(std::nearbyint(f));  // default FP environment: round to nearest even
}

inline uint32_t sat_field(int32_t v, int32_t lo, int32_t hi, int bits) {
  const int32_t s = v < lo ? lo : v > hi ? hi : v;
  return static_cast<uint32_t>(s) & ((1u << bits) - 1u);
}
inline uint32_t cvt_pack_sat_s4(int32_t a, int32_t b, uint32_t c) { return (c << 8) | (sat_field(a, -8, 7, 4) << 4) | sat_field(b, -8, 7, 4); }
inline uint32_t cvt_pack_sat_u4(int32_t a, int32_t b, uint32_t c) { return (c << 8) | (sat_field(a, 0, 15, 4) << 4) | sat_field(b, 0, 15, 4); }
inline uint32_t cvt_pack_sat_s8(int32_t a, int32_t b, uint32_t c) { return (c << 16) | (sat_field(a, -128, 127, 8) << 8) | sat_field(b, -128, 127, 8); }

// Smallest ue8m0 code whose value 2^(code-127) is >= x (x > 0 finite); x <= 2^-127 -> 0x00,
// x > 2^127 -> 0xFE (satfinite), NaN -> 0xFF. x <= 0 -> 0x00.
inline uint8_t ue8m0_from_f32_rp(float x) {
  if (std::isnan(x)) return 0xFF;
  if (!(x > 0.0f)) return 0x00;
  if (std::isinf(x)) return 0xFE;
  int e;
  const double m = std::frexp(static_cast<double>(x), &e);  // x = m·2^e, m in [0.5, 1)
  int p = (m == 0.5) ? e - 1 : e;                             // 2^p >= x, minimal
  int code = p + 127;
  if (code < 0) code = 0;
  if (code > 0xFE) code = 0xFE;
  return static_cast<uint8_t>(code);
}

}  // namespace svdq::isa
