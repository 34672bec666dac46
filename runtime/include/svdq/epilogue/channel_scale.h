// cscale: y = y · f32(wcscales[n]) with one fp32 rounding (__fmul_rn), the first epilogue step — the
// per-channel NVFP4 output scale of Nunchaku checkpoints (`wcscales`), applied, as upstream's
// EpilogueBias<…, USE_SCALE> does, to the 4-bit product only: before bias and before the low-rank
// branch (docs/numerics.md epilogue 0; mirrored by runtime/reference/layer.ts).
#pragma once
#include "context.h"

namespace svdq::epilogue {

template <class Cfg>
struct ChannelScale {
  static __device__ __forceinline__ void apply(const Context<Cfg>& c, Tile<Cfg>& y) {
    using H = typename Cfg::Half;
    const uint32_t* wcs = static_cast<const uint32_t*>(c.args->wcscales);  // column pairs, layer dtype
    if (wcs == nullptr) return;  // no scales given: all 1, y unchanged (exact)
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      const int nt = c.warp_nt0 + j;
      const bool ok = nt < c.ntiles;
      const uint32_t s0 = ldg_pred(wcs + (ok ? nt * 8 + c.t : 0), ok, 0u);      // cols 2t, 2t+1
      const uint32_t s1 = ldg_pred(wcs + (ok ? nt * 8 + 4 + c.t : 0), ok, 0u);  // cols 8+2t, 9+2t
      const float s[4] = {lo_f32<H>(s0), hi_f32<H>(s0), lo_f32<H>(s1), hi_f32<H>(s1)};
#pragma unroll
      for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
        for (int e = 0; e < 8; ++e) y.v[i][j][e] = __fmul_rn(y.v[i][j][e], s[(e & 1) + 2 * (e >> 2)]);
    }
  }
};

}  // namespace svdq::epilogue
