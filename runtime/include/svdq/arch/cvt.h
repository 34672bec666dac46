// Conversions (PTX `cvt`, `cvt.pack`; ptx-fragments.md §7). Device: the exact PTX strings; emulator:
// runtime/emu/isa/cvt.h and float_formats.h. Packed forms follow PTX operand order: the FIRST source
// goes to the HIGH field ("a -> d[31:16]" for f16x2, "a -> d[7:4]" for e2m1x2).
#pragma once
#include "../../../emu/isa/cvt.h"
#include "../../../emu/isa/float_formats.h"
#include "detail.h"

// e2m1x2 conversion: sm_100a / sm_120a (PTX 8.6) and their families (PTX 8.8).
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FAMILY_SPECIFIC__) && __CUDA_ARCH_FAMILY_SPECIFIC__ >= 1000
#define SVDQ_HAS_CVT_E2M1 1
#endif

namespace svdq::arch {

/** cvt.rni.s32.f32: nearest-even integer; NaN -> 0; saturates to int32. */
SVDQ_ARCH_FN int cvt_rni_s32_f32(float x) {
#if defined(__CUDA_ARCH__)
  int r;
  asm("cvt.rni.s32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r;
#else
  return isa::cvt_rni_s32_f32(x);
#endif
}

/** cvt.pack.sat.s4.s32.b32 d, a, b, c: d = c << 8 | sat(a) << 4 | sat(b) (sm_75+). */
SVDQ_ARCH_FN uint32_t cvt_pack_sat_s4_step(int a, int b, uint32_t c) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm("cvt.pack.sat.s4.s32.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
#else
  return isa::cvt_pack_sat_s4(a, b, c);
#endif
}
/** cvt.pack.sat.u4.s32.b32 d, a, b, c (sm_75+). */
SVDQ_ARCH_FN uint32_t cvt_pack_sat_u4_step(int a, int b, uint32_t c) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm("cvt.pack.sat.u4.s32.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
#else
  return isa::cvt_pack_sat_u4(a, b, c);
#endif
}
/** cvt.pack.sat.s8.s32.b32 d, a, b, c: d = c << 16 | sat(a) << 8 | sat(b) (sm_75+). */
SVDQ_ARCH_FN uint32_t cvt_pack_sat_s8_step(int a, int b, uint32_t c) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm("cvt.pack.sat.s8.s32.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(c));
  return d;
#else
  return isa::cvt_pack_sat_s8(a, b, c);
#endif
}

/** Eight ints saturated to s4, v0 in nibble 0 (bits 3:0) … v7 in nibble 7 — the MMA register order. */
SVDQ_ARCH_FN uint32_t cvt_pack_sat_s4(int v0, int v1, int v2, int v3, int v4, int v5, int v6, int v7) {
  uint32_t r = cvt_pack_sat_s4_step(v7, v6, 0u);
  r = cvt_pack_sat_s4_step(v5, v4, r);
  r = cvt_pack_sat_s4_step(v3, v2, r);
  return cvt_pack_sat_s4_step(v1, v0, r);
}
SVDQ_ARCH_FN uint32_t cvt_pack_sat_u4(int v0, int v1, int v2, int v3, int v4, int v5, int v6, int v7) {
  uint32_t r = cvt_pack_sat_u4_step(v7, v6, 0u);
  r = cvt_pack_sat_u4_step(v5, v4, r);
  r = cvt_pack_sat_u4_step(v3, v2, r);
  return cvt_pack_sat_u4_step(v1, v0, r);
}
/** Four ints saturated to s8, v0 in byte 0. */
SVDQ_ARCH_FN uint32_t cvt_pack_sat_s8(int v0, int v1, int v2, int v3) {
  return cvt_pack_sat_s8_step(v1, v0, cvt_pack_sat_s8_step(v3, v2, 0u));
}

/** cvt.rn.f16x2.f32 d, hi, lo: hi -> d[31:16], lo -> d[15:0] (sm_80). */
SVDQ_ARCH_FN uint32_t cvt_rn_f16x2(float hi, float lo) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
#else
  return (static_cast<uint32_t>(isa::f16_from_f32_rn(hi)) << 16) | isa::f16_from_f32_rn(lo);
#endif
}
/** cvt.rn.bf16x2.f32 d, hi, lo (sm_80). */
SVDQ_ARCH_FN uint32_t cvt_rn_bf16x2(float hi, float lo) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
#else
  return (static_cast<uint32_t>(isa::bf16_from_f32_rn(hi)) << 16) | isa::bf16_from_f32_rn(lo);
#endif
}

/**
 * cvt.rn.satfinite.e4m3x2.f32 d, hi, lo: hi -> d[15:8], lo -> d[7:0] (sm_89+). Positive inputs give ue4m3
 * scale codes. A template only so that using it on an older target is a compile error, not merely including it.
 */
template <int kUnused = 0>
SVDQ_ARCH_FN uint16_t cvt_e4m3x2_satfinite(float hi, float lo) {
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 890
  uint16_t d;
  asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(d) : "f"(hi), "f"(lo));
  return d;
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "cvt.rn.satfinite.e4m3x2.f32 requires sm_89 or newer");
  return 0;
#endif
#else
  return static_cast<uint16_t>((isa::e4m3_from_f32_satfinite(hi) << 8) | isa::e4m3_from_f32_satfinite(lo));
#endif
}

/** cvt.rn.satfinite.e2m1x2.f32 d, hi, lo: hi -> d[7:4], lo -> d[3:0] (sm_100a/sm_120a and their families). */
template <int kUnused = 0>
SVDQ_ARCH_FN uint32_t cvt_e2m1x2(float hi, float lo) {
#if defined(__CUDA_ARCH__)
#if defined(SVDQ_HAS_CVT_E2M1)
  uint32_t d;
  asm("{\n .reg .b8 t;\n cvt.rn.satfinite.e2m1x2.f32 t, %1, %2;\n cvt.u32.u8 %0, t;\n}" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "cvt.rn.satfinite.e2m1x2.f32 requires an sm_100a/sm_120a family target (compute_120a)");
  return 0;
#endif
#else
  return (static_cast<uint32_t>(isa::e2m1_from_f32_satfinite(hi)) << 4) | isa::e2m1_from_f32_satfinite(lo);
#endif
}

/**
 * ue8m0 code of a float given by its bits, rounded up (smallest 2^(c-127) >= x): x <= 2^-127 (and x <= 0)
 * -> 0x00, x > 2^127 or +Inf -> 0xFE (satfinite), NaN -> 0xFF. Integer code, identical on host and device.
 */
SVDQ_ARCH_HD uint32_t ue8m0_rp_from_bits(uint32_t u) {
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return 0xFFu;  // NaN
  if ((u >> 31) != 0 || u == 0) return 0u;            // x <= 0
  if (u >= 0x7F800000u) return 0xFEu;                 // +Inf
  const uint32_t e = u >> 23, m = u & 0x7FFFFFu;
  if (e == 0) return m > (1u << 22) ? 1u : 0u;  // subnormal: (0, 2^-127] -> 0x00, (2^-127, 2^-126) -> 0x01
  const uint32_t code = e + (m != 0 ? 1u : 0u);
  return code > 0xFEu ? 0xFEu : code;
}

/** ue8m0 block scale of a float, rounded up (the MX scale rule). */
SVDQ_ARCH_FN uint32_t ue8m0_from_f32_rp(float x) {
#if defined(__CUDA_ARCH__)
  return ue8m0_rp_from_bits(__float_as_uint(x));
#else
  return isa::ue8m0_from_f32_rp(x);
#endif
}

}  // namespace svdq::arch
