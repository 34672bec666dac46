// Warp shuffles and votes. Under nvcc these are CUDA's own intrinsics (PG §10.22, ptx-fragments.md §7);
// under g++ the twins below implement PTX shfl.sync lane selection exactly (runtime/emu/isa/shfl.h) over
// one warp_exchange, so a butterfly reduction reproduces the GPU's tree order bit for bit.
#pragma once
#include "../../../emu/isa/shfl.h"
#include "detail.h"

#if defined(SVDQ_EMU)
#include <cstring>

#include "../../../emu/emu.h"  // tl_block for __activemask

namespace svdq::arch::warp_detail {
template <class T>
inline T shfl(unsigned mask, T var, isa::ShflMode mode, uint32_t b, int width, const char* what) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "shuffles move 4 or 8 bytes");
  if (width < 1 || width > 32 || (width & (width - 1)) != 0)
    emu_detail::undefined_behaviour(what, "width must be a power of two in [1, 32]");
  const int lane = emu::lane_id();
  const T* all = emu::warp_exchange(mask, var, what);
  const isa::ShflSource s = isa::shfl_source(mode, lane, b, isa::shfl_c_for_width(mode, width));
  emu::count(what);
  if (!s.in_range) return var;
  if (!((mask >> s.lane) & 1u))
    emu_detail::undefined_behaviour(what, "source lane " + std::to_string(s.lane) + " is not in the member mask");
  return all[s.lane];
}
}  // namespace svdq::arch::warp_detail

template <class T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = 32) {
  return svdq::arch::warp_detail::shfl(mask, var, svdq::isa::ShflMode::Idx, static_cast<uint32_t>(srcLane), width,
                                       "shfl.sync.idx");
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return svdq::arch::warp_detail::shfl(mask, var, svdq::isa::ShflMode::Up, delta, width, "shfl.sync.up");
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = 32) {
  return svdq::arch::warp_detail::shfl(mask, var, svdq::isa::ShflMode::Down, delta, width, "shfl.sync.down");
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = 32) {
  return svdq::arch::warp_detail::shfl(mask, var, svdq::isa::ShflMode::Bfly, static_cast<uint32_t>(laneMask), width,
                                       "shfl.sync.bfly");
}

/** vote.sync.ballot: bit i set iff lane i is in `mask` and its predicate is non-zero. */
inline unsigned __ballot_sync(unsigned mask, int pred) {
  const int* all = svdq::emu::warp_exchange(mask, pred ? 1 : 0, "vote.sync.ballot");
  unsigned r = 0;
  for (int i = 0; i < 32; ++i)
    if (((mask >> i) & 1u) && all[i]) r |= 1u << i;
  svdq::emu::count("vote.sync.ballot");
  return r;
}
inline int __any_sync(unsigned mask, int pred) {
  const int* all = svdq::emu::warp_exchange(mask, pred ? 1 : 0, "vote.sync.any");
  int r = 0;
  for (int i = 0; i < 32; ++i)
    if (((mask >> i) & 1u) && all[i]) r = 1;
  svdq::emu::count("vote.sync.any");
  return r;
}
inline int __all_sync(unsigned mask, int pred) {
  const int* all = svdq::emu::warp_exchange(mask, pred ? 1 : 0, "vote.sync.all");
  int r = 1;
  for (int i = 0; i < 32; ++i)
    if (((mask >> i) & 1u) && !all[i]) r = 0;
  svdq::emu::count("vote.sync.all");
  return r;
}
/**
 * The emulator runs every warp converged, so the active mask is every lane of this warp that exists
 * (a partial last warp has fewer than 32).
 */
inline unsigned __activemask() {
  const auto* t = svdq::emu::detail::tl_thread;
  if (!t) return 1u;
  const auto* b = svdq::emu::detail::tl_block;
  const unsigned n = b ? b->block_dim.x * b->block_dim.y * b->block_dim.z : 32u;
  const unsigned first = static_cast<unsigned>(t->warp) * 32u;
  const unsigned lanes = n - first >= 32u ? 32u : n - first;
  return lanes >= 32u ? 0xFFFFFFFFu : ((1u << lanes) - 1u);
}
#endif  // SVDQ_EMU
