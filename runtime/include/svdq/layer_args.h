// The C ABI between generated launchers and every host (the harness, the export library, users).
// One SVDQuant layer = the activation kernel (quantize X, compute X·L1) + the GEMM (4-bit product,
// epilogue chain). All packed tensors follow docs/layouts.md. Plain C so it can cross any boundary.
#ifndef SVDQ_LAYER_ARGS_H
#define SVDQ_LAYER_ARGS_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  SVDQ_OK = 0,
  SVDQ_ERR_INVALID_ARG = 1,  // a shape, pointer or alignment the kernel cannot take; nothing launched
  SVDQ_ERR_LAUNCH = 2,       // the launch itself failed (cudaGetLastError / emulator report)
  SVDQ_ERR_UNSUPPORTED = 3,  // this build has no kernel for the request (arch, format, rank)
} svdq_status_t;

// Activation kernel: X [M, K] row-major (layer dtype) → packed codes, scales and X·L1.
typedef struct {
  int M, K;
  int rank;                // must equal the kernel's compiled rank (0: lora_down/lora_act unused)
  const void* x;           // [M, K] fp16/bf16, row-major, row stride K
  const void* smooth;      // [K] layer dtype
  float shift;             // added before smoothing for u4 activations; 0 for signed codes
  const void* lora_down;   // packed [K/16][R/16][32][8] layer dtype
  void* aq;                // out: packed codes, Mp·K/2 bytes (Mp = ceil(M/16)·16)
  void* ascales;           // out: packed activation scales (INT4: layer scale dtype; FP4: bytes)
  float* lora_act;         // out: one slice [Mp/16][R/16][32][8] fp32
  // Appended fields; all-zero keeps the original behaviour (no K split, no activation tensor scale).
  // K split across blocks so small M still fills the GPU (docs/numerics.md "K split"): the launcher runs
  // S = min(ceil(fill_blocks / ceil(M/blockM)), K / unit, SVDQ_ACT_MAX_SPLITS, what lora_partials holds)
  // splits; with rank > 0 each split writes its X·L1 partial to lora_partials and the last block of a row
  // block to arrive (integer counter) sums the partials in split order: deterministic, no float atomics.
  int fill_blocks;         // blocks the grid should reach (e.g. the SM count); 0: one block per blockM rows
  int* split_counters;     // >= fill_blocks ints, all 0 before the first launch; every launch leaves them 0
  float* lora_partials;    // scratch: S slices of [Mp/16][R/16][32][8] fp32 (svdq_act_partials_bytes)
  size_t lora_partials_bytes;
  float input_scale;       // NVFP4 per-tensor activation scale (ModelOpt input_scale); 0 = absent = 1
} svdq_act_args_t;

// The most K splits an activation launch uses.
#define SVDQ_ACT_MAX_SPLITS 64

// Bytes of lora_partials that let an activation kernel of `block_m` rows per block run every split it
// wants for M rows at rank `rank` with `fill_blocks` (0 when no split or rank 0). Mirrors
// codegen/plan/act.ts actPartialsBytes.
static inline size_t svdq_act_partials_bytes(int M, int rank, int block_m, int fill_blocks) {
  const int m_blocks = (M + block_m - 1) / block_m;
  if (rank <= 0 || fill_blocks <= m_blocks) return 0;
  int s = (fill_blocks + m_blocks - 1) / m_blocks;
  if (s > SVDQ_ACT_MAX_SPLITS) s = SVDQ_ACT_MAX_SPLITS;
  return (size_t)s * (size_t)((M + 15) / 16 * 16) * (size_t)rank * 4u;
}

// GEMM: Y [M, N] = deq(aq·wq) · alpha (+ bias) (+ (Σ_s lora_act_s · scales) · L2) → activation → outputs.
typedef struct {
  int M, N, K;
  int rank;                // must equal the kernel's compiled rank
  const void* aq;          // packed activation codes (from the activation kernel or a qnext epilogue)
  const void* ascales;
  const void* wq;          // packed weight codes
  const void* wscales;
  float alpha;             // per-tensor scale product (NVFP4); 1.0f for INT4 and MXFP4
  const void* bias;        // [N] layer dtype, or NULL when the kernel has no bias
  const float* lora_act;   // S slices of [Mp/16][R/16][32][8] fp32
  int lora_act_slices;     // S ≥ 1 (summed in order)
  const void* lora_up;     // packed [N/16][R/16][32][8] layer dtype
  const float* lora_scales;// [R/16] fp32
  void* y;                 // out: [M, N] layer dtype (NULL when qnext drops the 16-bit output)
  // qnext: quantize the output for the next layer (its K = this N)
  const void* next_smooth; // [N] layer dtype
  float next_shift;
  int next_rank;           // the next layer's compiled down-projection rank (0: none)
  const void* next_lora_down; // packed [N/16][Rn/16][32][8]
  void* next_aq;           // out: packed codes Mp·N/2 bytes
  void* next_ascales;      // out
  float* next_lora_act;    // out: N/blockN slices of [Mp/16][Rn/16][32][8] fp32
  // cscale: per-channel output scales (NVFP4 `wcscales`), [N] layer dtype, applied before bias
  const void* wcscales;    // NULL = all 1 (and when the kernel has no cscale step)
} svdq_gemm_args_t;

#ifdef __cplusplus
}
#endif
#endif
