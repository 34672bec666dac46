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

/** Index of a step's scale group h (0, or 1 for G = 32) relative to the step `s0` of a cursor's base. */
template <class Cfg>
__device__ __forceinline__ constexpr int group_offset(int s, int h) {
  return (s * 64 + 32 * h) / Cfg::GROUP;
}

/**
 * Register staging: this lane's pointers to its warp's fragments at the cursor's base step (a multiple of
 * KSTEPS, so the scale group of a step at a static offset is static too). Computed once; a k-block only
 * moves them by a compile-time amount, and every load inside the unrolled loop is pointer + immediate.
 * Tiles past M or N read the last real tile instead (their rows and columns are never stored: every
 * epilogue functor is predicated on M and N), so the loop has no per-tile predicate.
 */
template <class Cfg>
struct RegCursor {
  const uint4* a[Cfg::WTM];
  const uint4* b[Cfg::WTN];
  const unsigned char* as[Cfg::WTM];  // INT4: this lane's ascale pair (row g) of group 0; FP4: its scale word
  const unsigned char* ws[Cfg::WTN];  // INT4: this lane's wscale quad (t) of group 0; FP4: column g's word
  // Scale bytes per group (INT4) or per k64 step (FP4), and between a lane's two FP4 B words.
  static constexpr int A_SCALE_STRIDE = Cfg::FP4 ? Cfg::SCALE_BYTES : 32;
  static constexpr int B_SCALE_STRIDE = Cfg::FP4 ? Cfg::SCALE_BYTES : 32;

  __device__ __forceinline__ void init(const Operands& op, int warp_mt0, int warp_nt0, int lane) {
    const int g = lane >> 2, t = lane & 3;
    const unsigned char* asb = reinterpret_cast<const unsigned char*>(op.ascales);
    const unsigned char* wsb = reinterpret_cast<const unsigned char*>(op.wscales);
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      const int mt = warp_mt0 + i < op.mtiles ? warp_mt0 + i : op.mtiles - 1;
      a[i] = op.aq + static_cast<size_t>(mt) * op.k64 * 32 + lane;
      if constexpr (Cfg::FP4)
        as[i] = asb + static_cast<size_t>(mt) * op.k64 * Cfg::SCALE_BYTES + Cfg::FP4_SCALE_BYTES * (g + 8 * (t & 1));
      else
        as[i] = asb + static_cast<size_t>(mt) * op.groups * 32 + 4 * g;
    }
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      const int nt = warp_nt0 + j < op.ntiles ? warp_nt0 + j : op.ntiles - 1;
      b[j] = op.wq + static_cast<size_t>(nt) * op.k64 * 32 + lane;
      if constexpr (Cfg::FP4)
        ws[j] = wsb + static_cast<size_t>(nt) * op.k64 * Cfg::SCALE_BYTES + Cfg::FP4_SCALE_BYTES * g;
      else
        ws[j] = wsb + static_cast<size_t>(nt) * op.groups * 32 + 8 * t;
    }
  }

  /** Moves the base by STEPS k64 steps (a multiple of KSTEPS). */
  template <int STEPS>
  __device__ __forceinline__ void advance() {
    constexpr int SA = Cfg::FP4 ? STEPS * Cfg::SCALE_BYTES : STEPS * 64 / Cfg::GROUP * 32;
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      a[i] += STEPS * 32;
      as[i] += SA;
    }
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      b[j] += STEPS * 32;
      ws[j] += SA;
    }
  }

  /** The fragments of step base + S (S static once the caller's loops are unrolled). */
  __device__ __forceinline__ void load(StepFrags<Cfg>& f, int S) const {
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      f.a[i] = ldg(a[i] + S * 32);
      if constexpr (Cfg::FP4) {
        f.as[i][0] = fp4_scale_word<Cfg>(as[i] + S * Cfg::SCALE_BYTES, 0, [](auto p) { return static_cast<uint32_t>(ldg(p)); });
      } else {
#pragma unroll
        for (int h = 0; h < Cfg::SPS; ++h)
          f.as[i][h] = ldg(reinterpret_cast<const uint32_t*>(as[i] + group_offset<Cfg>(S, h) * 32));
      }
    }
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      f.b[j] = ldg(b[j] + S * 32);
      if constexpr (Cfg::FP4) {
        const auto load = [](auto p) { return static_cast<uint32_t>(ldg(p)); };
        const unsigned char* chunk = ws[j] + S * Cfg::SCALE_BYTES;
        f.ws[j][0] = make_uint2(fp4_scale_word<Cfg>(chunk, 0, load), fp4_scale_word<Cfg>(chunk, 8, load));
      } else {
#pragma unroll
        for (int h = 0; h < Cfg::SPS; ++h)
          f.ws[j][h] = ldg(reinterpret_cast<const uint2*>(ws[j] + group_offset<Cfg>(S, h) * 32));
      }
    }
  }
};

/**
 * Shared-memory staging: this thread's share of a k-block's 16-byte cp.async chunks, resolved once. Code
 * chunks (A then B tiles, [step][tile][lane]) and scale chunks are dealt out separately, chunk u of a kind
 * being c = u·THREADS + tid, so each slot's per-k-block source stride is a compile-time constant: inside
 * the unrolled ring a copy is pointer + immediate, and the pointers move once per ring. Per slot: the
 * source at k-block 0, the destination in a stage, the size (16, or 0 = zero-filled past M or N) and the
 * step inside the block (only the K tail reads it).
 */
template <class Cfg>
struct CopyPlan {
  static constexpr int SQ = Cfg::SCALE_BYTES / 16;  // chunks per scale tile and step
  static constexpr int CA = Cfg::KSTEPS * Cfg::BTM * 32, CB = Cfg::KSTEPS * Cfg::BTN * 32;
  static constexpr int CSA = Cfg::KSTEPS * Cfg::BTM * SQ, CSB = Cfg::KSTEPS * Cfg::BTN * SQ;
  static constexpr int CODES = CA + CB, SCALES = CSA + CSB;
  static constexpr int NC = (CODES + Cfg::THREADS - 1) / Cfg::THREADS;   // code slots per thread
  static constexpr int NS = (SCALES + Cfg::THREADS - 1) / Cfg::THREADS;  // scale slots per thread
  static constexpr int N = NC + NS;
  static constexpr int CODE_STRIDE = Cfg::KSTEPS * 512;  // source bytes per k-block
  static constexpr int SCALE_STRIDE = Cfg::FP4 ? Cfg::KSTEPS * Cfg::SCALE_BYTES : Cfg::KSTEPS * 64 / Cfg::GROUP * 32;

  const unsigned char* src[N];
  uint32_t dst[N];   // byte offset inside a stage
  uint32_t size[N];  // 16 or 0
  int step[N];       // k64 step inside the block

  static constexpr __device__ __forceinline__ bool is_code(int u) { return u < NC; }
  static constexpr __device__ __forceinline__ int stride(int u) { return is_code(u) ? CODE_STRIDE : SCALE_STRIDE; }
  /** Slot u's chunk index c exists (the last slot of a kind may be past the kind's count). */
  static __device__ __forceinline__ bool active(int u, int tid) {
    const int k = is_code(u) ? u : u - NC, total = is_code(u) ? CODES : SCALES;
    return total % Cfg::THREADS == 0 || (k + 1) * Cfg::THREADS <= total || k * Cfg::THREADS + tid < total;
  }

  __device__ __forceinline__ void init(const Operands& op, int block_mt0, int block_nt0, int tid) {
#pragma unroll
    for (int u = 0; u < N; ++u) {
      const bool code = is_code(u);
      const int k = code ? u : u - NC, total = code ? CODES : SCALES;
      const int c0 = k * Cfg::THREADS + tid, c = c0 < total ? c0 : total - 1;  // past total: never issued
      const bool is_a = c < (code ? CA : CSA);
      const int cc = is_a ? c : c - (code ? CA : CSA);
      const int tiles = is_a ? Cfg::BTM : Cfg::BTN;
      const int per = code ? 32 : SQ;  // chunks per tile and step
      const int s = cc / (tiles * per), tile = (cc / per) % tiles, q = cc % per;
      const int rt = (is_a ? block_mt0 : block_nt0) + tile;
      const bool ok = rt < (is_a ? op.mtiles : op.ntiles);
      const int rt_ok = ok ? rt : 0;
      if (code) {
        src[u] = reinterpret_cast<const unsigned char*>(is_a ? op.aq : op.wq) +
                 ((static_cast<size_t>(rt_ok) * op.k64 + s) * 32 + q) * 16;
        dst[u] = (is_a ? Cfg::A_CODES : Cfg::B_CODES) + ((s * tiles + tile) * 32 + q) * 16;
      } else {
        const void* base = is_a ? static_cast<const void*>(op.ascales) : static_cast<const void*>(op.wscales);
        src[u] = static_cast<const unsigned char*>(base) + scale_chunk_offset<Cfg>(op, rt_ok, s) + q * 16;
        dst[u] = (is_a ? Cfg::A_SCALES : Cfg::B_SCALES) + (s * tiles + tile) * Cfg::SCALE_BYTES + q * 16;
      }
      size[u] = ok ? 16u : 0u;
      step[u] = s;
    }
  }

  /** Moves every source by `blocks` k-blocks (static in the steady loop). */
  __device__ __forceinline__ void advance(int blocks) {
#pragma unroll
    for (int u = 0; u < N; ++u) src[u] += blocks * stride(u);
  }

  /**
   * Copies k-block base + ahead into `stage` (`ahead` static in the unrolled ring). GUARD: the K tail,
   * where chunks of steps at or past k64 are skipped (kb = the block's index, checked per chunk).
   */
  template <bool GUARD>
  __device__ __forceinline__ void copy(unsigned char* stage, int ahead, int kb, int k64, int tid) const {
#pragma unroll
    for (int u = 0; u < N; ++u) {
      if (!active(u, tid)) continue;
      if (GUARD && kb * Cfg::KSTEPS + step[u] >= k64) continue;
      arch::cp_async_cg16(stage + dst[u], src[u] + ahead * stride(u), size[u]);  // size 0: nothing read, zeros land
    }
  }
};

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
