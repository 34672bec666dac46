// Twins of the approximate SFU instructions (PTX floating-point instructions `rcp`, `ex2`, `tanh`,
// `rsqrt`). The hardware results are approximations the PTX ISA bounds but does not define, so the
// emulator returns the CORRECTLY ROUNDED function value (computed in binary64, rounded once to binary32)
// with the same .ftz handling (subnormal inputs and results flushed to sign-preserving zero).
// A real GPU differs from these by up to the documented bound (docs/emulator-isa.md §SFU); tests of
// kernels that use them must allow that bound.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace svdq::isa {

inline float ftz(float x) {
  return (x != 0.0f && std::fabs(x) < 1.17549435e-38f) ? std::copysign(0.0f, x) : x;
}

inline float rcp_approx_ftz(float x) { return ftz(static_cast<float>(1.0 / static_cast<double>(ftz(x)))); }
inline float ex2_approx_ftz(float x) { return ftz(static_cast<float>(std::exp2(static_cast<double>(ftz(x))))); }
inline float rsqrt_approx_ftz(float x) {
  const double v = ftz(x);
  return ftz(static_cast<float>(1.0 / std::sqrt(v)));
}
// tanh.approx.f32 has no .ftz form; subnormal inputs return themselves (tanh x = x to within rounding).
inline float tanh_approx(float x) { return static_cast<float>(std::tanh(static_cast<double>(x))); }

}  // namespace svdq::isa
