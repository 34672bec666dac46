// The shared tile quantizer: one warp quantizes a 16-row × Fmt::kUnitK-channel unit (one 64-wide
// slice, or two for INT4 G = 128) into the canonical packed layout (docs/layouts.md): each lane's 16
// bytes of codes per slice (words w0..w3 of the m16n8k64 A fragment) and the scales of rows g, g+8
// (INT4 16-bit pairs, or NVFP4/MXFP4 scale bytes). Fmt is quant::Int4<…>, quant::Nvfp4 or quant::Mxfp4.
//
// Values arrive in one of two lane orders (lane l = 4g + t):
//   kRows  : v[s][w][e] is the value of aq word w, nibble e, i.e. row g + 8·(w & 1), column
//            32·(w >> 1) + 8t + e of slice s. The act kernel loads X this way (16-byte row loads), so
//            its codes need no exchange.
//   kCFrag : v[s][j][f] is element f of the m16n8k16 C fragment of 16×16 tile j (columns 16j..16j+15):
//            row g + 8·((f >> 1) & 1), column 16j + 8·(f >> 2) + 2t + (f & 1). The GEMM's qnext epilogue
//            holds its output this way; codes are then moved to their owner with two quad shuffles per
//            word (a 4×4 byte transpose).
// Both run steps 2–4 of docs/numerics.md on values already passed through smooth_value (step 1):
// amax per row and group (local max, then xor-shuffles inside the quad that shares the row), the
// stored scale (Fmt::scale_bits), codes by multiplication with the stored scale's correctly rounded
// reciprocal (one per group).
#pragma once
#include "fp4.h"
#include "int4.h"

namespace svdq::quant {

enum class Order { kRows, kCFrag };

/** What quantize_unit produces for one lane (the same in all four lanes of a quad for the scales). */
template <class Fmt>
struct UnitResult {
  uint4 codes[Fmt::kSlices];  // the lane's 16 bytes of each slice (aq words w0..w3)
  uint32_t scale[2][Fmt::kGroupsPerUnit];  // scale bits of [row g, row g+8][group of the unit]
};

namespace detail {
/** Row half (0: row g, 1: row g+8) of value position (w, e). */
template <Order O>
__device__ __forceinline__ int row_half(int w, int e) {
  return O == Order::kRows ? (w & 1) : ((e >> 1) & 1);
}
/**
 * Group (within the unit) of value position (s, w, e) of lane t. Only 16-wide groups in row order
 * depend on the lane; everywhere else the lane's columns never cross a group, so the index is a
 * compile-time constant after unrolling.
 */
template <class Fmt, Order O>
__device__ __forceinline__ int group_of(int s, int w, int e, int t) {
  const int tt = (Fmt::kGroup < 32 && O == Order::kRows) ? t : 0;
  const int col = O == Order::kRows ? 32 * (w >> 1) + 8 * tt + e : 16 * w + 8 * (e >> 2) + 2 * tt + (e & 1);
  return (64 * s + col) / Fmt::kGroup;
}

__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
  return v;
}

/**
 * 4×4 byte transpose inside each quad: on entry byte d of lane t is destined for lane d; on exit
 * byte x of lane d came from lane x. Two shuffles (xor 2 swaps 16-bit halves, xor 1 swaps bytes).
 */
__device__ __forceinline__ uint32_t quad_byte_transpose(uint32_t p, int t) {
  uint32_t q = __shfl_xor_sync(0xffffffffu, p, 2);
  p = (t & 2) ? ((q >> 16) | (p & 0xFFFF0000u)) : ((p & 0x0000FFFFu) | (q << 16));
  q = __shfl_xor_sync(0xffffffffu, p, 1);
  p = (t & 1) ? ((p & 0xFF00FF00u) | ((q >> 8) & 0x00FF00FFu)) : ((p & 0x00FF00FFu) | ((q & 0x00FF00FFu) << 8));
  return p;
}
}  // namespace detail

/**
 * Quantizes one unit. `v` holds the lane's 32 values of each slice in order O (see above), already
 * smoothed/shifted (smooth_value). `tensor_scale`: the NVFP4 per-tensor activation scale (input_scale;
 * 1 = none, bit-identical to no scale; other formats ignore it). `row_ok0/1`: false for a row half outside
 * the matrix, whose group maxima are taken as 0 (scale 0, code reciprocal 0, so INT4 codes 0 whatever the
 * values). All 32 lanes of the warp must call it together.
 */
template <class Fmt, Order O>
__device__ __forceinline__ UnitResult<Fmt> quantize_unit(const float (&v)[Fmt::kSlices][4][8], int lane,
                                                         float tensor_scale = 1.0f, bool row_ok0 = true,
                                                         bool row_ok1 = true) {
  constexpr int GU = Fmt::kGroupsPerUnit;
  const int t = lane & 3;
  // Step 2: amax per (row half, group). Each lane folds the values it holds (0 for groups it holds none
  // of), then the quad that shares the rows reduces every group with two xor-shuffles.
  float amax[2][GU];
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int gi = 0; gi < GU; ++gi) amax[h][gi] = 0.0f;
#pragma unroll
  for (int s = 0; s < Fmt::kSlices; ++s)
#pragma unroll
    for (int w = 0; w < 4; ++w)
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const int h = detail::row_half<O>(w, e), grp = detail::group_of<Fmt, O>(s, w, e, t);
#pragma unroll
        for (int gi = 0; gi < GU; ++gi) amax[h][gi] = fmaxf(amax[h][gi], grp == gi ? fabsf(v[s][w][e]) : 0.0f);
      }
  UnitResult<Fmt> out;
  float scale[2][GU];
#pragma unroll
  for (int h = 0; h < 2; ++h)
#pragma unroll
    for (int gi = 0; gi < GU; ++gi) {
      const float m = detail::quad_max(amax[h][gi]);
      out.scale[h][gi] = Fmt::scale_bits((h == 0 ? row_ok0 : row_ok1) ? m : 0.0f, scale[h][gi], tensor_scale);
      scale[h][gi] = Fmt::code_rcp(scale[h][gi]);  // from here on: the group's reciprocal (one per group)
    }
  // Step 4: codes. kRows packs them straight into the lane's words; kCFrag first packs, per row half and
  // column half, one byte per destination lane (two codes of adjacent columns), then transposes.
#pragma unroll
  for (int s = 0; s < Fmt::kSlices; ++s) {
    uint32_t word[4] = {0u, 0u, 0u, 0u};
#pragma unroll
    for (int w = 0; w < 4; ++w)
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const int h = detail::row_half<O>(w, e), grp = detail::group_of<Fmt, O>(s, w, e, t);
        float sc = scale[h][0];
#pragma unroll
        for (int gi = 1; gi < GU; ++gi) sc = grp == gi ? scale[h][gi] : sc;
        const uint32_t nib = Fmt::code_nibble(v[s][w][e], sc);
        if (O == Order::kRows) {
          word[w] |= nib << (4 * e);
        } else {
          // tile j = w: column block b = 2j + (e >> 2) of 8 columns; destination lane b & 3, byte of
          // (row half h, column half j >> 1) = aq word h + 2·(j >> 1); nibble (e & 1) within the byte.
          const int dest = 2 * (w & 1) + (e >> 2);
          word[h + 2 * (w >> 1)] |= nib << (8 * dest + 4 * (e & 1));
        }
      }
    if (O == Order::kCFrag) {
#pragma unroll
      for (int w = 0; w < 4; ++w) word[w] = detail::quad_byte_transpose(word[w], t);
    }
    out.codes[s] = make_uint4(word[0], word[1], word[2], word[3]);
  }
  return out;
}

/** Byte offset of lane `lane`'s 16 bytes of codes for row tile mt, 64-slice kt (docs/layouts.md). */
__device__ __forceinline__ size_t aq_offset(int mt, int kt, int K, int lane) {
  return ((static_cast<size_t>(mt) * (K / 64) + kt) * 32 + lane) * 16;
}

/**
 * Stores a unit's codes and scales for row tile mt whose first channel is k0 (a multiple of kUnitK).
 * INT4: lane t < kGroupsPerUnit of each quad writes the (row g, row g+8) pair of group t (4 bytes).
 * FP4: lane t < 2 of each quad writes row g + 8t's 64/G scale bytes of the slice (one 4- or 2-byte store).
 */
template <class Fmt>
__device__ __forceinline__ void store_unit(const UnitResult<Fmt>& r, void* aq, void* ascales, int mt, int k0, int K,
                                           int lane) {
#pragma unroll
  for (int s = 0; s < Fmt::kSlices; ++s) {
    stg(reinterpret_cast<uint4*>(static_cast<char*>(aq) + aq_offset(mt, k0 / 64 + s, K, lane)), r.codes[s]);
  }
  const int t = lane & 3, g = lane >> 2;
  if constexpr (Fmt::kScaleLayout == ScaleLayout::kInt4Pairs) {
#pragma unroll
    for (int gi = 0; gi < Fmt::kGroupsPerUnit; ++gi) {
      if (t == gi) {
        const size_t grp = static_cast<size_t>(k0 / Fmt::kGroup + gi);
        const size_t idx = ((static_cast<size_t>(mt) * (K / Fmt::kGroup) + grp) * 8 + g) * 2;  // 16-bit units
        stg(reinterpret_cast<uint32_t*>(static_cast<char*>(ascales) + idx * 2), r.scale[0][gi] | (r.scale[1][gi] << 16));
      }
    }
  } else {
    static_assert(Fmt::kSlices == 1 && Fmt::kGroupsPerUnit * Fmt::kGroup == 64, "FP4 units are one 64-slice");
    constexpr int S = Fmt::kGroupsPerUnit;  // bytes per row per slice
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      if (t == h) {
        uint32_t bytes = 0;
#pragma unroll
        for (int gi = 0; gi < S; ++gi) bytes |= r.scale[h][gi] << (8 * gi);
        const size_t idx = ((static_cast<size_t>(mt) * (K / 64) + k0 / 64) * 16 + g + 8 * h) * S;
        char* p = static_cast<char*>(ascales) + idx;
        if constexpr (S == 4) {
          stg(reinterpret_cast<uint32_t*>(p), bytes);
        } else {
          stg(reinterpret_cast<uint16_t*>(p), static_cast<uint16_t>(bytes));
        }
      }
    }
  }
}

}  // namespace svdq::quant
