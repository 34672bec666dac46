// mma.sync.aligned.m16n8k16.row.col.f32.{f16|bf16}.{f16|bf16}.f32 (ptx-fragments.md §3), sm_80+;
// on sm_75 (f16 only) the k16 product is two mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32.
// Emulator twin: runtime/emu/isa/mma_fp.h — exact layout; accumulation order chosen and documented
// there (products exact, sum in binary64 in the order C, k = 0..15, one rounding to binary32) because
// PTX leaves it unspecified; kernel tests use the tolerance of docs/emulator-isa.md.
#pragma once
#include "../../../emu/isa/mma_fp.h"
#include "detail.h"

namespace svdq::arch {

enum FpType { F16, BF16 };

/** D = A·B + C, 16×8×16, f16 or bf16 inputs (A row, B col), f32 accumulate. d may alias c. */
template <FpType T>
SVDQ_ARCH_FN void mma_m16n8k16_f32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4]) {
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  if constexpr (T == F16) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
  }
#elif __CUDA_ARCH__ >= 750
  // Turing: m16n8k8 f16 (PTX, sm_75+) has A = 2 regs {(g, k 2t..2t+1), (g+8, k 2t..2t+1)} and B = 1 reg
  // (k 2t..2t+1, n g). The k16 A regs (ptx-fragments.md §3) are reg0 = (g, 2t), reg1 = (g+8, 2t),
  // reg2 = (g, 8+2t), reg3 = (g+8, 8+2t) and B reg0 = k 2t, reg1 = k 8+2t, so k 0..7 is {reg0, reg1}·b0
  // and k 8..15 is {reg2, reg3}·b1. Two roundings instead of one: docs/emulator-isa.md.
  // Early-clobber outputs: the second MMA reads a[2], a[3], b[1] after the first has written d.
  static_assert(T == F16, "sm_75 has no bf16 tensor cores (mma.m16n8k8 f16 only)");
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%7,%8,%9,%10};\n"
      "mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%11,%12}, {%13}, {%0,%1,%2,%3};\n"
      : "=&f"(d[0]), "=&f"(d[1]), "=&f"(d[2]), "=&f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(b[0]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]), "r"(a[2]), "r"(a[3]), "r"(b[1]));
#else
  SVDQ_ARCH_UNSUPPORTED(T, "mma.m16n8k16 f16/bf16 with f32 accumulation requires sm_80 or newer (sm_75: f16 only, as two m16n8k8; ptx-fragments.md section 3)");
#endif
#elif defined(SVDQ_EMU)
  const isa::IntFrag16x8 mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  const isa::IntFrag16x8* all = emu::warp_exchange(0xFFFFFFFFu, mine, "mma.sync.m16n8k16");
  constexpr isa::Fp16Kind kKind = T == F16 ? isa::Fp16Kind::F16 : isa::Fp16Kind::BF16;
  isa::mma_m16n8k16_f32_lane<kKind>(emu::lane_id(), all, c, d);
  emu::count(T == F16 ? "mma.m16n8k16.f32.f16.f16.f32" : "mma.m16n8k16.f32.bf16.bf16.f32");
#endif
}

}  // namespace svdq::arch
