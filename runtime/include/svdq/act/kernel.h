// The activation kernel: one pass over X [M, K] that (a) smooths and quantizes it to 4-bit codes and
// scales in the canonical packed layout and (b) computes lora_act = X·L1 (docs/numerics.md, layouts.md).
//
// A block owns kBlockM rows (row tiles of 16) and walks its split of K in steps of kBlockK channels
// (gridDim.y splits of whole steps, chosen by the launcher so that small M still fills the GPU). Without a
// split X·L1 is reduced inside the block; with one, each split stores its fp32 partial and the last
// block of the row block to arrive (an integer counter, no float atomics) sums the partials in split
// order: the same bits whatever the arrival order. Its warps form a
// kWarpsM × kWarpsK grid: warp (wm, wk) owns kRowTilesWarp consecutive row tiles, carried through K
// kRowTilesIter at a time, and in every step the quantization units wk, wk + kWarpsK, … (a unit =
// max(64, G) channels, so a group never straddles warps), loaded kUnitsPerBatch at a time with 16-byte
// row loads (act/load.h). Warps of the same rows are summed through shared memory in a fixed order.
// Rows ≥ M read as 0 and their packed rows get code 0 / scale 0; row tiles ≥ ceil(M/16) are not written.
// When the rank does not fit the accumulator budget the kernel makes kPasses passes over X, each for
// kRankChunk ranks (X is re-read, from L2; codes are produced in the first pass only).
// When several warps cover different rows (kWarpsM > 1), each K step's lora_down tiles (kBlockK/16
// k-tiles × the pass's rank tiles) are staged once per block in shared memory (kStageDown), so
// lora_down is read once per block and row iteration instead of once per warp; they are staged with
// their k rows permuted into the lanes' own X column order (stage_step), which spares the A fragments
// the quad transposes (each 16-channel MMA then sums a permuted set of 16 channels: the same products,
// another fp32 order, inside the X·L1 tolerance). Every choice comes from the planner (codegen/plan/act.ts) through the ActConfig.
#pragma once
#include "../layer_args.h"
#include "../lowrank/down.h"
#include "../portable.h"
#include "../arch/atomic.h"
#include "../quant/tile.h"
#include "launch_rules.h"
#include "load.h"

namespace svdq::act {

template <class T_, class Fmt_, int kRank_, int kRankChunk_, int kBlockM_, int kBlockK_, int kWarpsM_, int kWarpsK_,
          int kRowTilesIter_, int kUnitsPerBatch_>
struct ActConfig {
  using T = T_;
  using Fmt = Fmt_;
  static constexpr int kRank = kRank_;
  static constexpr int kRankChunk = kRankChunk_;
  static constexpr int kBlockM = kBlockM_;
  static constexpr int kBlockK = kBlockK_;
  static constexpr int kWarpsM = kWarpsM_;
  static constexpr int kWarpsK = kWarpsK_;
  static constexpr int kWarps = kWarpsM * kWarpsK;
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int kRowTilesBlock = kBlockM / 16;
  static constexpr int kRowTilesWarp = kRowTilesBlock / kWarpsM;
  static constexpr int kRowTilesIter = kRowTilesIter_;  // row tiles a warp carries through K at once
  static constexpr int kRowIters = kRowTilesWarp / kRowTilesIter;
  static constexpr int kUnitsPerStep = kBlockK / Fmt::kUnitK;
  static constexpr int kUnitsPerWarp = kUnitsPerStep / kWarpsK;
  static constexpr int kUnitsPerBatch = kUnitsPerBatch_;  // units whose loads are in flight together
  static constexpr int kPasses = kRank > 0 ? kRank / kRankChunk : 1;
  static constexpr int kRankTiles = kRank > 0 ? kRankChunk / 16 : 1;  // 1: a dummy, never used at rank 0
  static constexpr int kCombineBytes = (kRank > 0 && kWarpsK > 1) ? kWarpsM * kRowTilesIter * kRankTiles * 1024 : 0;
  // One K step's lora_down B fragments for one pass: [k-tile][rank tile][lane] uint4 granules.
  static constexpr int kDownStageBytes = (kBlockK / 16) * kRankTiles * 512;
  static constexpr int kSmemLimitBytes = 48 * 1024;  // no opt-in needed (codegen/plan/act.ts ACT_SMEM_LIMIT_BYTES)
  // One K step's smoothing reciprocals RN(1/s), fp32, computed once per block and step (stage_step).
  static constexpr int kSmoothStageBytes = kBlockK * 4;
  static constexpr bool kStageDown =
      kRank > 0 && kWarpsM > 1 && kCombineBytes + kDownStageBytes + kSmoothStageBytes <= kSmemLimitBytes;
  static constexpr int kSmemBytes = kCombineBytes + (kStageDown ? kDownStageBytes : 0) + kSmoothStageBytes;

  static_assert(kBlockM % 16 == 0 && kRowTilesBlock % kWarpsM == 0, "blockM: whole row tiles per warp");
  static_assert(kRowTilesWarp % kRowTilesIter == 0, "row tiles per warp: whole iterations");
  static_assert(kBlockK % Fmt::kUnitK == 0 && kUnitsPerStep % kWarpsK == 0, "blockK: whole units per warp");
  static_assert(kUnitsPerWarp % kUnitsPerBatch == 0, "units per warp: whole batches");
  static_assert(kRank % 16 == 0 && (kRank == 0 || (kRankChunk % 16 == 0 && kRank % kRankChunk == 0)), "rank");
  static_assert(kWarps >= 1 && kWarps <= 32, "warps");
};

/**
 * Quantizes row tile mt's part of one unit (pass 0 only). `rs` holds the lane's smoothing reciprocals
 * (act kernel: read once per unit from the block's staged copy). Rows ≥ M were loaded as 0 and are
 * masked by their group maximum (scale 0 → code reciprocal 0 → code 0), not per element.
 */
template <class C>
__device__ __forceinline__ void quantize_rows(const uint4 (&xr)[C::Fmt::kSlices][4], const float (&rs)[C::Fmt::kSlices][2][8],
                                              const svdq_act_args_t& args, float tensor_scale, int mt, int k0, int lane) {
  using T = typename C::T;
  using Fmt = typename C::Fmt;
  const int g = lane >> 2;
  const bool row_ok[2] = {mt * 16 + g < args.M, mt * 16 + g + 8 < args.M};
  // INT4 codes of a masked row are 0 whatever the value (v × 0 is 0 or NaN, and rni(NaN) = 0); FP4 keeps
  // the per-element zero so its code path never sees a NaN.
  constexpr bool kMaskPerElement = Fmt::kScaleLayout != quant::ScaleLayout::kInt4Pairs;
  float v[Fmt::kSlices][4][8];
#pragma unroll
  for (int s = 0; s < Fmt::kSlices; ++s)
#pragma unroll
    for (int w = 0; w < 4; ++w)
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const uint32_t xw = word_of(xr[s][w], e >> 1);
        const float xv = (e & 1) ? hi_f32<T>(xw) : lo_f32<T>(xw);
        v[s][w][e] = quant::smooth_value_rcp<Fmt::kUnsigned>(xv, args.shift, rs[s][w >> 1][e], kMaskPerElement ? row_ok[w & 1] : true);
      }
  const quant::UnitResult<Fmt> q = quant::quantize_unit<Fmt, quant::Order::kRows>(v, lane, tensor_scale, row_ok[0], row_ok[1]);
  quant::store_unit<Fmt>(q, args.aq, args.ascales, mt, k0, args.K, lane);
}

/**
 * Stages what every warp of the block needs for K step u0, between two barriers (every thread of the block
 * calls it): when kSmooth, the step's kBlockK smoothing reciprocals RN(1/f32(s)) into `rs` (0 past the
 * split's end u_end), so each channel's reciprocal is computed once per block and step, not per row tile
 * and lane; when kStageDown, the step's lora_down tiles (k-tiles past u_end zero-filled without a read)
 * for ranks 16·rank_tile0 .. into `tiles`.
 */
template <class C, bool kSmooth>
__device__ __forceinline__ void stage_step(uint4* tiles, float* rs, const typename C::T* lora_down,
                                           const typename C::T* smooth, int u0, int u_end, int rank_tile0) {
  using T = typename C::T;
  constexpr int kGranules = (C::kBlockK / 16) * C::kRankTiles * 32;
  constexpr int R16 = C::kRank / 16;
  const int c16_0 = u0 * C::Fmt::kUnitK / 16;
  __syncthreads();  // the previous step's tiles and reciprocals may still be read
  if constexpr (kSmooth) {
    const int k0 = u0 * C::Fmt::kUnitK, k_end = u_end * C::Fmt::kUnitK;
    const unsigned short* sp = reinterpret_cast<const unsigned short*>(smooth);
#pragma unroll 1
    for (int x = static_cast<int>(threadIdx.x); x < C::kBlockK; x += C::kThreads) {
      const bool ok = k0 + x < k_end;
      sts(rs + x, ok ? quant::rcp_rn(lo_f32<T>(ldg_nc(sp + k0 + x))) : 0.0f);
    }
  }
  if constexpr (C::kStageDown) {
    // Staged in the order of the lanes' own X words (load.h direct_a_frags), so the loop needs no quad
    // transposes: virtual k-tile 4ss + 2hh + q pairs logical columns 2t+j / 2t+8+j with channels
    // 64ss + 32hh + 8t + 4q + j / +2+j. Its B words come from stored k-tile 4ss + 2hh + (t >> 1),
    // lanes 4g + 2q (+1), word t & 1 (ranks 0–7) and 2 + (t & 1) (ranks 8–15). One thread per staged
    // granule, consecutive threads on consecutive granules (no shared-memory bank conflicts); the lane
    // pair (t & ~1, t | 1) reads stored lanes 4g + 2q, 4g + 2q + 1 (one 32-byte sector, each byte read
    // once) and swaps the two words the other needs with two shuffles (whole warps: kGranules and
    // kThreads are multiples of 32).
    const uint4* src = reinterpret_cast<const uint4*>(lora_down);
#pragma unroll 1
    for (int x = static_cast<int>(threadIdx.x); x < kGranules; x += C::kThreads) {
      const int lane = x % 32, r = (x / 32) % C::kRankTiles, vtile = x / (32 * C::kRankTiles);
      const int g = lane >> 2, t = lane & 3, hh = (vtile & 3) >> 1, q = vtile & 1;
      const bool odd = (t & 1) != 0;
      const int c16 = c16_0 + 4 * (vtile >> 2) + 2 * hh + (t >> 1);
      const bool ok = c16 < u_end * (C::Fmt::kUnitK / 16);  // only this split's channels (u_end ≤ K / kUnitK)
      const size_t idx = (static_cast<size_t>(c16) * R16 + rank_tile0 + r) * 32 + 4 * g + 2 * q + (odd ? 1 : 0);
      const uint4 v = ok ? ldg_nc(src + idx) : make_uint4(0u, 0u, 0u, 0u);  // even: stored lane 4g+2q, odd: +1
      const uint32_t r0 = __shfl_xor_sync(0xffffffffu, odd ? v.x : v.y, 1);
      const uint32_t r1 = __shfl_xor_sync(0xffffffffu, odd ? v.z : v.w, 1);
      sts(tiles + x, odd ? make_uint4(r0, v.y, r1, v.w) : make_uint4(v.x, r0, v.z, r1));
    }
  }
  __syncthreads();
}

/**
 * One warp's walk over all of K for row tiles mt0.. (kRowTilesIter of them): loads, quantization (only
 * when kQuantize, i.e. in the first rank pass) and the low-rank MMAs for ranks 16·rank_tile0 ... A
 * separate instantiation per kQuantize keeps the later passes free of the quantizer's registers.
 */
template <class C, bool kVec, bool kQuantize>
__device__ __forceinline__ void walk_k(lowrank::DownAccumulator<typename C::T, C::kRowTilesIter, C::kRankTiles>& acc,
                                       const svdq_act_args_t& args, int mt0, int rank_tile0, int warp_k, int lane,
                                       bool active, uint4* s_down, float* s_rs, int u_begin, int u_end,
                                       float tensor_scale) {
  using T = typename C::T;
  using Fmt = typename C::Fmt;
  // The element-wise fallback (unaligned X) keeps twice the registers per load in flight: one unit at a time.
  constexpr int RT = C::kRowTilesIter, S = Fmt::kSlices, UB = kVec ? C::kUnitsPerBatch : 1;
  const int M = args.M, K = args.K;
  const int row_tiles = (M + 15) / 16;
  const int units = K / Fmt::kUnitK;
  const T* x = static_cast<const T*>(args.x);
  const T* smooth = static_cast<const T*>(args.smooth);
  const T* lora_down = static_cast<const T*>(args.lora_down);
#pragma unroll 1
  for (int u0 = u_begin; u0 < u_end; u0 += C::kUnitsPerStep) {  // this block's K split (whole steps)
    if constexpr (C::kStageDown || kQuantize) stage_step<C, kQuantize>(s_down, s_rs, lora_down, smooth, u0, u_end, rank_tile0);
    if (!active) continue;  // warp-uniform: a warp without rows only helps stage (and meets the barriers)
#pragma unroll 1
    for (int jb = 0; jb < C::kUnitsPerWarp; jb += UB) {
      // Issue the batch's loads (its units × row tiles) first, then compute.
      uint4 xr[UB][RT][S][4];
#pragma unroll
      for (int j = 0; j < UB; ++j) {
        const int u = u0 + warp_k + (jb + j) * C::kWarpsK;
        const bool unit_ok = u < u_end;  // u_end ≤ units: the split's (and K's) end
#pragma unroll
        for (int s = 0; s < S; ++s) {
          const int k = (unit_ok ? u : 0) * Fmt::kUnitK + 64 * s;
#pragma unroll
          for (int i = 0; i < RT; ++i) load_slice<kVec>(xr[j][i][s], x, unit_ok ? M : 0, K, (mt0 + i) * 16, k, lane);
        }
      }
#pragma unroll
      for (int j = 0; j < UB; ++j) {
        const int u = u0 + warp_k + (jb + j) * C::kWarpsK;
        if (u >= u_end) continue;  // warp-uniform K tail / split end
        if constexpr (kQuantize) {
          // The lane's 16 smoothing reciprocals per slice from the block's staged copy (four 16-byte reads).
          float rs[S][2][8];
          const int kk = (u - u0) * Fmt::kUnitK + 8 * (lane & 3);
#pragma unroll
          for (int s = 0; s < S; ++s)
#pragma unroll
            for (int h = 0; h < 2; ++h)
#pragma unroll
              for (int e4 = 0; e4 < 2; ++e4) {
                const float4 r4 = lds(reinterpret_cast<const float4*>(s_rs + kk + 64 * s + 32 * h + 4 * e4));
                rs[s][h][4 * e4 + 0] = r4.x;
                rs[s][h][4 * e4 + 1] = r4.y;
                rs[s][h][4 * e4 + 2] = r4.z;
                rs[s][h][4 * e4 + 3] = r4.w;
              }
#pragma unroll
          for (int i = 0; i < RT; ++i) {
            // Row tiles past ceil(M/16) are outside the packed buffers (warp-uniform skip).
            if (mt0 + i < row_tiles) quantize_rows<C>(xr[j][i], rs, args, tensor_scale, mt0 + i, u * Fmt::kUnitK, lane);
          }
        }
        if constexpr (C::kRank > 0) {
#pragma unroll
          for (int s = 0; s < S; ++s) {
            uint32_t a[RT][4][4];
#pragma unroll
            for (int i = 0; i < RT; ++i) {
              // Staged lora_down is in the lanes' own column order (stage_step): no transposes.
              if constexpr (C::kStageDown) {
                direct_a_frags(a[i], xr[j][i][s]);
              } else {
                slice_to_a_frags(a[i], xr[j][i][s], lane);
              }
            }
#pragma unroll
            for (int kt = 0; kt < 4; ++kt) {
              uint32_t ak[RT][4];
#pragma unroll
              for (int i = 0; i < RT; ++i)
#pragma unroll
                for (int q = 0; q < 4; ++q) ak[i][q] = a[i][kt][q];
              const int c16 = (u * Fmt::kUnitK + 64 * s) / 16 + kt;
              if constexpr (C::kStageDown) {
                acc.mma_ktile_shared(ak, s_down + (c16 - u0 * Fmt::kUnitK / 16) * (C::kRankTiles * 32), lane);
              } else {
                acc.mma_ktile(ak, lora_down, c16, C::kRank / 16, rank_tile0, lane);
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Sums the split partials of row block `mb` in split order ((p0 + p1) + p2) + … into lora_act (the last
 * block of the row block to finish runs it; every thread of the block calls it).
 */
template <class C>
__device__ __forceinline__ void reduce_splits(const svdq_act_args_t& args, int mb, int splits) {
  const int row_tiles = (args.M + 15) / 16;
  const int mt_begin = mb * C::kRowTilesBlock;
  const int mt_end = mt_begin + C::kRowTilesBlock < row_tiles ? mt_begin + C::kRowTilesBlock : row_tiles;
  const size_t slice4 = static_cast<size_t>(row_tiles) * C::kRank * 4;  // float4 granules per partial slice
  const size_t begin4 = static_cast<size_t>(mt_begin) * C::kRank * 4, end4 = static_cast<size_t>(mt_end) * C::kRank * 4;
  const float4* parts = reinterpret_cast<const float4*>(args.lora_partials);
  float4* out = reinterpret_cast<float4*>(args.lora_act);
#pragma unroll 1
  for (size_t i = begin4 + threadIdx.x; i < end4; i += C::kThreads) {
    // Written by other blocks of this launch: a plain (coherent) load, never the read-only path.
    float4 v = ldg(parts + i);
#pragma unroll 1
    for (int s = 1; s < splits; ++s) {
      const float4 o = ldg(parts + s * slice4 + i);
      v = make_float4(__fadd_rn(v.x, o.x), __fadd_rn(v.y, o.y), __fadd_rn(v.z, o.z), __fadd_rn(v.w, o.w));
    }
    stg(out + i, v);
  }
}

template <class C, bool kVec>
__global__ void __launch_bounds__(C::kThreads, 1) act_kernel(const svdq_act_args_t args) {
  using Acc = lowrank::DownAccumulator<typename C::T, C::kRowTilesIter, C::kRankTiles>;
  constexpr int RT = C::kRowTilesIter;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int warp_m = warp % C::kWarpsM, warp_k = warp / C::kWarpsM;
  const int row_tiles = (args.M + 15) / 16;
  // K split: blockIdx.y of gridDim.y takes units [y·U/S, (y+1)·U/S) (U = K / kUnitK), walked in steps.
  const int splits = static_cast<int>(gridDim.y), split = static_cast<int>(blockIdx.y);
  const int units = args.K / C::Fmt::kUnitK;
  const int u_begin = split * units / splits, u_end = (split + 1) * units / splits;
  // Where this block's X·L1 goes: lora_act itself, or its split's partial slice.
  float* lora_out = splits > 1 ? args.lora_partials + static_cast<size_t>(split) * row_tiles * C::kRank * 16 : args.lora_act;
  // NVFP4 per-tensor activation scale (0 = absent = 1; other formats ignore it).
  const float tensor_scale = args.input_scale > 0.0f ? args.input_scale : 1.0f;
  SVDQ_DYNAMIC_SMEM(float4, smem);
  uint4* s_down = reinterpret_cast<uint4*>(smem + C::kCombineBytes / 16);  // after the combine slots
  // The smoothing reciprocals of one K step, after the staged lora_down tiles.
  float* s_rs = reinterpret_cast<float*>(smem + (C::kCombineBytes + (C::kStageDown ? C::kDownStageBytes : 0)) / 16);

#pragma unroll 1
  for (int it = 0; it < C::kRowIters; ++it) {
    const int mt0 = blockIdx.x * C::kRowTilesBlock + warp_m * C::kRowTilesWarp + it * RT;
    const bool any_rows = mt0 < row_tiles;  // warp-uniform; idle warps still join the combine barriers
#pragma unroll 1
    for (int pass = 0; pass < C::kPasses; ++pass) {
      Acc acc;
      acc.zero();
      // Warps without rows walk K too when anything is staged (they share the staging barriers): always
      // in the first pass (smoothing reciprocals), in later ones when lora_down is staged.
      if (any_rows || C::kStageDown || pass == 0) {
        if (pass == 0) {
          walk_k<C, kVec, true>(acc, args, mt0, 0, warp_k, lane, any_rows, s_down, s_rs, u_begin, u_end, tensor_scale);
        } else if constexpr (C::kPasses > 1) {
          walk_k<C, kVec, false>(acc, args, mt0, pass * C::kRankTiles, warp_k, lane, any_rows, s_down, s_rs, u_begin,
                                 u_end, tensor_scale);
        }
      }
      if constexpr (C::kRank > 0) {
        acc.combine_in_order(smem + warp_m * (RT * C::kRankTiles * 64), warp_k, C::kWarpsK, lane);
        if (warp_k == 0) {
#pragma unroll
          for (int i = 0; i < RT; ++i) {
            if (mt0 + i < row_tiles) acc.store(lora_out, i, mt0 + i, C::kRank / 16, pass * C::kRankTiles, lane);
          }
        }
      }
    }
  }
  if constexpr (C::kRank > 0) {
    if (splits > 1) {
      // Publish this block's partial, count it; the row block's last arrival sums all partials in order.
      __threadfence();
      __syncthreads();  // every warp's partial is stored (and fenced) before thread 0 counts the block
      int last = 0;
      if (threadIdx.x == 0) {
        const int prev = atomicAdd(args.split_counters + blockIdx.x, 1);
        last = prev == splits - 1;
        if (last) atomicExch(args.split_counters + blockIdx.x, 0);  // left 0 for the next launch
      }
      if (__syncthreads_or(last)) {
        __threadfence();
        reduce_splits<C>(args, static_cast<int>(blockIdx.x), splits);
      }
    }
  }
}

/** The config's launch rules as values (act/launch_rules.h holds the checks and the split count). */
template <class C>
constexpr ActRules act_rules() {
  return ActRules{C::Fmt::kGroup, C::Fmt::kUnitK, C::kRank, C::kBlockM};
}

template <class C>
inline const char* act_args_problem(const svdq_act_args_t* a) {
  return act_args_problem(a, act_rules<C>());
}

template <class C>
inline int act_splits(const svdq_act_args_t* a) {
  return act_splits(a, act_rules<C>());
}

/**
 * Validates and launches: SVDQ_ERR_INVALID_ARG (nothing launched) for bad arguments. X is read with
 * 16-byte loads when it is 16-byte aligned, element by element otherwise (smooth: element by element,
 * once per block and K step).
 */
template <class C>
inline svdq_status_t act_launch(const svdq_act_args_t* a, cudaStream_t stream) {
  if (act_args_problem<C>(a) != nullptr) return SVDQ_ERR_INVALID_ARG;
  const bool vec = (reinterpret_cast<uintptr_t>(a->x) & 15u) == 0;
  const dim3 grid(static_cast<unsigned>((a->M + C::kBlockM - 1) / C::kBlockM), static_cast<unsigned>(act_splits<C>(a)));
  const dim3 block(C::kThreads);
  if (vec) {
    auto* act_kernel_vec16 = &act_kernel<C, true>;
    SVDQ_LAUNCH(act_kernel_vec16, grid, block, C::kSmemBytes, stream)(*a);
  } else {
    auto* act_kernel_scalar = &act_kernel<C, false>;
    SVDQ_LAUNCH(act_kernel_scalar, grid, block, C::kSmemBytes, stream)(*a);
  }
  return cudaGetLastError() == cudaSuccess ? SVDQ_OK : SVDQ_ERR_LAUNCH;
}

}  // namespace svdq::act
