// The GEMM's compile-time configuration: one instantiation per plan (codegen/plan/gemm.ts computes
// every number; the generated .cu only spells them out). Derived constants live here so the main
// loop, the loaders and the epilogue agree on them.
#pragma once
#include "../fragment.h"

namespace svdq::gemm {

enum class Staging { Reg, Smem };
enum class Accum { F32, F16 };
/**
 * The 4-bit tensor-core instruction of the main loop (ptx-fragments.md §1, §4):
 *  Int4       m16n8k64 s4/u4 × s4 (sm_80/86/89);
 *  Int4Turing the same 16×8×64 tile as four m8n8k32 s4/u4 (sm_75; same packed fragments);
 *  Nvf4       m16n8k64 kind::mxf4nvf4 scale_vec::4X ue4m3 (NVFP4, G = 16; sm_120a/121a);
 *  Mxf4       m16n8k64 kind::mxf4 scale_vec::2X ue8m0 (MXFP4, G = 32; sm_120a/121a).
 */
enum class Mma { Int4, Int4Turing, Nvf4, Mxf4 };

template <class Half_, class ScaleHalf_, int BM_, int BN_, int KSTEPS_, int WARPS_M_, int WARPS_N_, int STAGES_,
          Staging STAGING_, Accum ACCUM_, bool ACT_U4_, int GROUP_, int RANK_, Mma MMA_ = Mma::Int4>
struct Config {
  using Half = Half_;            // layer dtype: X, Y, bias, low-rank weights
  using ScaleHalf = ScaleHalf_;  // dtype of ascales / wscales (f16 accumulation runs in it)
  static constexpr int BM = BM_, BN = BN_;
  static constexpr int KSTEPS = KSTEPS_;  // k64 steps per main-loop block (blockK / 64)
  static constexpr int WARPS_M = WARPS_M_, WARPS_N = WARPS_N_;
  static constexpr int WARPS = WARPS_M * WARPS_N, THREADS = WARPS * 32;
  static constexpr int STAGES = STAGES_;
  static constexpr Staging STAGING = STAGING_;
  static constexpr Accum ACCUM = ACCUM_;
  static constexpr bool ACT_U4 = ACT_U4_;
  static constexpr int GROUP = GROUP_;
  static constexpr int RANK = RANK_;
  static constexpr Mma MMA = MMA_;
  /** Block-scaled FP4: the scales go into the MMA, which accumulates in fp32 directly (no int partials). */
  static constexpr bool FP4 = MMA == Mma::Nvf4 || MMA == Mma::Mxf4;
  /** FP4 scale bytes per row (or column) and 64-wide k slice: 4 ue4m3 (NVFP4) or 2 ue8m0 (MXFP4). */
  static constexpr int FP4_SCALE_BYTES = MMA == Mma::Nvf4 ? 4 : 2;

  static constexpr int WTM = BM / WARPS_M / 16;  // 16-row tiles per warp
  static constexpr int WTN = BN / WARPS_N / 16;  // 16-column tiles per warp
  static constexpr int BTM = BM / 16, BTN = BN / 16;
  /** Scale groups per k64 step (G = 32: two; else one, shared by two steps when G = 128). */
  static constexpr int SPS = (GROUP == 32 && !FP4) ? 2 : 1;
  /** k64 steps per scale group (G = 128: the int32 partial spans two MMAs before dequantization). */
  static constexpr int STEPS_PER_GROUP = GROUP == 128 ? 2 : 1;

  static_assert(BM % (16 * WARPS_M) == 0 && BN % (16 * WARPS_N) == 0, "warp tile must be whole 16x16 tiles");
  static_assert(FP4 || GROUP == 32 || GROUP == 64 || GROUP == 128, "INT4 group must be 32, 64 or 128");
  static_assert(MMA != Mma::Nvf4 || GROUP == 16, "NVFP4 groups are 16 wide (ue4m3 scale_vec::4X)");
  static_assert(MMA != Mma::Mxf4 || GROUP == 32, "MXFP4 groups are 32 wide (ue8m0 scale_vec::2X)");
  static_assert(!FP4 || ACCUM == Accum::F32, "FP4 MMAs accumulate in fp32");
  static_assert(!FP4 || !ACT_U4, "FP4 activations are signed e2m1");
  static_assert(STAGES >= 1 && KSTEPS >= 1, "stages and k steps");
  static_assert(RANK % 16 == 0, "rank is a multiple of 16");

  // Shared-memory ring (staging = smem): per stage, the block's code tiles (512 B per 16x64 tile) then
  // its scale chunks (INT4: 32 B per 16-row/column tile and group; FP4: 16 rows × 4 or 2 bytes per
  // tile and k64 slice), each for KSTEPS k64 steps.
  static constexpr int TILE_BYTES = 512;
  static constexpr int SCALE_BYTES = FP4 ? 16 * FP4_SCALE_BYTES : 32 * SPS;
  static constexpr int A_CODES = 0;
  static constexpr int B_CODES = A_CODES + KSTEPS * BTM * TILE_BYTES;
  static constexpr int A_SCALES = B_CODES + KSTEPS * BTN * TILE_BYTES;
  static constexpr int B_SCALES = A_SCALES + KSTEPS * BTM * SCALE_BYTES;
  static constexpr int STAGE_BYTES = B_SCALES + KSTEPS * BTN * SCALE_BYTES;
  static constexpr int RING_BYTES = STAGING == Staging::Smem ? STAGES * STAGE_BYTES : 0;
};

}  // namespace svdq::gemm
