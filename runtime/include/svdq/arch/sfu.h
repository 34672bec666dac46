// Approximate special-function instructions. Device: rcp.approx.ftz.f32, ex2.approx.ftz.f32,
// tanh.approx.f32 (sm_75+), rsqrt.approx.ftz.f32. Emulator: correctly rounded values
// (runtime/emu/isa/sfu.h); the GPU differs by up to the bounds listed in docs/emulator-isa.md, so these
// are never used to compute quantization codes (DESIGN.md principle 6).
#pragma once
#include "../../../emu/isa/sfu.h"
#include "detail.h"

namespace svdq::arch {

SVDQ_ARCH_FN float rcp_approx(float x) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
#else
  return isa::rcp_approx_ftz(x);
#endif
}

SVDQ_ARCH_FN float ex2_approx(float x) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
#else
  return isa::ex2_approx_ftz(x);
#endif
}

template <int kUnused = 0>
SVDQ_ARCH_FN float tanh_approx(float x) {
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 750
  float r;
  asm("tanh.approx.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "tanh.approx.f32 requires sm_75 or newer");
  return x;
#endif
#else
  return isa::tanh_approx(x);
#endif
}

SVDQ_ARCH_FN float rsqrt_approx(float x) {
#if defined(__CUDA_ARCH__)
  float r;
  asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
  return r;
#else
  return isa::rsqrt_approx_ftz(x);
#endif
}

}  // namespace svdq::arch
