// What every epilogue functor sees: the run-time arguments, where this warp's tile sits, and the
// block's shared memory (the main loop's ring, free again once the main loop returns).
// Functors are `template <class Cfg> struct Op { static void apply(const Context<Cfg>&, Tile<Cfg>&); }`,
// composed by the generated kernel in the plan's order (docs/numerics.md "Epilogue").
#pragma once
#include "../gemm/config.h"
#include "../layer_args.h"

namespace svdq::epilogue {

template <class Cfg>
using Tile = WarpTile<Cfg::WTM, Cfg::WTN>;

template <class Cfg>
struct Context {
  const svdq_gemm_args_t* args;
  int M, N;
  int mtiles;    // Mp / 16: tiles with packed rows (rows in [M, Mp) exist in aq and lora_act)
  int ntiles;    // N / 16
  int warp_mt0;  // first 16-row tile of this warp (global)
  int warp_nt0;  // first 16-column tile of this warp (global)
  int warp_m, warp_n;
  int block_n;   // blockIdx along N: the slice index of a fused next-layer low-rank down
  int tid, lane, g, t;
  unsigned char* smem;
};

/** Output value before RN16: fp16 saturates to ±65504 (NaN stays NaN), bf16 is plain RNE. */
template <class H>
__device__ __forceinline__ float saturate_out(float y) {
  if constexpr (!Half16<H>::kIsBf16) {
    if (y > 65504.0f) return 65504.0f;
    if (y < -65504.0f) return -65504.0f;
  }
  return y;
}

/** RN16 of the output element pair (saturated like the stored Y). */
template <class H>
__device__ __forceinline__ uint32_t out_pair(float lo, float hi) {
  return pack_rn<H>(saturate_out<H>(lo), saturate_out<H>(hi));
}

}  // namespace svdq::epilogue
