// Fibers: one per emulated GPU thread, cooperatively switched on one OS thread. On x86-64 the switch
// is a hand-written save/restore of the callee-saved registers (no signal-mask syscall, a few ns);
// elsewhere it falls back to ucontext.
#pragma once

#include <cstddef>

// SVDQ_EMU_FORCE_UCONTEXT selects the portable fallback on x86-64 too (tests exercise both).
#if defined(__x86_64__) && !defined(SVDQ_EMU_FORCE_UCONTEXT)
#define SVDQ_EMU_ASM_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace svdq::emu {

/** A machine stack from mmap with a PROT_NONE guard page below it (overflow faults, never corrupts). */
class FiberStack {
 public:
  FiberStack() = default;
  explicit FiberStack(std::size_t bytes);
  FiberStack(const FiberStack&) = delete;
  FiberStack& operator=(const FiberStack&) = delete;
  FiberStack(FiberStack&& o) noexcept;
  FiberStack& operator=(FiberStack&& o) noexcept;
  ~FiberStack();
  char* bottom() const { return base_ + guard_; }
  char* top() const { return base_ + total_; }
  std::size_t size() const { return total_ - guard_; }
  /** True if `p` lies in the guard page (a stack overflow). */
  bool in_guard(const void* p) const { return static_cast<const char*>(p) >= base_ && static_cast<const char*>(p) < base_ + guard_; }

 private:
  char* base_ = nullptr;
  std::size_t total_ = 0, guard_ = 0;
};

/** A suspended execution context. */
struct FiberContext {
#if defined(SVDQ_EMU_ASM_SWITCH)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

using FiberEntry = void (*)(void* arg);

/** Prepares `ctx` so that switching to it runs entry(arg) on `stack`. entry must never return. */
void fiber_prepare(FiberContext& ctx, const FiberStack& stack, FiberEntry entry, void* arg);

/** Saves the running context into `from` and resumes `to`. */
void fiber_switch(FiberContext& from, FiberContext& to);

}  // namespace svdq::emu
