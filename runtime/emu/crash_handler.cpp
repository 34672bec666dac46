// A fault inside an emulated thread cannot be recovered, but it can be named: a SIGSEGV/SIGBUS handler
// (on an alternate stack, since the faulting stack may be the one that overflowed) prints the kernel,
// block and thread, says whether the fiber's stack guard page was hit (raise SVDQ_EMU_STACK_KB), and
// then lets the default action end the process.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <vector>

#include "state.h"

namespace svdq::emu::detail {
namespace {

void on_fault(int sig, siginfo_t* info, void*) {
  const Worker* w = tl_worker;
  const Fiber* f = tl_fiber;
  if (w && f && w->launch) {
    bool overflow = false;
    for (const FiberStack& s : w->stacks) overflow = overflow || s.in_guard(info->si_addr);
    char msg[512];
    const int n = std::snprintf(
        msg, sizeof msg, "svdq-emu: %s in kernel %s block (%u,%u,%u) thread (%u,%u,%u) at address %p%s\n",
        overflow ? "stack overflow" : (sig == SIGBUS ? "bus error" : "segmentation fault"), w->launch->kernel.c_str(),
        w->block_view.block_idx.x, w->block_view.block_idx.y, w->block_view.block_idx.z, f->thread_idx.x,
        f->thread_idx.y, f->thread_idx.z, info->si_addr,
        overflow ? " (the emulated thread's stack is full: set SVDQ_EMU_STACK_KB above its current size)"
                 : " (an access that bypassed the checked accessors?)");
    if (n > 0) (void)!write(2, msg, static_cast<std::size_t>(n) < sizeof msg ? n : sizeof msg - 1);
  }
  signal(sig, SIG_DFL);  // returning re-executes the faulting access, which now ends the process
}

}  // namespace

void install_fault_handler() {
  // Each OS thread that runs fibers needs its own alternate signal stack.
  thread_local std::vector<char> alt;
  if (alt.empty()) {
    alt.resize(64 * 1024);
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
  }
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace svdq::emu::detail
