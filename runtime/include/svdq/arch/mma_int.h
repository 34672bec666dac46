// Integer warp MMA: mma.sync m16n8k64 s4/u4 (§1), m16n8k32 s8/u8 (§2) — sm_80+ — and the Turing
// m8n8k32 s4/u4 (sm_75+, PTX `#warp-level-matrix-fragment-mma-8832`), each with and without .satfinite
// (sections of ../shared/reference/ptx-fragments.md). Emulator twin: runtime/emu/isa/mma_int.h.
#pragma once
#include "../../../emu/isa/mma_int.h"
#include "detail.h"

namespace svdq::arch {

enum IntType { S4, U4, S8, U8 };

namespace mma_int_detail {
// Lower-case aliases so the dispatch macro can stringify PTX type names.
constexpr IntType s4 = S4, u4 = U4, s8 = S8, u8 = U8;
template <IntType T>
inline constexpr bool kIs4 = T == S4 || T == U4;
template <IntType T>
inline constexpr bool kIs8 = T == S8 || T == U8;
// Counter names (one literal per variant so the engine can key by address).
template <IntType A, IntType B, bool SAT>
constexpr const char* k64_name() {
  if constexpr (SAT) {
    return A == S4 ? (B == S4 ? "mma.m16n8k64.satfinite.s4.s4" : "mma.m16n8k64.satfinite.s4.u4")
                   : (B == S4 ? "mma.m16n8k64.satfinite.u4.s4" : "mma.m16n8k64.satfinite.u4.u4");
  } else {
    return A == S4 ? (B == S4 ? "mma.m16n8k64.s4.s4" : "mma.m16n8k64.s4.u4")
                   : (B == S4 ? "mma.m16n8k64.u4.s4" : "mma.m16n8k64.u4.u4");
  }
}
template <IntType A, IntType B, bool SAT>
constexpr const char* k32_name() {
  if constexpr (SAT) {
    return A == S8 ? (B == S8 ? "mma.m16n8k32.satfinite.s8.s8" : "mma.m16n8k32.satfinite.s8.u8")
                   : (B == S8 ? "mma.m16n8k32.satfinite.u8.s8" : "mma.m16n8k32.satfinite.u8.u8");
  } else {
    return A == S8 ? (B == S8 ? "mma.m16n8k32.s8.s8" : "mma.m16n8k32.s8.u8")
                   : (B == S8 ? "mma.m16n8k32.u8.s8" : "mma.m16n8k32.u8.u8");
  }
}
template <IntType A, IntType B, bool SAT>
constexpr const char* m8_name() {
  if constexpr (SAT) {
    return A == S4 ? (B == S4 ? "mma.m8n8k32.satfinite.s4.s4" : "mma.m8n8k32.satfinite.s4.u4")
                   : (B == S4 ? "mma.m8n8k32.satfinite.u4.s4" : "mma.m8n8k32.satfinite.u4.u4");
  } else {
    return A == S4 ? (B == S4 ? "mma.m8n8k32.s4.s4" : "mma.m8n8k32.s4.u4")
                   : (B == S4 ? "mma.m8n8k32.u4.s4" : "mma.m8n8k32.u4.u4");
  }
}
}  // namespace mma_int_detail

// PTX operand lists; SATQ is "" or ".satfinite" placed where the PTX grammar puts it (§1 note).
#define SVDQ_MMA_16x8(SHAPE, SATQ, AT, BT)                                                           \
  asm volatile("mma.sync.aligned." SHAPE ".row.col" SATQ ".s32." AT "." BT ".s32 "                   \
               "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"                         \
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])                                     \
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "r"(c[0]),       \
                 "r"(c[1]), "r"(c[2]), "r"(c[3]))
#define SVDQ_MMA_8x8(SATQ, AT, BT)                                                                   \
  asm volatile("mma.sync.aligned.m8n8k32.row.col" SATQ ".s32." AT "." BT ".s32 "                     \
               "{%0,%1}, {%2}, {%3}, {%4,%5};\n"                                                     \
               : "=r"(d[0]), "=r"(d[1])                                                              \
               : "r"(a), "r"(b), "r"(c[0]), "r"(c[1]))
// Expands the four signedness mixes × satfinite for one shape.
#define SVDQ_MMA_DISPATCH(EMIT, T0, T1, ...)                                                          \
  if constexpr (SAT) {                                                                               \
    if constexpr (AS == T0 && BS == T0) EMIT(__VA_ARGS__ ".satfinite", #T0, #T0);                    \
    else if constexpr (AS == T0 && BS == T1) EMIT(__VA_ARGS__ ".satfinite", #T0, #T1);               \
    else if constexpr (AS == T1 && BS == T0) EMIT(__VA_ARGS__ ".satfinite", #T1, #T0);               \
    else EMIT(__VA_ARGS__ ".satfinite", #T1, #T1);                                                   \
  } else {                                                                                           \
    if constexpr (AS == T0 && BS == T0) EMIT(__VA_ARGS__ "", #T0, #T0);                              \
    else if constexpr (AS == T0 && BS == T1) EMIT(__VA_ARGS__ "", #T0, #T1);                         \
    else if constexpr (AS == T1 && BS == T0) EMIT(__VA_ARGS__ "", #T1, #T0);                         \
    else EMIT(__VA_ARGS__ "", #T1, #T1);                                                             \
  }

/** D = A·B + C, 16×8×64, 4-bit A (row) and B (col), s32 accumulate (§1). d may alias c. */
template <IntType AS, IntType BS, bool SAT = false>
SVDQ_ARCH_FN void mma_m16n8k64(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const int (&c)[4]) {
  static_assert(mma_int_detail::kIs4<AS> && mma_int_detail::kIs4<BS>, "mma_m16n8k64 takes S4/U4 operands");
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  using namespace mma_int_detail;
#define SVDQ_EMIT(SATQ, AT, BT) SVDQ_MMA_16x8("m16n8k64", SATQ, AT, BT)
  SVDQ_MMA_DISPATCH(SVDQ_EMIT, s4, u4, )
#undef SVDQ_EMIT
#else
  SVDQ_ARCH_UNSUPPORTED(AS, "mma.m16n8k64 s4/u4 requires sm_80 or newer (ptx-fragments.md section 1)");
#endif
#elif defined(SVDQ_EMU)
  const isa::IntFrag16x8 mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  const isa::IntFrag16x8* all = emu::warp_exchange(0xFFFFFFFFu, mine, "mma.sync.m16n8k64");
  isa::mma_m16n8k64_int_lane<AS == S4, BS == S4, SAT>(emu::lane_id(), all, c, d);
  emu::count(mma_int_detail::k64_name<AS, BS, SAT>());
#endif
}

/** D = A·B + C, 16×8×32, 8-bit A and B, s32 accumulate (§2). d may alias c. */
template <IntType AS, IntType BS, bool SAT = false>
SVDQ_ARCH_FN void mma_m16n8k32(int (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const int (&c)[4]) {
  static_assert(mma_int_detail::kIs8<AS> && mma_int_detail::kIs8<BS>, "mma_m16n8k32 takes S8/U8 operands");
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  using namespace mma_int_detail;
#define SVDQ_EMIT(SATQ, AT, BT) SVDQ_MMA_16x8("m16n8k32", SATQ, AT, BT)
  SVDQ_MMA_DISPATCH(SVDQ_EMIT, s8, u8, )
#undef SVDQ_EMIT
#else
  SVDQ_ARCH_UNSUPPORTED(AS, "mma.m16n8k32 s8/u8 requires sm_80 or newer (ptx-fragments.md section 2)");
#endif
#elif defined(SVDQ_EMU)
  const isa::IntFrag16x8 mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}};
  const isa::IntFrag16x8* all = emu::warp_exchange(0xFFFFFFFFu, mine, "mma.sync.m16n8k32");
  isa::mma_m16n8k32_int_lane<AS == S8, BS == S8, SAT>(emu::lane_id(), all, c, d);
  emu::count(mma_int_detail::k32_name<AS, BS, SAT>());
#endif
}

/** D = A·B + C, 8×8×32, 4-bit A (one reg) and B (one reg), s32 accumulate (Turing sm_75+). */
template <IntType AS, IntType BS, bool SAT = false>
SVDQ_ARCH_FN void mma_m8n8k32(int (&d)[2], uint32_t a, uint32_t b, const int (&c)[2]) {
  static_assert(mma_int_detail::kIs4<AS> && mma_int_detail::kIs4<BS>, "mma_m8n8k32 takes S4/U4 operands");
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 750
  using namespace mma_int_detail;
  SVDQ_MMA_DISPATCH(SVDQ_MMA_8x8, s4, u4, )
#else
  SVDQ_ARCH_UNSUPPORTED(AS, "mma.m8n8k32 s4/u4 requires sm_75 or newer");
#endif
#elif defined(SVDQ_EMU)
  const isa::IntFrag8x8 mine{a, b};
  const isa::IntFrag8x8* all = emu::warp_exchange(0xFFFFFFFFu, mine, "mma.sync.m8n8k32");
  isa::mma_m8n8k32_int_lane<AS == S4, BS == S4, SAT>(emu::lane_id(), all, c, d);
  emu::count(mma_int_detail::m8_name<AS, BS, SAT>());
#endif
}

#undef SVDQ_MMA_16x8
#undef SVDQ_MMA_8x8
#undef SVDQ_MMA_DISPATCH

}  // namespace svdq::arch
