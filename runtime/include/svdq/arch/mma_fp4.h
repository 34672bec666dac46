// Block-scaled FP4 warp MMA for sm_120a / sm_120f (ptx-fragments.md §4); CUDA 13.0 = PTX 9.0, so only
// the two forms available there (§4.2: scale_vec::4X with ue8m0 needs CUDA 13.1 and is not offered):
//   mma_m16n8k64_nvf4: kind::mxf4nvf4 .block_scale.scale_vec::4X … .ue4m3 (NVFP4, blocks of 16)
//   mma_m16n8k64_mxf4: kind::mxf4     .block_scale.scale_vec::2X … .ue8m0 (MXFP4, blocks of 32)
// Operands: A/B e2m1 in the §1 m16n8k64 layout; scale registers and byte/thread selectors per the §4.4
// table. Emulator twin: runtime/emu/isa/mma_fp4.h (block partials exact; documented summation order).
#pragma once
#include "../../../emu/isa/mma_fp4.h"
#include "detail.h"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FAMILY_SPECIFIC__) && \
    (__CUDA_ARCH_FAMILY_SPECIFIC__ == 1200 || __CUDA_ARCH_FAMILY_SPECIFIC__ == 1210)
#define SVDQ_HAS_MMA_FP4 1
#endif

namespace svdq::arch {

#if defined(SVDQ_EMU)
namespace mma_fp4_detail {
template <isa::Fp4Scale S>
inline void run(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4], uint32_t sfa,
                uint16_t bida, uint16_t tida, uint32_t sfb, uint16_t bidb, uint16_t tidb, const char* what) {
  const bool four = S == isa::Fp4Scale::UE4M3_4X;
  // Table 37 (§4.4): 4X byte-ids must be 0; 2X byte-ids 0 or 2; thread-id-a 0..1, thread-id-b 0..3.
  if (four ? (bida != 0 || bidb != 0) : ((bida != 0 && bida != 2) || (bidb != 0 && bidb != 2)) || tida > 1 || tidb > 3)
    emu_detail::undefined_behaviour(what, "byte-id/thread-id outside PTX Table 37");
  const isa::Fp4Frag mine{{a[0], a[1], a[2], a[3]}, {b[0], b[1]}, sfa, sfb, bida, tida, bidb, tidb};
  const isa::Fp4Frag* all = emu::warp_exchange(0xFFFFFFFFu, mine, what);
  for (int l = 0; l < 32; ++l)
    if (all[l].bida != bida || all[l].tida != tida || all[l].bidb != bidb || all[l].tidb != tidb)
      emu_detail::undefined_behaviour(what, "byte-id/thread-id differ between lanes");
  isa::mma_m16n8k64_fp4_lane<S>(emu::lane_id(), all, mine, c, d);
  emu::count(what);
}
}  // namespace mma_fp4_detail
#endif

/** NVFP4: D = (A·SFA)(B·SFB) + C, 16×8×64 e2m1, ue4m3 scales per 16 k. d may alias c. */
template <int kUnused = 0>
SVDQ_ARCH_FN void mma_m16n8k64_nvf4(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4],
                                    uint32_t sfa, uint16_t bida, uint16_t tida, uint32_t sfb, uint16_t bidb, uint16_t tidb) {
#if defined(__CUDA_ARCH__)
#if defined(SVDQ_HAS_MMA_FP4)
  asm volatile(
      "mma.sync.aligned.kind::mxf4nvf4.block_scale.scale_vec::4X.m16n8k64.row.col.f32.e2m1.e2m1.f32.ue4m3 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13}, {%14}, {%15,%16}, {%17}, {%18,%19};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]),
        "r"(sfa), "h"(bida), "h"(tida), "r"(sfb), "h"(bidb), "h"(tidb));
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "block-scaled FP4 mma.sync needs an sm_120 family target: -gencode arch=compute_120a,code=sm_120a (ptx-fragments.md section 4.2)");
#endif
#elif defined(SVDQ_EMU)
  mma_fp4_detail::run<isa::Fp4Scale::UE4M3_4X>(d, a, b, c, sfa, bida, tida, sfb, bidb, tidb,
                                                "mma.m16n8k64.mxf4nvf4.4X.ue4m3");
#endif
}

/** MXFP4: D = (A·SFA)(B·SFB) + C, 16×8×64 e2m1, ue8m0 scales per 32 k (byte-ids 0 or 2). d may alias c. */
template <int kUnused = 0>
SVDQ_ARCH_FN void mma_m16n8k64_mxf4(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], const float (&c)[4],
                                    uint32_t sfa, uint16_t bida, uint16_t tida, uint32_t sfb, uint16_t bidb, uint16_t tidb) {
#if defined(__CUDA_ARCH__)
#if defined(SVDQ_HAS_MMA_FP4)
  asm volatile(
      "mma.sync.aligned.kind::mxf4.block_scale.scale_vec::2X.m16n8k64.row.col.f32.e2m1.e2m1.f32.ue8m0 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13}, {%14}, {%15,%16}, {%17}, {%18,%19};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]),
        "r"(sfa), "h"(bida), "h"(tida), "r"(sfb), "h"(bidb), "h"(tidb));
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "block-scaled FP4 mma.sync needs an sm_120 family target: -gencode arch=compute_120a,code=sm_120a (ptx-fragments.md section 4.2)");
#endif
#elif defined(SVDQ_EMU)
  mma_fp4_detail::run<isa::Fp4Scale::UE8M0_2X>(d, a, b, c, sfa, bida, tida, sfb, bidb, tidb,
                                                "mma.m16n8k64.mxf4.2X.ue8m0");
#endif
}

}  // namespace svdq::arch
