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
  const uint32_t* ascales;  // INT4 [Mp/16][K/G][8] × (rows g, g+8); FP4 bytes [Mp/16][K/64][16][64/G]
  const uint2* wscales;     // INT4 [N/16][K/G][4] × (cols 2t, 2t+1, 8+2t, 9+2t); FP4 bytes [N/16][K/64][16][64/G]
  int k64;                  // K / 64
  int groups;               // K / G
  int mtiles;               // Mp / 16
  int ntiles;               // N / 16
};

template <class Cfg>
__device__ __forceinline__ int scale_group(int kt, int h) {
  return (kt * 64 + 32 * h) / Cfg::GROUP;
}

/**
 * Byte offset of the scale chunk of tile `rt` in step kt: INT4 groups of 32 bytes (G = 32: the step's two
 * consecutive groups), FP4 the tile's 16 rows × FP4_SCALE_BYTES of the k64 slice (docs/layouts.md).
 */
template <class Cfg>
__device__ __forceinline__ size_t scale_chunk_offset(const Operands& op, int rt, int kt) {
  if constexpr (Cfg::FP4) return (static_cast<size_t>(rt) * op.k64 + kt) * Cfg::SCALE_BYTES;
  return (static_cast<size_t>(rt) * op.groups + scale_group<Cfg>(kt, 0)) * 32;
}

/** FP4: the scale word at row/column `r` (0..15) of a tile's chunk (4 ue4m3 or 2 ue8m0 bytes, K order). */
template <class Cfg, class Load>
__device__ __forceinline__ uint32_t fp4_scale_word(const unsigned char* chunk, int r, Load load) {
  if constexpr (Cfg::FP4_SCALE_BYTES == 4)
    return load(reinterpret_cast<const uint32_t*>(chunk + 4 * r));
  else
    return load(reinterpret_cast<const uint16_t*>(chunk + 2 * r));
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
    if constexpr (Cfg::FP4) {  // row g + 8·(t & 1) (thread-id-a 0); lanes t ≥ 2 load the same word, unused
      const unsigned char* chunk = reinterpret_cast<const unsigned char*>(op.ascales) + (ok ? scale_chunk_offset<Cfg>(op, mt, kt) : 0);
      f.as[i][0] = ok ? fp4_scale_word<Cfg>(chunk, g + 8 * (t & 1), [](auto p) { return static_cast<uint32_t>(ldg(p)); }) : 0u;
      continue;
    }
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
    if constexpr (Cfg::FP4) {  // columns g and 8 + g (thread-id-b 0); the other lanes of the quad duplicate
      const unsigned char* chunk = reinterpret_cast<const unsigned char*>(op.wscales) + (ok ? scale_chunk_offset<Cfg>(op, nt, kt) : 0);
      const auto load = [](auto p) { return static_cast<uint32_t>(ldg(p)); };
      f.ws[j][0] = ok ? make_uint2(fp4_scale_word<Cfg>(chunk, g, load), fp4_scale_word<Cfg>(chunk, 8 + g, load))
                      : make_uint2(0u, 0u);
      continue;
    }
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
        offset = scale_chunk_offset<Cfg>(op, rt, kt) + q * 16;
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
    if constexpr (Cfg::FP4) {
      f.as[i][0] = fp4_scale_word<Cfg>(sc, g + 8 * (t & 1), [](auto p) { return static_cast<uint32_t>(lds(p)); });
      continue;
    }
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) f.as[i][h] = lds(reinterpret_cast<const uint32_t*>(sc + 32 * h + 4 * g));
  }
#pragma unroll
  for (int j = 0; j < Cfg::WTN; ++j) {
    const int tile = warp_n * Cfg::WTN + j;
    f.b[j] = lds(reinterpret_cast<const uint4*>(stage + Cfg::B_CODES + ((s * Cfg::BTN + tile) * 32 + lane) * 16));
    const unsigned char* sc = stage + Cfg::B_SCALES + (s * Cfg::BTN + tile) * Cfg::SCALE_BYTES;
    if constexpr (Cfg::FP4) {
      const auto load = [](auto p) { return static_cast<uint32_t>(lds(p)); };
      f.ws[j][0] = make_uint2(fp4_scale_word<Cfg>(sc, g, load), fp4_scale_word<Cfg>(sc, 8 + g, load));
      continue;
    }
#pragma unroll
    for (int h = 0; h < Cfg::SPS; ++h) f.ws[j][h] = lds(reinterpret_cast<const uint2*>(sc + 32 * h + 8 * t));
  }
}

}  // namespace svdq::gemm
