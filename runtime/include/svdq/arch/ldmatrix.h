// ldmatrix (x1/x2/x4, .trans) and movmatrix (ptx-fragments.md §5), sm_75+. `smem_row` is this lane's
// row address: lanes 0–7 address matrix 0's rows, 8–15 matrix 1's, … (x1 uses lanes 0–7, x2 0–15; the
// others' addresses are ignored but must still be valid pointers on sm_75, so pass a real row). Each row
// is 16 bytes, 16-byte aligned. Emulator twin: runtime/emu/isa/ldmatrix.h over one warp_exchange.
#pragma once
#include "../../../emu/isa/ldmatrix.h"
#include "detail.h"

namespace svdq::arch {

#if defined(SVDQ_EMU)
namespace ldmatrix_detail {
template <int N, bool TRANS>
inline void run(uint32_t (&d)[N], const void* smem_row, const char* what) {
  const int lane = emu::lane_id();
  if (lane < 8 * N) {  // the lanes whose address is used: check and account their 16-byte row
    if (reinterpret_cast<std::uintptr_t>(smem_row) % 16 != 0)
      emu_detail::undefined_behaviour(what, "row address of lane " + std::to_string(lane) + " is not 16-byte aligned");
    emu::on_shared_load(smem_row, 16, what);
  }
  const void* const* rows = emu::warp_exchange(0xFFFFFFFFu, smem_row, what);
  isa::ldmatrix_lane<N, TRANS>(lane, rows, d);
  emu::count(what);
}
}  // namespace ldmatrix_detail
#endif

SVDQ_ARCH_FN void ldmatrix_x1(uint32_t (&d)[1], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];\n"
               : "=r"(d[0]) : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<1, false>(d, smem_row, "ldmatrix.x1");
#endif
}
SVDQ_ARCH_FN void ldmatrix_x2(uint32_t (&d)[2], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(d[0]), "=r"(d[1]) : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<2, false>(d, smem_row, "ldmatrix.x2");
#endif
}
SVDQ_ARCH_FN void ldmatrix_x4(uint32_t (&d)[4], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<4, false>(d, smem_row, "ldmatrix.x4");
#endif
}
SVDQ_ARCH_FN void ldmatrix_x1_trans(uint32_t (&d)[1], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16 {%0}, [%1];\n"
               : "=r"(d[0]) : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<1, true>(d, smem_row, "ldmatrix.x1.trans");
#endif
}
SVDQ_ARCH_FN void ldmatrix_x2_trans(uint32_t (&d)[2], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];\n"
               : "=r"(d[0]), "=r"(d[1]) : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<2, true>(d, smem_row, "ldmatrix.x2.trans");
#endif
}
SVDQ_ARCH_FN void ldmatrix_x4_trans(uint32_t (&d)[4], const void* smem_row) {
#if defined(__CUDA_ARCH__)
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
               : "r"(static_cast<unsigned>(__cvta_generic_to_shared(smem_row))));
#elif defined(SVDQ_EMU)
  ldmatrix_detail::run<4, true>(d, smem_row, "ldmatrix.x4.trans");
#endif
}

/** movmatrix.sync.aligned.m8n8.trans.b16: transposes the warp's 8×8 b16 fragment (sm_75+, PTX 7.8). */
SVDQ_ARCH_FN uint32_t movmatrix_trans(uint32_t x) {
#if defined(__CUDA_ARCH__)
  uint32_t d;
  asm volatile("movmatrix.sync.aligned.m8n8.trans.b16 %0, %1;\n" : "=r"(d) : "r"(x));
  return d;
#elif defined(SVDQ_EMU)
  const uint32_t* all = emu::warp_exchange(0xFFFFFFFFu, x, "movmatrix.trans");
  emu::count("movmatrix.trans");
  return isa::movmatrix_trans_lane(emu::lane_id(), all);
#else
  return x;
#endif
}

}  // namespace svdq::arch
