// Host side of the activation kernel's launch, with the compiled config as plain values: which
// arguments it takes and how many K splits a launch gets. act/kernel.h's act_launch uses these for
// the runtime-API launchers; the embedded (driver-API) launchers of `build --embed` vendor this file,
// so both check and split alike. Host code only: no device code, no CUDA header.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "../layer_args.h"

namespace svdq::act {

/** The compiled config's values that decide argument checks and the grid. */
struct ActRules {
  int group;    // the format's group along K (Fmt::kGroup)
  int unit_k;   // channels one quantization unit covers (Fmt::kUnitK)
  int rank;     // compiled low-rank (down) rank
  int block_m;  // rows of X per block
};

/** Why the arguments cannot be taken (null when they can). Mirrors svdq_act_args_t's documentation. */
inline const char* act_args_problem(const svdq_act_args_t* a, const ActRules& r) {
  auto misaligned = [](const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) != 0; };
  if (a == nullptr) return "args is NULL";
  if (a->M < 1) return "M must be >= 1";
  if (a->K < 64 || a->K % 64 != 0 || a->K % r.group != 0) return "K must be a positive multiple of 64 and of the group";
  if (a->rank != r.rank) return "rank differs from the compiled rank";
  if (a->fill_blocks < 0) return "fill_blocks must be >= 0";
  if (!(a->input_scale >= 0.0f) || a->input_scale > 3.0e38f) return "input_scale must be finite and >= 0 (0 = absent)";
  if (a->x == nullptr || a->smooth == nullptr || a->aq == nullptr || a->ascales == nullptr) return "x, smooth, aq and ascales are required";
  if (misaligned(a->aq) || misaligned(a->ascales)) return "aq and ascales must be 16-byte aligned";
  if (r.rank > 0) {
    if (a->lora_down == nullptr || a->lora_act == nullptr) return "lora_down and lora_act are required when rank > 0";
    if (misaligned(a->lora_down) || misaligned(a->lora_act)) return "lora_down and lora_act must be 16-byte aligned";
    if (misaligned(a->lora_partials)) return "lora_partials must be 16-byte aligned";
  }
  return nullptr;
}

/**
 * K splits of a launch (codegen/plan/act.ts actGrid mirrors it): enough blocks to reach fill_blocks,
 * at most one per quantization unit and SVDQ_ACT_MAX_SPLITS; with rank > 0 only as many as lora_partials holds
 * (and none without counters). 1 = no split.
 */
inline int act_splits(const svdq_act_args_t* a, const ActRules& r) {
  const int m_blocks = (a->M + r.block_m - 1) / r.block_m;
  if (a->fill_blocks <= m_blocks) return 1;
  int s = (a->fill_blocks + m_blocks - 1) / m_blocks;
  const int units = a->K / r.unit_k;  // at least one quantization unit per split
  s = s < units ? s : units;
  s = s < SVDQ_ACT_MAX_SPLITS ? s : SVDQ_ACT_MAX_SPLITS;
  if (r.rank > 0 && s > 1) {
    if (a->split_counters == nullptr || a->lora_partials == nullptr) return 1;
    const size_t slice = static_cast<size_t>((a->M + 15) / 16) * 16 * r.rank * 4;
    const size_t fits = a->lora_partials_bytes / slice;
    s = static_cast<size_t>(s) < fits ? s : static_cast<int>(fits);
  }
  return s > 1 ? s : 1;
}

}  // namespace svdq::act
