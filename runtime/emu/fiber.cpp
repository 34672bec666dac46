// Context switch. x86-64 SysV: rbx, rbp, r12-r15 and rsp are callee-saved, so a switch pushes those six
// registers, swaps stack pointers and pops the other context's six. The FP control words (mxcsr, x87)
// are shared by every fiber of an OS thread; kernels never change them.
#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace svdq::emu {

FiberStack::FiberStack(std::size_t bytes) {
  const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  guard_ = page;
  total_ = guard_ + ((bytes + page - 1) / page) * page;
  void* p = mmap(nullptr, total_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "svdq-emu: cannot map a %zu-byte fiber stack\n", total_);
    std::abort();
  }
  base_ = static_cast<char*>(p);
  mprotect(base_, guard_, PROT_NONE);
}

FiberStack::FiberStack(FiberStack&& o) noexcept
    : base_(std::exchange(o.base_, nullptr)), total_(std::exchange(o.total_, 0)), guard_(std::exchange(o.guard_, 0)) {}

FiberStack& FiberStack::operator=(FiberStack&& o) noexcept {
  if (this != &o) {
    if (base_) munmap(base_, total_);
    base_ = std::exchange(o.base_, nullptr);
    total_ = std::exchange(o.total_, 0);
    guard_ = std::exchange(o.guard_, 0);
  }
  return *this;
}

FiberStack::~FiberStack() {
  if (base_) munmap(base_, total_);
}

#if defined(SVDQ_EMU_ASM_SWITCH)

extern "C" void svdq_emu_ctx_switch(void** save_sp, void* load_sp);
extern "C" void svdq_emu_ctx_entry();

// svdq_emu_ctx_entry runs first on a fresh stack: r12 = arg, r13 = entry (placed by fiber_prepare).
asm(R"(
  .text
  .globl svdq_emu_ctx_switch
  .type svdq_emu_ctx_switch,@function
  .p2align 4
svdq_emu_ctx_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size svdq_emu_ctx_switch,.-svdq_emu_ctx_switch

  .globl svdq_emu_ctx_entry
  .type svdq_emu_ctx_entry,@function
  .p2align 4
svdq_emu_ctx_entry:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size svdq_emu_ctx_entry,.-svdq_emu_ctx_entry
)");

void fiber_prepare(FiberContext& ctx, const FiberStack& stack, FiberEntry entry, void* arg) {
  // Top aligned to 16: after the six pops and `ret`, rsp == top, so the `call` in the entry stub
  // gives the callee the ABI's rsp+8 ≡ 0 (mod 16).
  auto top = reinterpret_cast<std::uintptr_t>(stack.top()) & ~std::uintptr_t{15};
  auto* slots = reinterpret_cast<std::uint64_t*>(top) - 7;
  slots[0] = 0;                                                  // r15
  slots[1] = 0;                                                  // r14
  slots[2] = reinterpret_cast<std::uint64_t>(entry);             // r13
  slots[3] = reinterpret_cast<std::uint64_t>(arg);               // r12
  slots[4] = 0;                                                  // rbx
  slots[5] = 0;                                                  // rbp
  slots[6] = reinterpret_cast<std::uint64_t>(&svdq_emu_ctx_entry);  // return address
  ctx.sp = slots;
}

void fiber_switch(FiberContext& from, FiberContext& to) { svdq_emu_ctx_switch(&from.sp, to.sp); }

#else  // ucontext fallback (costs a sigprocmask syscall per switch)

namespace {
struct Start {
  FiberEntry entry;
  void* arg;
};
void trampoline(unsigned hi, unsigned lo) {
  auto* s = reinterpret_cast<Start*>((static_cast<std::uintptr_t>(hi) << 32) | lo);
  s->entry(s->arg);
  std::abort();
}
}  // namespace

void fiber_prepare(FiberContext& ctx, const FiberStack& stack, FiberEntry entry, void* arg) {
  // The Start record lives at the top of the fiber's own stack.
  auto* start = reinterpret_cast<Start*>(stack.top() - 64);
  start->entry = entry;
  start->arg = arg;
  getcontext(&ctx.uc);
  ctx.uc.uc_stack.ss_sp = stack.bottom();
  ctx.uc.uc_stack.ss_size = stack.size() - 128;
  ctx.uc.uc_link = nullptr;
  auto v = reinterpret_cast<std::uintptr_t>(start);
  makecontext(&ctx.uc, reinterpret_cast<void (*)()>(trampoline), 2, static_cast<unsigned>(v >> 32),
              static_cast<unsigned>(v));
}

void fiber_switch(FiberContext& from, FiberContext& to) { swapcontext(&from.uc, &to.uc); }

#endif

}  // namespace svdq::emu
