// Independent reference rounding for the conversion tests: a format is described only by its list of
// non-negative finite values (decoded with the textbook formula (1 + m/2^M)·2^(e-bias), subnormals
// m/2^M·2^(1-bias)), and x is rounded by binary search for its two neighbours, nearest wins, a tie goes
// to the even code. No code is shared with runtime/emu/isa/float_formats.h.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

namespace isa_test {

struct RefFormat {
  std::vector<double> values;  // values[code] for magnitude codes 0..maxFinite (increasing)
  int mbits = 0;
  // Textbook decode of a magnitude code.
  static double textbook(uint32_t code, int ebits, int mbits, int bias) {
    uint32_t e = code >> mbits, m = code & ((1u << mbits) - 1);
    (void)ebits;
    if (e == 0) return std::pow(2.0, 1 - bias) * (static_cast<double>(m) / std::pow(2.0, mbits));
    return std::pow(2.0, static_cast<int>(e) - bias) * (1.0 + static_cast<double>(m) / std::pow(2.0, mbits));
  }
  static RefFormat make(int ebits, int mbits, int bias, uint32_t maxFinite) {
    RefFormat f;
    f.mbits = mbits;
    for (uint32_t c = 0; c <= maxFinite; ++c) f.values.push_back(textbook(c, ebits, mbits, bias));
    return f;
  }
  double max() const { return values.back(); }
  // Half an ulp above the largest finite value: the IEEE round-to-nearest overflow threshold.
  double overflow_threshold() const {
    double ulp = values.back() - values[values.size() - 2];
    return values.back() + ulp / 2;
  }
  // RNE magnitude code for finite x >= 0 that does not overflow (x < overflow_threshold()).
  uint32_t round(double x) const {
    size_t lo = 0, hi = values.size() - 1;
    if (x >= values[hi]) return static_cast<uint32_t>(hi);
    while (hi - lo > 1) {  // invariant: values[lo] <= x < values[hi]
      size_t mid = (lo + hi) / 2;
      if (values[mid] <= x) lo = mid; else hi = mid;
    }
    double dl = x - values[lo], dh = values[hi] - x;
    if (dl < dh) return static_cast<uint32_t>(lo);
    if (dh < dl) return static_cast<uint32_t>(hi);
    return static_cast<uint32_t>((lo & 1) == 0 ? lo : hi);
  }
};

}  // namespace isa_test
