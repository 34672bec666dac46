// The main loop: K in blocks of KSTEPS k64 steps, software-pipelined STAGES deep, with a tail for K not
// a multiple of blockK (steps past K are neither loaded nor computed). Two stagings (operands.h).
#pragma once
#include "operands.h"

namespace svdq::gemm {

/** Register staging: a STAGES-deep ring of per-lane fragments, unrolled so every slot index is static. */
template <class Cfg>
__device__ __forceinline__ void mainloop_registers(Accumulator<Cfg>& acc, const Operands& op, int warp_mt0,
                                                   int warp_nt0, int lane) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS;
  const int blocks = (op.k64 + KS - 1) / KS;
  StepFrags<Cfg> ring[S][KS];
#pragma unroll
  for (int s = 0; s < S - 1; ++s)
#pragma unroll
    for (int k = 0; k < KS; ++k) load_step_global<Cfg>(ring[s][k], op, warp_mt0, warp_nt0, s * KS + k, lane);
  for (int kb0 = 0; kb0 < blocks; kb0 += S) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      const int ahead = kb0 + s + S - 1;  // refill the slot freed by the previous block
#pragma unroll
      for (int k = 0; k < KS; ++k)
        load_step_global<Cfg>(ring[(s + S - 1) % S][k], op, warp_mt0, warp_nt0, ahead * KS + k, lane);
      const int kb = kb0 + s;
#pragma unroll
      for (int k = 0; k < KS; ++k)
        if (kb * KS + k < op.k64) compute_step<Cfg>(acc, ring[s][k], kb * KS + k);
    }
  }
}

/** Shared-memory staging: cp.async into a STAGES-deep ring; one commit group per block. */
template <class Cfg>
__device__ __forceinline__ void mainloop_shared(Accumulator<Cfg>& acc, const Operands& op, unsigned char* smem,
                                                int block_mt0, int block_nt0, int warp_m, int warp_n, int tid,
                                                int lane) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS;
  const int blocks = (op.k64 + KS - 1) / KS;
  StepFrags<Cfg> f;
  if constexpr (S == 1) {
    for (int kb = 0; kb < blocks; ++kb) {
      __syncthreads();  // every warp is done reading the previous block
      copy_block_async<Cfg>(smem, op, block_mt0, block_nt0, kb, tid);
      arch::cp_async_commit();
      arch::cp_async_wait<0>();
      __syncthreads();
#pragma unroll
      for (int k = 0; k < KS; ++k)
        if (kb * KS + k < op.k64) {
          load_step_shared<Cfg>(f, smem, k, warp_m, warp_n, lane);
          compute_step<Cfg>(acc, f, kb * KS + k);
        }
    }
  } else {
#pragma unroll
    for (int s = 0; s < S - 1; ++s) {
      if (s < blocks) copy_block_async<Cfg>(smem + s * Cfg::STAGE_BYTES, op, block_mt0, block_nt0, s, tid);
      arch::cp_async_commit();
    }
    for (int kb = 0; kb < blocks; ++kb) {
      arch::cp_async_wait<S - 2>();  // block kb has landed (this thread's copies)
      __syncthreads();               // … everyone's, and every warp is done with block kb-1's slot
      const int ahead = kb + S - 1;
      if (ahead < blocks)
        copy_block_async<Cfg>(smem + (ahead % S) * Cfg::STAGE_BYTES, op, block_mt0, block_nt0, ahead, tid);
      arch::cp_async_commit();
      const unsigned char* stage = smem + (kb % S) * Cfg::STAGE_BYTES;
#pragma unroll
      for (int k = 0; k < KS; ++k)
        if (kb * KS + k < op.k64) {
          load_step_shared<Cfg>(f, stage, k, warp_m, warp_n, lane);
          compute_step<Cfg>(acc, f, kb * KS + k);
        }
    }
    arch::cp_async_wait<0>();
  }
  __syncthreads();  // the epilogue may reuse the ring
}

}  // namespace svdq::gemm
