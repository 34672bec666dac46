// The per-block pieces the generated kernel composes: where this block and warp sit (the epilogue
// context), and the main loop for the configured staging. The kernel itself is in templates/gemm.cu.hbs:
//   ctx = block_context → acc = run_mainloop → y = to_f32(acc) → each epilogue functor in the plan's order.
#pragma once
#include "../epilogue/context.h"
#include "mainloop.h"

namespace svdq::gemm {

/** Grid: x along N (blockN columns), y along M (blockM rows). */
template <class Cfg>
__device__ __forceinline__ epilogue::Context<Cfg> block_context(const svdq_gemm_args_t& args, unsigned char* smem) {
  epilogue::Context<Cfg> c;
  c.args = &args;
  c.M = args.M;
  c.N = args.N;
  c.mtiles = (args.M + 15) / 16;
  c.ntiles = args.N / 16;
  c.tid = threadIdx.x;
  c.lane = c.tid & 31;
  c.g = c.lane >> 2;
  c.t = c.lane & 3;
  const int warp = c.tid >> 5;
  c.warp_m = warp / Cfg::WARPS_N;
  c.warp_n = warp % Cfg::WARPS_N;
  c.block_n = blockIdx.x;
  c.warp_mt0 = blockIdx.y * Cfg::BTM + c.warp_m * Cfg::WTM;
  c.warp_nt0 = blockIdx.x * Cfg::BTN + c.warp_n * Cfg::WTN;
  c.smem = smem;
  return c;
}

template <class Cfg>
__device__ __forceinline__ void run_mainloop(Accumulator<Cfg>& acc, const epilogue::Context<Cfg>& c) {
  const svdq_gemm_args_t& a = *c.args;
  Operands op;
  op.aq = static_cast<const uint4*>(a.aq);
  op.wq = static_cast<const uint4*>(a.wq);
  op.ascales = static_cast<const uint32_t*>(a.ascales);
  op.wscales = static_cast<const uint2*>(a.wscales);
  op.k64 = static_cast<int>(static_cast<unsigned>(a.K) >> 6);  // K > 0, a multiple of 64 (validate_args)
  op.groups = a.K / Cfg::GROUP;
  op.mtiles = c.mtiles;
  op.ntiles = c.ntiles;
  clear<Cfg>(acc);
  if constexpr (Cfg::STAGING == Staging::Reg) {
    mainloop_registers<Cfg>(acc, op, c.warp_mt0, c.warp_nt0, c.lane);
  } else {
    mainloop_shared<Cfg>(acc, op, c.smem, blockIdx.y * Cfg::BTM, blockIdx.x * Cfg::BTN, c.warp_m, c.warp_n, c.tid,
                         c.lane);
  }
  if constexpr (Cfg::MMA == Mma::Nvf4) {  // the per-tensor scale product, one fp32 rounding (docs/numerics.md)
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j)
#pragma unroll
        for (int e = 0; e < 8; ++e) acc.v[i][j][e] = __fmul_rn(acc.v[i][j][e], a.alpha);
  }
}

}  // namespace svdq::gemm
