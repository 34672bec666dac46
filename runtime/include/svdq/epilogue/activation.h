// silu and gelu (tanh form) in fp32 on the SFU approximations (docs/numerics.md epilogue 3 allows them;
// the emulator twins in arch/sfu.h document the error the tests' tolerance covers).
#pragma once
#include "context.h"

namespace svdq::epilogue {

__device__ __forceinline__ float silu(float x) {
  // x · sigmoid(x) = x / (1 + 2^(-x·log2 e))
  const float e = arch::ex2_approx(__fmul_rn(x, -1.4426950408889634f));
  return __fmul_rn(x, arch::rcp_approx(__fadd_rn(1.0f, e)));
}

__device__ __forceinline__ float gelu(float x) {
  // 0.5·x·(1 + tanh(0.7978845608·(x + 0.044715·x³)))
  const float x3 = __fmul_rn(__fmul_rn(x, x), x);
  const float inner = __fmul_rn(0.7978845608f, __fmaf_rn(0.044715f, x3, x));
  return __fmul_rn(__fmul_rn(0.5f, x), __fadd_rn(1.0f, arch::tanh_approx(inner)));
}

struct SiluOp {
  static __device__ __forceinline__ float eval(float x) { return silu(x); }
};
struct GeluOp {
  static __device__ __forceinline__ float eval(float x) { return gelu(x); }
};

// Applies Op to every value of the warp's output tile.
template <class Cfg, class Op>
struct Elementwise {
  static __device__ __forceinline__ void apply(const Context<Cfg>&, Tile<Cfg>& y) {
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j)
#pragma unroll
        for (int e = 0; e < 8; ++e) y.v[i][j][e] = Op::eval(y.v[i][j][e]);
  }
};

template <class Cfg>
using Silu = Elementwise<Cfg, SiluOp>;
template <class Cfg>
using Gelu = Elementwise<Cfg, GeluOp>;

}  // namespace svdq::epilogue
