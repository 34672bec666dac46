// Host side of a generated GEMM launcher: argument validation against the compiled config (nothing is
// launched on a bad argument; SVDQ_ERR_INVALID_ARG), and the grid. The launcher in templates/gemm.cu.hbs
// calls these, then SVDQ_LAUNCH.
#pragma once
#include <stdint.h>

#include "../layer_args.h"

namespace svdq::gemm {

/** What the compiled epilogue chain reads and writes (the plan spells it out). */
struct ArgRules {
  int group;       // this layer's group (INT4 32/64/128, NVFP4 16, MXFP4 32)
  int rank;        // compiled low-rank (up) rank; 0 = none
  bool bias;       // reads bias
  bool lowrank;    // reads lora_act, lora_up, lora_scales
  bool store;      // writes y
  bool qnext;      // writes next_aq, next_ascales
  int next_group;  // the next layer's group (qnext)
  int next_unit;   // columns one qnext unit covers: max(64, next_group)
  int next_rank;   // compiled next-layer down rank; 0 = none
  int block_m, block_n;
  bool alpha_scales;  // NVFP4: alpha is the per-tensor scale product (any finite value); else it must be 1
};

inline bool aligned(const void* p, uintptr_t bytes) { return (reinterpret_cast<uintptr_t>(p) % bytes) == 0; }

inline svdq_status_t validate_args(const svdq_gemm_args_t* a, const ArgRules& r) {
  if (a == nullptr) return SVDQ_ERR_INVALID_ARG;
  if (a->M < 1 || a->N < 16 || a->N % 16 != 0 || a->K < 64 || a->K % 64 != 0 || a->K % r.group != 0)
    return SVDQ_ERR_INVALID_ARG;
  if ((a->M + r.block_m - 1) / r.block_m > 65535) return SVDQ_ERR_INVALID_ARG;  // gridDim.y limit
  if (a->rank != r.rank) return SVDQ_ERR_INVALID_ARG;
  if (r.alpha_scales ? !(a->alpha - a->alpha == 0.0f) : a->alpha != 1.0f)  // INT4/MXFP4: no per-tensor scale
    return SVDQ_ERR_INVALID_ARG;
  // Packed operands: 16-byte fragments (and 16-byte cp.async chunks of the scales).
  if (!a->aq || !a->ascales || !a->wq || !a->wscales) return SVDQ_ERR_INVALID_ARG;
  if (!aligned(a->aq, 16) || !aligned(a->ascales, 16) || !aligned(a->wq, 16) || !aligned(a->wscales, 16))
    return SVDQ_ERR_INVALID_ARG;
  if (r.bias && (!a->bias || !aligned(a->bias, 4))) return SVDQ_ERR_INVALID_ARG;
  if (r.lowrank && r.rank > 0) {
    if (!a->lora_act || !a->lora_up || !a->lora_scales || a->lora_act_slices < 1) return SVDQ_ERR_INVALID_ARG;
    if (!aligned(a->lora_act, 16) || !aligned(a->lora_up, 16) || !aligned(a->lora_scales, 4))
      return SVDQ_ERR_INVALID_ARG;
  }
  if (r.store && (!a->y || !aligned(a->y, 16))) return SVDQ_ERR_INVALID_ARG;  // 16-byte row stores
  if (r.qnext) {
    // The next layer's K is this N: a multiple of its group and of the quantization unit.
    if (a->N % r.next_unit != 0 || a->N % r.next_group != 0) return SVDQ_ERR_INVALID_ARG;
    if (!a->next_smooth || !a->next_aq || !a->next_ascales) return SVDQ_ERR_INVALID_ARG;
    if (!aligned(a->next_smooth, 4) || !aligned(a->next_aq, 16) || !aligned(a->next_ascales, 4))  // FP4: 2- or 4-byte scale stores
      return SVDQ_ERR_INVALID_ARG;
    if (a->next_rank != r.next_rank) return SVDQ_ERR_INVALID_ARG;
    if (r.next_rank > 0 && (!a->next_lora_down || !a->next_lora_act || !aligned(a->next_lora_down, 16) ||
                            !aligned(a->next_lora_act, 16)))
      return SVDQ_ERR_INVALID_ARG;
  }
  return SVDQ_OK;
}

}  // namespace svdq::gemm
