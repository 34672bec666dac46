// The activation quantizer's division-free steps (quant/int4.h) against the IEEE operations they replace,
// on the emulator's float intrinsics (the GPU's FFMA/FMUL, non-FTZ, round to nearest even):
//   code_rcp16(s) == RN(1/s) for every positive bf16 and fp16 value s < 2^126 (0 for 0 and +Inf);
//   div_rn_qmax(a, q) == RN(a / q) for q = 7, 15 on every 61st non-negative fp32 (subnormals, +Inf and
//   the largest finite value included). The full sweep of all 2^31 values was run once (issue 11).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "../../runtime/emu/isa/check.h"
#include "svdq/quant/int4.h"

using namespace isa_test;

static float from_bits(uint32_t w) { float a; std::memcpy(&a, &w, 4); return a; }
static uint32_t bits(float a) { uint32_t w; std::memcpy(&w, &a, 4); return w; }
static std::string hex(float v) { char b[64]; std::snprintf(b, sizeof b, "%a", static_cast<double>(v)); return b; }

static void rcp_check(const char* name, float s, uint64_t& n, std::string& bad) {
  ++n;
  const float want = (s > 0.0f && s < INFINITY) ? 1.0f / s : 0.0f;
  const float got = svdq::quant::code_rcp16(s);
  if (bits(want) != bits(got) && bad.empty()) bad = std::string(name) + " s=" + hex(s) + " want " + hex(want) + " got " + hex(got);
}

int main() {
  {
    uint64_t n = 0;
    std::string bad;
    for (uint32_t h = 0; h <= 0x7F80u; ++h) {  // positive bf16, 0 and +Inf included
      const float s = from_bits(h << 16);
      if (s < 0x1p126f || s == INFINITY) rcp_check("bf16", s, n, bad);
    }
    for (uint32_t h = 0; h <= 0x7C00u; ++h) {  // positive fp16, 0 and +Inf included
      const uint32_t e = h >> 10, m = h & 1023u;
      const float s = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                             : (e == 31 ? INFINITY : std::ldexp(1.0f + static_cast<float>(m) / 1024.0f, static_cast<int>(e) - 15));
      rcp_check("fp16", s, n, bad);
    }
    report("code_rcp16 == RN(1/s) on 16-bit scales", bad.empty(), bad, n);
  }
  for (const float q : {7.0f, 15.0f}) {
    uint64_t n = 0;
    std::string bad;
    auto one = [&](uint32_t w) {
      ++n;
      const float a = from_bits(w), want = a / q, got = svdq::quant::div_rn_qmax(a, q, 1.0f / q);
      if (bits(want) != bits(got) && bad.empty()) bad = "a=" + hex(a) + " want " + hex(want) + " got " + hex(got);
    };
    for (uint64_t w = 0; w < 0x7F800000u; w += 61) one(static_cast<uint32_t>(w));
    one(0x7F7FFFFFu);
    one(0x7F800000u);
    report("div_rn_qmax == RN(a/" + std::to_string(static_cast<int>(q)) + ")", bad.empty(), bad, n);
  }
  return finish();
}
