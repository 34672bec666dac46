// bias: y += f32(bias[n]) (docs/numerics.md epilogue 1). For u4 activations the shift correction
// already lives in this vector (packed in by the weight packer).
#pragma once
#include "context.h"

namespace svdq::epilogue {

template <class Cfg>
struct Bias {
  static __device__ __forceinline__ void apply(const Context<Cfg>& c, Tile<Cfg>& y) {
    using H = typename Cfg::Half;
    const uint32_t* bias = static_cast<const uint32_t*>(c.args->bias);  // column pairs
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      const int nt = c.warp_nt0 + j;
      const bool ok = nt < c.ntiles;
      const uint32_t b0 = ldg_pred(bias + (ok ? nt * 8 + c.t : 0), ok, 0u);      // cols 2t, 2t+1
      const uint32_t b1 = ldg_pred(bias + (ok ? nt * 8 + 4 + c.t : 0), ok, 0u);  // cols 8+2t, 9+2t
      const float b[4] = {lo_f32<H>(b0), hi_f32<H>(b0), lo_f32<H>(b1), hi_f32<H>(b1)};
#pragma unroll
      for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
        for (int e = 0; e < 8; ++e) y.v[i][j][e] = __fadd_rn(y.v[i][j][e], b[(e & 1) + 2 * (e >> 2)]);
    }
  }
};

}  // namespace svdq::epilogue
