// Tiny check reporter shared by the ISA test programs: one PASS/FAIL line per named check.
#pragma once
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>

namespace isa_test {

inline int& failures() { static int n = 0; return n; }

// Records one check; `detail` is printed only on failure (first mismatch).
inline void report(const std::string& name, bool ok, const std::string& detail = "", uint64_t cases = 0) {
  if (ok) {
    std::printf("PASS %s (%llu cases)\n", name.c_str(), static_cast<unsigned long long>(cases));
  } else {
    ++failures();
    std::printf("FAIL %s: %s\n", name.c_str(), detail.c_str());
  }
}

inline int finish() {
  std::fflush(stdout);
  return failures() == 0 ? 0 : 1;
}

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  uint32_t u32() { return static_cast<uint32_t>(g()); }
  int range(int lo, int hi) { return lo + static_cast<int>(g() % static_cast<uint64_t>(hi - lo + 1)); }
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(g); }
};

}  // namespace isa_test
