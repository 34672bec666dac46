// The main loop: K in k-blocks of KSTEPS k64 steps, software-pipelined STAGES deep. The steady loop runs
// only over iterations whose every load and step lies inside K; its body is unrolled over the ring, so
// every slot index, step offset and scale group is static and no step has an `if`. The K tail is
// peeled: two more iterations of the same body with guards (steps past K are neither loaded nor
// computed). Two stagings (operands.h).
#pragma once
#include "operands.h"

namespace svdq::gemm {

/** Steady iterations of U units (k64 steps or k-blocks) when P units are loaded ahead of the compute. */
__device__ __forceinline__ int steady_iterations(int total, int P, int U) { return total >= P + U ? (total - P) / U : 0; }

/**
 * Register staging, one ring's worth (U = STAGES·KSTEPS steps from the cursor's base kt0): for each slot
 * s, refill the slot freed by the previous k-block with the steps P = (STAGES-1)·KSTEPS ahead, then
 * compute slot s. GUARD: the tail, where steps at or past k64 are skipped.
 */
template <class Cfg, bool GUARD>
__device__ __forceinline__ void registers_iteration(Accumulator<Cfg>& acc, StepFrags<Cfg> (&ring)[Cfg::STAGES][Cfg::KSTEPS],
                                                    const RegCursor<Cfg>& cur, int kt0, int k64) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS, P = (S - 1) * KS;
#pragma unroll
  for (int s = 0; s < S; ++s) {
#pragma unroll
    for (int k = 0; k < KS; ++k)
      if (!GUARD || kt0 + P + s * KS + k < k64) cur.load(ring[(s + S - 1) % S][k], P + s * KS + k);
#pragma unroll
    for (int k = 0; k < KS; ++k)
      if (!GUARD || kt0 + s * KS + k < k64) compute_step<Cfg>(acc, ring[s][k], k);
  }
}

/** Register staging: a STAGES-deep ring of k-blocks of per-lane fragments; no shared memory, no barrier. */
template <class Cfg>
__device__ __forceinline__ void mainloop_registers(Accumulator<Cfg>& acc, const Operands& op, int warp_mt0,
                                                   int warp_nt0, int lane) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS, P = (S - 1) * KS, U = S * KS;
  RegCursor<Cfg> cur;
  cur.init(op, warp_mt0, warp_nt0, lane);
  StepFrags<Cfg> ring[S][KS];
#pragma unroll
  for (int x = 0; x < P; ++x)
    if (x < op.k64) cur.load(ring[x / KS][x % KS], x);
  const int iterations = steady_iterations(op.k64, P, U);
  int kt0 = 0;
#pragma unroll 1
  for (int it = 0; it < iterations; ++it) {  // every load and step of the iteration inside K
    registers_iteration<Cfg, false>(acc, ring, cur, kt0, op.k64);
    cur.template advance<U>();
    kt0 += U;
  }
  registers_iteration<Cfg, true>(acc, ring, cur, kt0, op.k64);
  cur.template advance<U>();
  kt0 += U;
  registers_iteration<Cfg, true>(acc, ring, cur, kt0, op.k64);
}

/**
 * Shared-memory staging, one ring's worth (STAGES k-blocks from kb0): per k-block, wait for it, one
 * barrier (it has landed for every thread, and every warp is done with the slot about to be refilled),
 * copy the k-block STAGES-1 ahead, compute. GUARD: the tail.
 */
template <class Cfg, bool GUARD>
__device__ __forceinline__ void shared_iteration(Accumulator<Cfg>& acc, const CopyPlan<Cfg>& cp, unsigned char* smem,
                                                 int kb0, int k64, int blocks, int warp_m, int warp_n, int tid,
                                                 int lane) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS;
  StepFrags<Cfg> f;
#pragma unroll
  for (int s = 0; s < S; ++s) {
    const int kb = kb0 + s;
    if (GUARD && kb >= blocks) return;
    if constexpr (S == 1) {
      __syncthreads();  // every warp is done reading the previous k-block
      cp.template copy<GUARD>(smem, s, kb, k64, tid);
      arch::cp_async_commit();
      arch::cp_async_wait<0>();
      __syncthreads();
    } else {
      arch::cp_async_wait<S - 2>();  // k-block kb has landed (this thread's copies)
      __syncthreads();               // … everyone's, and every warp is done with k-block kb-1's slot
      if (!GUARD || kb + S - 1 < blocks)
        cp.template copy<GUARD>(smem + ((s + S - 1) % S) * Cfg::STAGE_BYTES, s + S - 1, kb + S - 1, k64, tid);
      arch::cp_async_commit();
    }
    const unsigned char* stage = smem + s * Cfg::STAGE_BYTES;
#pragma unroll
    for (int k = 0; k < KS; ++k)
      if (!GUARD || kb * KS + k < k64) {
        load_step_shared<Cfg>(f, stage, k, warp_m, warp_n, lane);
        compute_step<Cfg>(acc, f, k);
      }
  }
}

/** Shared-memory staging: cp.async into a STAGES-deep ring; one commit group and one barrier per k-block. */
template <class Cfg>
__device__ __forceinline__ void mainloop_shared(Accumulator<Cfg>& acc, const Operands& op, unsigned char* smem,
                                                int block_mt0, int block_nt0, int warp_m, int warp_n, int tid,
                                                int lane) {
  constexpr int S = Cfg::STAGES, KS = Cfg::KSTEPS;
  const int blocks = (op.k64 + KS - 1) / KS;
  const int full = op.k64 / KS;  // k-blocks with every step inside K
  CopyPlan<Cfg> cp;
  cp.init(op, block_mt0, block_nt0, tid);
  if constexpr (S > 1) {
#pragma unroll
    for (int s = 0; s < S - 1; ++s) {
      if (s < blocks) cp.template copy<true>(smem + s * Cfg::STAGE_BYTES, s, s, op.k64, tid);
      arch::cp_async_commit();
    }
  }
  const int iterations = steady_iterations(full, S - 1, S);
  int kb0 = 0;
#pragma unroll 1
  for (int it = 0; it < iterations; ++it) {
    shared_iteration<Cfg, false>(acc, cp, smem, kb0, op.k64, blocks, warp_m, warp_n, tid, lane);
    cp.advance(S);
    kb0 += S;
  }
  shared_iteration<Cfg, true>(acc, cp, smem, kb0, op.k64, blocks, warp_m, warp_n, tid, lane);
  cp.advance(S);
  shared_iteration<Cfg, true>(acc, cp, smem, kb0 + S, op.k64, blocks, warp_m, warp_n, tid, lane);
  arch::cp_async_wait<0>();
  __syncthreads();  // the epilogue may reuse the ring
}

}  // namespace svdq::gemm
