// The emulator hooks: the only engine API the `#else` (emulator) twins in runtime/include/svdq/arch/ use.
// Stable contract (runtime/include/svdq/README.md). Declarations only compile under nvcc too (its host
// pass parses __device__ bodies with __CUDA_ARCH__ undefined); the definitions live in the engine library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace svdq::emu {
namespace detail {

struct Idx3 {
  unsigned x, y, z;
};

/** What a running emulated thread exposes to inline code (threadIdx, lane). Null on host threads. */
struct ThreadView {
  Idx3 thread_idx;
  int lane;    // linear thread index % 32
  int warp;    // linear thread index / 32
  int linear;  // x + y*bx + z*bx*by
};
extern __thread ThreadView* tl_thread;

const void* warp_exchange_raw(unsigned mask, const void* mine, std::size_t bytes, std::size_t align,
                              const char* what);
}  // namespace detail

/** Lane of the running fiber (linear thread index % 32); 0 on a host thread. */
inline int lane_id() { return detail::tl_thread ? detail::tl_thread->lane : 0; }

/**
 * Warp collective: every lane named in `mask` calls it with its payload; returns once all have arrived
 * (lanes that exited are excused). Slot i holds lane i's payload (slots of lanes outside `mask` or
 * exited are zero). Valid until the caller's next collective. A lane that never arrives is reported
 * (kernel, block, threads) instead of hanging; so is a caller outside `mask` or lanes meeting with a
 * different `what` or payload size.
 */
template <class T>
const T* warp_exchange(unsigned mask, const T& mine, const char* what) {
  static_assert(std::is_trivially_copyable<T>::value, "warp_exchange payloads must be trivially copyable");
  return static_cast<const T*>(detail::warp_exchange_raw(mask, &mine, sizeof(T), alignof(T), what));
}

/**
 * Global-memory access checks and traffic counters. Call BEFORE performing the access: an
 * out-of-bounds or misaligned access (p % align != 0; pass align 0 or 1 to skip) is reported and the
 * block is abandoned (the call does not return), like a GPU trapping. Reads of never-written bytes are
 * reported and execution continues. Lane i's n-th load (store) between two full-warp synchronisation
 * points belongs to the warp's n-th load (store) request; 32-byte sectors are counted per request.
 */
void on_global_load(const void* p, std::size_t bytes, std::size_t align, const char* what);
void on_global_store(const void* p, std::size_t bytes, std::size_t align, const char* what);

/**
 * Shared-memory checks (races between warps with no __syncthreads() between; reads of bytes not
 * written by this block; out of the dynamic shared allocation) and bank-conflict counters.
 */
void on_shared_load(const void* p, std::size_t bytes, const char* what);
void on_shared_store(const void* p, std::size_t bytes, const char* what);

/**
 * Per-launch instruction counters, summed over every call: call it from every thread that executes
 * the instruction (a full-warp instruction then counts 32). `kind` must outlive the launch (a literal).
 */
void count(const char* kind, std::uint64_t n = 1);

}  // namespace svdq::emu
