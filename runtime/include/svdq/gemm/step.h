// One k64 step of a warp: the 4-bit MMAs of its MT×NT tiles and the per-group dequantization
// (docs/numerics.md "GEMM main loop"); for NVFP4/MXFP4 the block-scaled MMA dequantizes itself. Integer partials are exact; the scale arithmetic is explicit
// (__fmul_rn/__fmaf_rn, or __hmul2/__hfma2 for f16 accumulation) so nvcc and the emulator agree bit for bit.
#pragma once
#include "config.h"

namespace svdq::gemm {

/** The fragments one warp needs for one k64 step, in the canonical packed orders (docs/layouts.md). */
template <class Cfg>
struct StepFrags {
  uint4 a[Cfg::WTM];                // A fragment per 16-row tile (w0..w3 of §1)
  uint4 b[Cfg::WTN];                // two B fragments per 16-column tile: (x,y) cols 0-7, (z,w) cols 8-15
  uint32_t as[Cfg::WTM][Cfg::SPS];  // INT4: ascale pair rows g (low half), g+8 (high); FP4: row g + 8·(t&1)'s scales
  uint2 ws[Cfg::WTN][Cfg::SPS];     // INT4: cols 2t, 2t+1 (x), 8+2t, 9+2t (y); FP4: columns g (x) and 8+g (y)
};

/**
 * Cross-group accumulator: fp32 (default) or pairs in the scale dtype (f16 accumulation). `p` holds the
 * int32 partial of a G = 128 group between its two k64 steps (the MMA's D carried as the next one's C).
 */
template <class Cfg, Accum A = Cfg::ACCUM>
struct Accumulator;
template <class Cfg>
struct Accumulator<Cfg, Accum::F32> {
  float v[Cfg::WTM][Cfg::WTN][8];
  int p[Cfg::WTM][Cfg::WTN][Cfg::STEPS_PER_GROUP == 2 ? 8 : 1];
};
template <class Cfg>
struct Accumulator<Cfg, Accum::F16> {
  uint32_t v[Cfg::WTM][Cfg::WTN][4];  // ScaleHalf pairs (elements 2q, 2q+1)
  int p[Cfg::WTM][Cfg::WTN][Cfg::STEPS_PER_GROUP == 2 ? 8 : 1];
};

template <class Cfg>
__device__ __forceinline__ void clear(Accumulator<Cfg>& acc) {
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j) {
      if constexpr (Cfg::ACCUM == Accum::F32) {
#pragma unroll
        for (int e = 0; e < 8; ++e) acc.v[i][j][e] = 0.0f;
      } else {
#pragma unroll
        for (int q = 0; q < 4; ++q) acc.v[i][j][q] = 0u;
      }
    }
}

/**
 * The magic-number conversion folded into the MMA (docs/numerics.md "GEMM main loop"): each group's
 * first MMA starts from C = the bits of the float M = 2^23 + 2^22, so D's bits read as a float are
 * exactly M + p (|p| <= 128·15·8 < 2^22: the integer add stays inside the mantissa). One FFMA then gives
 * x = RN(p·a) = fma(M + p, a, -M·a) (-M·a exact: a has <= 11 significant bits), with no I2F.
 */
constexpr int kMagicBits = 0x4B400000;
constexpr float kMagic = 12582912.0f;

/** The same 32 bits as another 4-byte type (a packed pair as __half2 / __nv_bfloat162 and back): no moves. */
template <class To, class From>
__device__ __forceinline__ To bits_as(const From& v) {
  static_assert(sizeof(To) == sizeof(From), "bit cast between equal sizes");
  To r;
  memcpy(&r, &v, sizeof(To));
  return r;
}

/** Low / high 16-bit scale of a packed word widened exactly to f32 (bf16: a bit move, one instruction each). */
template <class S>
__device__ __forceinline__ float scale_lo(uint32_t w) {
  if constexpr (Half16<S>::kIsBf16) return __uint_as_float(w << 16);
  else return lo_f32<S>(w);
}
template <class S>
__device__ __forceinline__ float scale_hi(uint32_t w) {
  if constexpr (Half16<S>::kIsBf16) return __uint_as_float(w & 0xFFFF0000u);
  else return hi_f32<S>(w);
}

/** A row-scale pair (rows g, g+8) widened to f32, with -M·a for the conversion FFMA. */
struct RowScales {
  float a[2], nma[2];
};
template <class S>
__device__ __forceinline__ RowScales row_scales(uint32_t as) {
  RowScales r;
  r.a[0] = scale_lo<S>(as);
  r.a[1] = scale_hi<S>(as);
  r.nma[0] = __fmul_rn(r.a[0], -kMagic);
  r.nma[1] = __fmul_rn(r.a[1], -kMagic);
  return r;
}

/**
 * acc += x·w per element, x = RN(p·a) from the MMA's magic-biased D (`d`: 8 words, C order):
 *  f32: acc = fma(x, f32(w), acc);   f16: acc16 = hfma2(RN16(x) pair, w pair, acc16) in the scale dtype.
 */
template <class Cfg>
__device__ __forceinline__ void dequantize(Accumulator<Cfg>& acc, int i, int j, const int (&d)[8], const RowScales& r,
                                           uint2 ws) {
  using S = typename Cfg::ScaleHalf;
  if constexpr (Cfg::ACCUM == Accum::F32) {
    const float w[4] = {scale_lo<S>(ws.x), scale_hi<S>(ws.x), scale_lo<S>(ws.y), scale_hi<S>(ws.y)};
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int row = (e >> 1) & 1;
      const float x = __fmaf_rn(__int_as_float(d[e]), r.a[row], r.nma[row]);
      acc.v[i][j][e] = __fmaf_rn(x, w[(e & 1) + 2 * (e >> 2)], acc.v[i][j][e]);
    }
  } else {
    using T2 = typename Half16<S>::T2;
    const uint32_t cols[2] = {ws.x, ws.y};
#pragma unroll
    for (int q = 0; q < 4; ++q) {  // pair q: elements 2q, 2q+1 — row (q & 1), columns of cols[q >> 1]
      const int row = q & 1;
      const float x0 = __fmaf_rn(__int_as_float(d[2 * q]), r.a[row], r.nma[row]);
      const float x1 = __fmaf_rn(__int_as_float(d[2 * q + 1]), r.a[row], r.nma[row]);
      const T2 p = bits_as<T2>(pack_rn<S>(x0, x1));
      acc.v[i][j][q] = bits_as<uint32_t>(__hfma2(p, bits_as<T2>(cols[q >> 1]), bits_as<T2>(acc.v[i][j][q])));
    }
  }
}

/** The 4-bit MMA with u4 or s4 activations (weights are always s4), m16n8k64 or Turing's four m8n8k32. */
template <bool ACT_U4, Mma MMA>
__device__ __forceinline__ void mma4(int (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  constexpr arch::IntType AT = ACT_U4 ? arch::U4 : arch::S4;
  if constexpr (MMA == Mma::Int4Turing) {
    // m16n8k64 = rows {0..7, 8..15} × k {0..31, 32..63}: A regs 0/2 hold rows g (k lo/hi), 1/3 rows g+8,
    // B regs 0/1 k lo/hi of column g (ptx-fragments.md §1); an m8n8k32 lane holds A[g][8t..8t+7],
    // B[8t..8t+7][g], D (g, 2t), (g, 2t+1). Integer sums are exact, so the order is free.
    int top[2] = {d[0], d[1]}, bottom[2] = {d[2], d[3]};
    arch::mma_m8n8k32<AT, arch::S4, false>(top, a[0], b0, top);
    arch::mma_m8n8k32<AT, arch::S4, false>(top, a[2], b1, top);
    arch::mma_m8n8k32<AT, arch::S4, false>(bottom, a[1], b0, bottom);
    arch::mma_m8n8k32<AT, arch::S4, false>(bottom, a[3], b1, bottom);
    d[0] = top[0];
    d[1] = top[1];
    d[2] = bottom[0];
    d[3] = bottom[1];
  } else {
    const uint32_t b[2] = {b0, b1};
    const int c[4] = {d[0], d[1], d[2], d[3]};
    arch::mma_m16n8k64<AT, arch::S4, false>(d, a, b, c);
  }
}

/**
 * FP4 block-scaled MMA into the fp32 accumulator: sfa is this lane's A scale word (row g + 8·(t & 1),
 * thread-id-a 0, byte-id 0), sfb its B scale word (column g, thread-id-b 0, byte-id 0): ptx-fragments.md
 * §4.4. Only the selected lanes' scale registers are read by the hardware.
 */
template <Mma MMA>
__device__ __forceinline__ void mma_fp4(float* acc, const uint32_t (&a)[4], uint32_t b0, uint32_t b1, uint32_t sfa,
                                        uint32_t sfb) {
  const uint32_t b[2] = {b0, b1};
  float d[4] = {acc[0], acc[1], acc[2], acc[3]};
  if constexpr (MMA == Mma::Nvf4)  // other targets: arch/mma_fp4.h names the -gencode flag needed
    arch::mma_m16n8k64_nvf4(d, a, b, d, sfa, 0, 0, sfb, 0, 0);
  else
    arch::mma_m16n8k64_mxf4(d, a, b, d, sfa, 0, 0, sfb, 0, 0);
#pragma unroll
  for (int e = 0; e < 4; ++e) acc[e] = d[e];
}

/**
 * Computes one k64 step from `f`; `phase` = the step's index inside its k-block (a k-block holds whole
 * groups, so phase % STEPS_PER_GROUP is its index inside its scale group: G = 128 0 or 1, else 0). Each group's first MMA starts from the magic C (exact int32 partial biased by M), a G = 128 group's
 * second continues from the first's D; the group's dequantization follows its last MMA.
 * G = 32: two MMAs per half, each with the other half of the A fragment zeroed (exact).
 */
template <class Cfg>
__device__ __forceinline__ void compute_step(Accumulator<Cfg>& acc, const StepFrags<Cfg>& f, int phase) {
  if constexpr (Cfg::FP4) {
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      const uint32_t a[4] = {f.a[i].x, f.a[i].y, f.a[i].z, f.a[i].w};
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
        mma_fp4<Cfg::MMA>(&acc.v[i][j][0], a, f.b[j].x, f.b[j].y, f.as[i][0], f.ws[j][0].x);
        mma_fp4<Cfg::MMA>(&acc.v[i][j][4], a, f.b[j].z, f.b[j].w, f.as[i][0], f.ws[j][0].y);
      }
    }
    return;
  }
  using S = typename Cfg::ScaleHalf;
  // Static once the caller's loops are unrolled (phase = the step's index in the k-block, mod the group).
  const bool first = phase % Cfg::STEPS_PER_GROUP == 0;
  const bool last = phase % Cfg::STEPS_PER_GROUP == Cfg::STEPS_PER_GROUP - 1;
#pragma unroll
  for (int h = 0; h < Cfg::SPS; ++h) {
#pragma unroll
    for (int i = 0; i < Cfg::WTM; ++i) {
      uint32_t a[4] = {f.a[i].x, f.a[i].y, f.a[i].z, f.a[i].w};
      if constexpr (Cfg::SPS == 2) {  // words 0,1 hold k 0..31; words 2,3 hold k 32..63
        if (h == 0) a[2] = a[3] = 0u;
        else a[0] = a[1] = 0u;
      }
      RowScales r{};
      if (last) r = row_scales<S>(f.as[i][h]);
#pragma unroll
      for (int j = 0; j < Cfg::WTN; ++j) {
        int d[8];
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          d[e] = first ? kMagicBits : acc.p[i][j][e % (Cfg::STEPS_PER_GROUP == 2 ? 8 : 1)];
        }
        int lo[4] = {d[0], d[1], d[2], d[3]};
        int hi[4] = {d[4], d[5], d[6], d[7]};
        mma4<Cfg::ACT_U4, Cfg::MMA>(lo, a, f.b[j].x, f.b[j].y);
        mma4<Cfg::ACT_U4, Cfg::MMA>(hi, a, f.b[j].z, f.b[j].w);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          d[e] = lo[e];
          d[4 + e] = hi[e];
        }
        if (last) {
          dequantize<Cfg>(acc, i, j, d, r, f.ws[j][h]);
        } else if constexpr (Cfg::STEPS_PER_GROUP == 2) {
#pragma unroll
          for (int e = 0; e < 8; ++e) acc.p[i][j][e] = d[e];
        }
      }
    }
  }
}

/** The accumulator as fp32 for the epilogue (f16 accumulation widens exactly). */
template <class Cfg>
__device__ __forceinline__ void to_f32(const Accumulator<Cfg>& acc, WarpTile<Cfg::WTM, Cfg::WTN>& y) {
#pragma unroll
  for (int i = 0; i < Cfg::WTM; ++i)
#pragma unroll
    for (int j = 0; j < Cfg::WTN; ++j)
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        if constexpr (Cfg::ACCUM == Accum::F32) {
          y.v[i][j][e] = acc.v[i][j][e];
        } else {
          const uint32_t w = acc.v[i][j][e >> 1];
          y.v[i][j][e] = (e & 1) ? hi_f32<typename Cfg::ScaleHalf>(w) : lo_f32<typename Cfg::ScaleHalf>(w);
        }
      }
}

}  // namespace svdq::gemm
