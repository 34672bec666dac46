// Where a warp's step fragments come from. Two stagings, same fragments:
//  * registers: each lane loads its own 16-byte code fragments and its scales straight from global
//    memory (the packed layouts are already in fragment order, docs/layouts.md);
//  * shared memory: the block copies whole 512-byte tiles and 32-byte scale chunks with cp.async
//    (zero-filled past M, N and K), then each warp reads its fragments; a warp reads 512 contiguous
//    bytes per tile, 16 B per lane, so the reads are bank-conflict free without a swizzle.
#pragma once
#include "step.h"

namespace svdq::gemm {

/** The packed operands and the problem's tile counts. */
struct Operands {
  const uint4* aq;          // [Mp/16][K/64][32] × 16 B
  const uint4* wq;          // [N/16][K/64][32] × 16 B
  const uint32_t* ascales;  // [Mp/16][K/G][8] × (rows g, g+8)
  const uint2* wscales;     // [N/16][K/G][4] × (cols 2t, 2t+1, 8+2t, 9+2t)
  int k64;                  // K / 64
  int groups;               // K / G
  int mtiles;               // Mp / 16
  int ntiles;               // N / 16
};

template <class Cfg>
__device__ __forceinline__ int scale_group(int kt, int h) {
  return (kt * 64 + 32 * h) / Cfg::GROUP;
}

/** Register staging: this lane's fragments of step kt for the warp's tiles (zeros outside the problem). */
template <class Cfg>
__device__ __forceinline__ void load_step_global(StepFrags<Cfg>& f, const Operands& op, int warp_mt0, int warp_nt0,
                                                 int kt, int lane) {
  const int g = lane >> 2, t = lane & 3;
  const bool k_ok = kt < op.k64;
  const uint4 zero4 = make_uint4(0u, 0u, 0u, 0u);
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i) {
    const int mt = warp_mt0 + i;
    const bool ok = k_ok && mt < op.mtiles;
    f.a[i] = ldg_pred(op.aq + (ok ? (static_cast<size_t>(mt) * op.k64 + kt) * 32 + lane : 0), ok, zero4);
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) {
      const size_t at = (static_cast<size_t>(mt) * op.groups + scale_group<Cfg>(kt, h)) * 8 + g;
      f.as[i][h] = ldg_pred(op.ascales + (ok ? at : 0), ok, 0u);
    }
  }
#pragma unroll
  for (int j = 0; j < Cfg::WTN; ++j) {
    const int nt = warp_nt0 + j;
    const bool ok = k_ok && nt < op.ntiles;
    f.b[j] = ldg_pred(op.wq + (ok ? (static_cast<size_t>(nt) * op.k64 + kt) * 32 + lane : 0), ok, zero4);
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) {
      const size_t at = (static_cast<size_t>(nt) * op.groups + scale_group<Cfg>(kt, h)) * 4 + t;
      f.ws[j][h] = ldg_pred(op.wscales + (ok ? at : 0), ok, make_uint2(0u, 0u));
    }
  }
}

/**
 * Shared-memory staging: the whole block copies main-loop block `kb` (KSTEPS k64 steps) of its A and B
 * tiles and scale chunks into `stage` with 16-byte cp.async; chunks outside the problem are zero-filled.
 */
template <class Cfg>
__device__ __forceinline__ void copy_block_async(unsigned char* stage, const Operands& op, int block_mt0,
                                                 int block_nt0, int kb, int tid) {
  constexpr int CA = Cfg::KSTEPS * Cfg::BTM * 32;                    // 16-B chunks of A codes
  constexpr int CB = Cfg::KSTEPS * Cfg::BTN * 32;                    // … of B codes
  constexpr int SQ = Cfg::SCALE_BYTES / 16;                          // chunks per scale tile
  constexpr int CSA = Cfg::KSTEPS * Cfg::BTM * SQ;
  constexpr int CSB = Cfg::KSTEPS * Cfg::BTN * SQ;
  constexpr int TOTAL = CA + CB + CSA + CSB;
  const unsigned char* aq = reinterpret_cast<const unsigned char*>(op.aq);
  const unsigned char* wq = reinterpret_cast<const unsigned char*>(op.wq);
  const unsigned char* as = reinterpret_cast<const unsigned char*>(op.ascales);
  const unsigned char* ws = reinterpret_cast<const unsigned char*>(op.wscales);
#pragma unroll
  for (int c0 = 0; c0 < TOTAL; c0 += Cfg::THREADS) {
    const int c = c0 + tid;
    if (c < TOTAL) {
      const unsigned char* src;
      size_t offset;
      int dst;
      bool ok;
      if (c < CA + CB) {  // code tiles: [step][tile][lane] × 16 B
        const bool is_a = c < CA;
        const int cc = is_a ? c : c - CA;
        const int tiles = is_a ? Cfg::BTM : Cfg::BTN;
        const int s = cc / (tiles * 32), tile = (cc / 32) % tiles, ln = cc % 32;
        const int kt = kb * Cfg::KSTEPS + s;
        const int rt = (is_a ? block_mt0 : block_nt0) + tile;
        ok = kt < op.k64 && rt < (is_a ? op.mtiles : op.ntiles);
        src = is_a ? aq : wq;
        offset = ((static_cast<size_t>(rt) * op.k64 + kt) * 32 + ln) * 16;
        dst = (is_a ? Cfg::A_CODES : Cfg::B_CODES) + ((s * tiles + tile) * 32 + ln) * 16;
      } else {  // scale chunks: [step][tile][SCALE_BYTES]; G = 32 takes two consecutive groups
        const bool is_a = c < CA + CB + CSA;
        const int cc = is_a ? c - CA - CB : c - CA - CB - CSA;
        const int tiles = is_a ? Cfg::BTM : Cfg::BTN;
        const int s = cc / (tiles * SQ), tile = (cc / SQ) % tiles, q = cc % SQ;
        const int kt = kb * Cfg::KSTEPS + s;
        const int rt = (is_a ? block_mt0 : block_nt0) + tile;
        ok = kt < op.k64 && rt < (is_a ? op.mtiles : op.ntiles);
        src = is_a ? as : ws;
        offset = (static_cast<size_t>(rt) * op.groups + scale_group<Cfg>(kt, 0)) * 32 + q * 16;
        dst = (is_a ? Cfg::A_SCALES : Cfg::B_SCALES) + (s * tiles + tile) * Cfg::SCALE_BYTES + q * 16;
      }
      arch::cp_async_cg16(stage + dst, ok ? src + offset : src, ok ? 16u : 0u);
    }
  }
}

/** Shared-memory staging: this lane's fragments of step `s` of the block held in `stage`. */
template <class Cfg>
__device__ __forceinline__ void load_step_shared(StepFrags<Cfg>& f, const unsigned char* stage, int s, int warp_m,
                                                 int warp_n, int lane) {
  const int g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i) {
    const int tile = warp_m * Cfg::WTM + i;
    f.a[i] = lds(reinterpret_cast<const uint4*>(stage + Cfg::A_CODES + ((s * Cfg::BTM + tile) * 32 + lane) * 16));
    const unsigned char* sc = stage + Cfg::A_SCALES + (s * Cfg::BTM + tile) * Cfg::SCALE_BYTES;
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) f.as[i][h] = lds(reinterpret_cast<const uint32_t*>(sc + 32 * h + 4 * g));
  }
#pragma unroll
  for (int j = 0; j < Cfg::WTN; ++j) {
    const int tile = warp_n * Cfg::WTN + j;
    f.b[j] = lds(reinterpret_cast<const uint4*>(stage + Cfg::B_CODES + ((s * Cfg::BTN + tile) * 32 + lane) * 16));
    const unsigned char* sc = stage + Cfg::B_SCALES + (s * Cfg::BTN + tile) * Cfg::SCALE_BYTES;
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) f.ws[j][h] = lds(reinterpret_cast<const uint2*>(sc + 32 * h + 8 * t));
  }
}

}  // namespace svdq::gemm
