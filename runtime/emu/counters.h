// Traffic and instruction counters. Accesses are grouped into warp requests: lane i's n-th access of a
// space (global load, global store, shared load, shared store) since the warp last synchronised as a
// whole belongs to the warp's n-th request of that space. Requests are scored when the warp
// synchronises (full-warp collective, __syncthreads, block end).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace svdq::emu {

struct SpaceCounters {
  std::uint64_t accesses = 0;  // thread-level accesses
  std::uint64_t bytes = 0;     // bytes moved
  std::uint64_t requests = 0;  // warp-level requests
  std::uint64_t sectors = 0;   // global: distinct 32-byte sectors summed over requests
  std::uint64_t wavefronts = 0;     // shared: wavefronts (phases × worst bank's distinct words)
  std::uint64_t bank_conflicts = 0; // shared: wavefronts beyond one per phase
  void add(const SpaceCounters& o);
};

struct Counters {
  SpaceCounters global_load, global_store, shared_load, shared_store;
  std::uint64_t blocks = 0, threads = 0, barriers = 0, warp_collectives = 0;
  std::map<std::string, std::uint64_t> instructions;
  void add(const Counters& o);
  void clear() { *this = Counters{}; }
};

/** One lane's part of a warp request. */
struct LaneAccess {
  std::uint64_t address;
  std::uint32_t bytes;
  std::uint32_t lane;
};

/** The accesses of one warp request (at most one per lane). */
struct Request {
  std::uint32_t n = 0;
  LaneAccess lanes[32];
};

/** The pending requests of one space of one warp, indexed by per-lane sequence number. */
struct RequestQueue {
  std::vector<Request> requests;
  std::uint32_t used = 0;
  void add(std::uint32_t seq, std::uint32_t lane, std::uint64_t address, std::uint32_t bytes);
  void score_global(SpaceCounters& into);
  void score_shared(SpaceCounters& into);
};

/** Fast per-worker instruction counts keyed by the `kind` literal's address. */
class InstructionCounts {
 public:
  void add(const char* kind, std::uint64_t n);
  void merge_into(std::map<std::string, std::uint64_t>& out);
  void clear();

 private:
  struct Slot {
    const char* key = nullptr;
    std::uint64_t* value = nullptr;
  };
  static constexpr unsigned kCache = 64;
  Slot cache_[kCache];
  std::unordered_map<const char*, std::uint64_t> counts_;
};

}  // namespace svdq::emu
