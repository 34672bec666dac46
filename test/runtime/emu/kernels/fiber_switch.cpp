// Drives runtime/emu/fiber.cpp alone: three fibers ping-pong with a scheduler context, each keeping
// callee-saved and floating-point state across switches. Built twice by the test: with the hand-written
// x86-64 switch and with SVDQ_EMU_FORCE_UCONTEXT (the fallback for other CPUs).
#include <cstdio>

#include "fiber.h"

using namespace svdq::emu;

namespace {
FiberContext sched;
FiberContext ctx[3];
long counters[3];
double sums[3];

void body(void* arg) {
  const long id = reinterpret_cast<long>(arg);
  double local = 0.5 * static_cast<double>(id);  // lives across switches in registers or on this stack
  for (int i = 0; i < 1000; ++i) {
    local += 1.0;
    ++counters[id];
    fiber_switch(ctx[id], sched);
  }
  sums[id] = local;
  for (;;) fiber_switch(ctx[id], sched);  // finished: park forever
}
}  // namespace

int main() {
  FiberStack stacks[3] = {FiberStack(64 * 1024), FiberStack(64 * 1024), FiberStack(64 * 1024)};
  for (long i = 0; i < 3; ++i) fiber_prepare(ctx[i], stacks[i], &body, reinterpret_cast<void*>(i));
  for (int round = 0; round <= 1000; ++round)
    for (int i = 0; i < 3; ++i) fiber_switch(sched, ctx[i]);
  std::printf("counters %ld %ld %ld sums %.1f %.1f %.1f\n", counters[0], counters[1], counters[2], sums[0], sums[1], sums[2]);
  return 0;
}
