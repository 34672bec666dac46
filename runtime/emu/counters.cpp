// Scoring warp requests: 32-byte sectors for global memory, banks and wavefronts for shared memory.
#include "counters.h"

#include <algorithm>

namespace svdq::emu {

void SpaceCounters::add(const SpaceCounters& o) {
  accesses += o.accesses;
  bytes += o.bytes;
  requests += o.requests;
  sectors += o.sectors;
  wavefronts += o.wavefronts;
  bank_conflicts += o.bank_conflicts;
}

void Counters::add(const Counters& o) {
  global_load.add(o.global_load);
  global_store.add(o.global_store);
  shared_load.add(o.shared_load);
  shared_store.add(o.shared_store);
  blocks += o.blocks;
  threads += o.threads;
  barriers += o.barriers;
  warp_collectives += o.warp_collectives;
  for (const auto& [k, v] : o.instructions) instructions[k] += v;
}

void RequestQueue::add(std::uint32_t seq, std::uint32_t lane, std::uint64_t address, std::uint32_t bytes) {
  if (seq >= requests.size()) requests.resize(std::max<std::size_t>(seq + 1, requests.size() * 2));
  if (seq >= used) used = seq + 1;
  Request& r = requests[seq];
  if (r.n < 32) r.lanes[r.n++] = LaneAccess{address, bytes, lane};
}

void RequestQueue::score_global(SpaceCounters& into) {
  std::vector<std::uint64_t> sectors;
  for (std::uint32_t i = 0; i < used; ++i) {
    Request& r = requests[i];
    if (r.n == 0) continue;
    sectors.clear();
    for (std::uint32_t j = 0; j < r.n; ++j) {
      const LaneAccess& a = r.lanes[j];
      if (a.bytes == 0) continue;
      for (std::uint64_t s = a.address >> 5; s <= (a.address + a.bytes - 1) >> 5; ++s) sectors.push_back(s);
    }
    std::sort(sectors.begin(), sectors.end());
    into.sectors += std::unique(sectors.begin(), sectors.end()) - sectors.begin();
    into.requests += 1;
    r.n = 0;
  }
  used = 0;
}

// Shared memory: 32 banks of 4-byte words. Accesses wider than 4 bytes are served in phases
// (8 bytes: two half-warps, 16 bytes: four quarter-warps). A phase needs as many wavefronts as its
// busiest bank has distinct words (same word = broadcast); conflicts are the wavefronts beyond one.
void RequestQueue::score_shared(SpaceCounters& into) {
  for (std::uint32_t i = 0; i < used; ++i) {
    Request& r = requests[i];
    if (r.n == 0) continue;
    std::uint32_t widest = 0;
    for (std::uint32_t j = 0; j < r.n; ++j) widest = std::max(widest, r.lanes[j].bytes);
    const std::uint32_t words_per_lane = std::max<std::uint32_t>(1, std::min<std::uint32_t>(widest, 16) / 4);
    const std::uint32_t lanes_per_phase = 32 / words_per_lane;
    const std::uint32_t phases = 32 / lanes_per_phase;
    static thread_local std::vector<std::uint64_t> words[32];  // scratch, reused
    for (std::uint32_t p = 0; p < phases; ++p) {
      bool any = false;
      for (auto& w : words) w.clear();
      for (std::uint32_t j = 0; j < r.n; ++j) {
        const LaneAccess& a = r.lanes[j];
        if (a.lane / lanes_per_phase != p || a.bytes == 0) continue;
        any = true;
        for (std::uint64_t w = a.address >> 2; w <= (a.address + a.bytes - 1) >> 2; ++w) {
          auto& bank = words[w % 32];
          if (std::find(bank.begin(), bank.end(), w) == bank.end()) bank.push_back(w);
        }
      }
      if (!any) continue;
      std::uint64_t worst = 1;
      for (auto& w : words) worst = std::max<std::uint64_t>(worst, w.size());
      into.wavefronts += worst;
      into.bank_conflicts += worst - 1;
    }
    into.requests += 1;
    r.n = 0;
  }
  used = 0;
}

void InstructionCounts::add(const char* kind, std::uint64_t n) {
  Slot& s = cache_[(reinterpret_cast<std::uintptr_t>(kind) >> 3) % kCache];
  if (s.key != kind) {
    s.key = kind;
    s.value = &counts_[kind];  // unordered_map values keep their address across rehashes
  }
  *s.value += n;
}

void InstructionCounts::merge_into(std::map<std::string, std::uint64_t>& out) {
  for (const auto& [k, v] : counts_)
    if (v) out[k] += v;
}

void InstructionCounts::clear() {
  for (auto& s : cache_) s = Slot{};
  counts_.clear();
}

}  // namespace svdq::emu
