// PTX shfl.sync lane selection (PTX §9.7.9.6 `shfl.sync`, quoted in ptx-fragments.md §7): for mode
// idx/up/down/bfly, source lane b and control c (c[4:0] clamp, c[12:8] segment mask), which lane a
// thread reads and whether that lane is in range (out of range: the thread keeps its own value).
// Plus CUDA's __shfl_*_sync(width) -> c encoding. Pure; unit-tested.
#pragma once
#include <cstdint>

namespace svdq::isa {

enum class ShflMode { Idx, Up, Down, Bfly };

struct ShflSource { int lane; bool in_range; };

inline ShflSource shfl_source(ShflMode mode, int lane, uint32_t b, uint32_t c) {
  const uint32_t segmask = (c >> 8) & 0x1F, clamp = c & 0x1F;
  const int max_lane = static_cast<int>((static_cast<uint32_t>(lane) & segmask) | (clamp & ~segmask));
  const int min_lane = static_cast<int>(static_cast<uint32_t>(lane) & segmask);
  int j = 0;
  bool ok = false;
  switch (mode) {
    case ShflMode::Up: j = lane - static_cast<int>(b & 0x1F); ok = j >= max_lane; break;
    case ShflMode::Down: j = lane + static_cast<int>(b & 0x1F); ok = j <= max_lane; break;
    case ShflMode::Bfly: j = lane ^ static_cast<int>(b & 0x1F); ok = j <= max_lane; break;
    case ShflMode::Idx: j = min_lane | static_cast<int>(b & 0x1F & ~segmask); ok = j <= max_lane; break;
  }
  return ok ? ShflSource{j, true} : ShflSource{lane, false};
}

// CUDA's encoding of `width` (a power of two <= 32): segment mask (32 - width) << 8, and the clamp
// 0x1F for idx/down/xor, 0 for up (the lowest lane of the segment).
inline uint32_t shfl_c_for_width(ShflMode mode, int width) {
  const uint32_t seg = static_cast<uint32_t>(32 - width) << 8;
  return mode == ShflMode::Up ? seg : (seg | 0x1F);
}

}  // namespace svdq::isa
