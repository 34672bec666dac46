// cp.async.cg.shared.global 16 B with zero-fill, commit_group, wait_group (ptx-fragments.md §6), sm_80+.
// Emulator twin, faithful to the visibility rules: the global source is read (and checked) when the
// copy is issued, but the shared destination is written only when a cp_async_wait<N> retires the copy's
// committed group — so a kernel that reads a stage before waiting for it sees stale bytes, as a GPU may.
// Copies never committed are not retired by wait_group (PTX); copies left pending when the block ends
// are dropped (their shared memory dies with the block).
#pragma once
#include "detail.h"

#if defined(SVDQ_EMU)
#include <cstring>
#include <vector>

#include "../../../emu/state.h"  // tl_worker->block_serial: tells a new block's thread from a stale one

namespace svdq::arch::cp_async_detail {
struct Pending {
  void* dst;
  uint32_t group;
  unsigned char data[16];
};
struct ThreadQueue {
  uint32_t block_serial = 0;
  uint32_t open_group = 0;  // id of the group uncommitted copies belong to
  std::vector<Pending> pending;
};
inline ThreadQueue& queue() {
  const auto* w = emu::detail::tl_worker;
  const auto* t = emu::detail::tl_thread;
  if (!w || !t) emu_detail::undefined_behaviour("cp.async", "called outside an emulated kernel");
  static thread_local std::vector<ThreadQueue> queues;
  const std::size_t i = static_cast<std::size_t>(t->linear);
  if (queues.size() <= i) queues.resize(i + 1);
  ThreadQueue& q = queues[i];
  if (q.block_serial != w->block_serial) {  // first use in this block: forget a previous block's leftovers
    q.block_serial = w->block_serial;
    q.open_group = 0;
    q.pending.clear();
  }
  return q;
}
// Retires (lands) every committed copy of a group older than the newest `keep` committed groups.
inline void retire(ThreadQueue& q, uint32_t keep) {
  if (q.open_group < keep) return;
  const uint32_t limit = q.open_group - keep;  // groups with id < limit complete
  std::size_t out = 0;
  for (std::size_t i = 0; i < q.pending.size(); ++i) {
    Pending& p = q.pending[i];
    if (p.group < limit) {
      emu::on_shared_store(p.dst, 16, "cp.async");
      std::memcpy(p.dst, p.data, 16);
    } else {
      q.pending[out++] = p;
    }
  }
  q.pending.resize(out);
}
}  // namespace svdq::arch::cp_async_detail
#endif

namespace svdq::arch {

/**
 * Copies 16 bytes global -> shared asynchronously; only the first `src_bytes` (0..16) are read, the rest of
 * the destination is zero-filled (src_bytes = 0: nothing is read, 16 zeros land). Both addresses 16-byte aligned.
 */
template <int kUnused = 0>
SVDQ_ARCH_FN void cp_async_cg16(void* smem, const void* gmem, uint32_t src_bytes) {
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(static_cast<unsigned>(__cvta_generic_to_shared(smem))),
               "l"(gmem), "r"(src_bytes)
               : "memory");
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "cp.async requires sm_80 or newer (ptx-fragments.md section 6)");
#endif
#elif defined(SVDQ_EMU)
  if (src_bytes > 16) emu_detail::undefined_behaviour("cp.async.cg", "src-size larger than the copy size 16");
  if (reinterpret_cast<std::uintptr_t>(smem) % 16 != 0)
    emu_detail::undefined_behaviour("cp.async.cg", "shared destination not 16-byte aligned");
  if (reinterpret_cast<std::uintptr_t>(gmem) % 16 != 0)
    emu_detail::undefined_behaviour("cp.async.cg", "global source not 16-byte aligned");
  cp_async_detail::ThreadQueue& q = cp_async_detail::queue();
  cp_async_detail::Pending p{smem, q.open_group, {}};
  if (src_bytes > 0) {
    emu::on_global_load(gmem, src_bytes, 1, "cp.async");
    std::memcpy(p.data, gmem, src_bytes);
  }
  q.pending.push_back(p);
  emu::count("cp.async.cg.16");
#endif
}

/** cp.async.commit_group: closes this thread's current group (an empty group if nothing is pending). */
template <int kUnused = 0>
SVDQ_ARCH_FN void cp_async_commit() {
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;\n" ::: "memory");
#else
  SVDQ_ARCH_UNSUPPORTED(kUnused, "cp.async requires sm_80 or newer");
#endif
#elif defined(SVDQ_EMU)
  ++cp_async_detail::queue().open_group;
  emu::count("cp.async.commit_group");
#endif
}

/** cp.async.wait_group N: returns when at most the N most recent committed groups are still pending. */
template <int N>
SVDQ_ARCH_FN void cp_async_wait() {
  static_assert(N >= 0, "wait_group count must be non-negative");
#if defined(__CUDA_ARCH__)
#if __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#else
  SVDQ_ARCH_UNSUPPORTED(N, "cp.async requires sm_80 or newer");
#endif
#elif defined(SVDQ_EMU)
  cp_async_detail::retire(cp_async_detail::queue(), static_cast<uint32_t>(N));
  emu::count("cp.async.wait_group");
#endif
}

}  // namespace svdq::arch
