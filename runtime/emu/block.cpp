// Running one block: its threads are fibers on the calling OS thread, scheduled round-robin from a run
// queue. A fiber leaves the queue when it waits at __syncthreads() or in a warp collective and is put
// back by the arrival that completes it. An empty queue with live fibers is a deadlock: it is reported
// (who waits where, who is missing) and the block is abandoned.
#include <cstring>
#include <exception>
#include <string>

#include "state.h"

namespace svdq::emu::detail {

__thread ThreadView* tl_thread = nullptr;
__thread BlockView* tl_block = nullptr;
__thread Worker* tl_worker = nullptr;
__thread Fiber* tl_fiber = nullptr;

void Worker::push_runnable(Fiber* f) {
  f->state = FiberState::Runnable;
  run_queue[(rq_head + rq_count) % run_queue.size()] = f;
  ++rq_count;
}

Fiber* Worker::pop_runnable() {
  if (rq_count == 0) return nullptr;
  Fiber* f = run_queue[rq_head];
  rq_head = (rq_head + 1) % run_queue.size();
  --rq_count;
  return f;
}

void yield_to_scheduler(Fiber& f) {
  Worker& w = *f.worker;
  fiber_switch(f.ctx, w.sched);
  // Resumed by the scheduler: it has already restored tl_thread/tl_fiber.
}

namespace {

std::string thread_list(const Worker& w, const std::vector<unsigned>& ids) {
  // Ranges of linear ids, each with its (x,y,z) start: "3-7 (3,0,0)..(7,0,0)".
  std::string out;
  std::size_t i = 0, shown = 0;
  while (i < ids.size()) {
    std::size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    if (++shown > 8) {
      out += "...";
      break;
    }
    const auto& a = w.fibers[ids[i]].thread_idx;
    const auto& b = w.fibers[ids[j]].thread_idx;
    out += "(" + std::to_string(a.x) + "," + std::to_string(a.y) + "," + std::to_string(a.z) + ")";
    if (j > i) out += ".." + std::string("(") + std::to_string(b.x) + "," + std::to_string(b.y) + "," + std::to_string(b.z) + ")";
    i = j + 1;
  }
  return out;
}

const char* where(const Fiber& f) {
  switch (f.state) {
    case FiberState::AtBarrier: return "waiting at __syncthreads()";
    case FiberState::InCollective: return "waiting in another warp collective";
    case FiberState::Done: return "exited";
    default: return "runnable";
  }
}

Report block_report(Worker& w, ReportKind kind, const Fiber& culprit, std::string message, const char* what) {
  Report r;
  r.kind = kind;
  r.kernel = w.launch->kernel;
  r.block = w.block_view.block_idx;
  r.thread = culprit.thread_idx;
  r.what = what ? what : "";
  r.message = std::move(message);
  return r;
}

void report_deadlock(Worker& w) {
  std::vector<unsigned> at_barrier, not_at_barrier;
  for (unsigned i = 0; i < w.nthreads; ++i)
    (w.fibers[i].state == FiberState::AtBarrier ? at_barrier : not_at_barrier).push_back(i);
  if (!at_barrier.empty()) {
    std::vector<unsigned> exited, elsewhere;
    for (unsigned i : not_at_barrier) (w.fibers[i].state == FiberState::Done ? exited : elsewhere).push_back(i);
    std::string msg = std::to_string(at_barrier.size()) + " of " + std::to_string(w.nthreads) +
                      " threads wait at __syncthreads() that threads never reach:";
    if (!exited.empty()) msg += " exited " + thread_list(w, exited) + ";";
    if (!elsewhere.empty()) msg += " waiting in a warp collective " + thread_list(w, elsewhere) + ";";
    msg += " waiting: " + thread_list(w, at_barrier);
    record(w, block_report(w, ReportKind::BarrierDeadlock, w.fibers[not_at_barrier.front()], msg, "__syncthreads"));
  }
  for (unsigned wi = 0; wi < w.warps.size(); ++wi) {
    for (ExchangeRecord* r : w.warps[wi].active) {
      if (r->complete || r->arrived == 0) continue;
      std::vector<unsigned> waiting, missing;
      std::string missing_where;
      for (unsigned lane = 0; lane < 32; ++lane) {
        if (!(r->mask >> lane & 1)) continue;
        const unsigned id = wi * 32 + lane;
        if (r->arrived >> lane & 1) {
          waiting.push_back(id);
        } else if (r->need >> lane & 1) {
          missing.push_back(id);
          if (missing_where.empty()) missing_where = where(w.fibers[id]);
        }
      }
      if (missing.empty()) continue;
      char mask[16];
      std::snprintf(mask, sizeof mask, "0x%08x", r->mask);
      std::string msg = std::string("warp ") + std::to_string(wi) + " collective '" + r->what + "' (mask " + mask +
                        "): lanes " + thread_list(w, missing) + " never arrive (first one is " + missing_where +
                        "); waiting: " + thread_list(w, waiting);
      record(w, block_report(w, ReportKind::CollectiveDeadlock, w.fibers[missing.front()], msg, r->what));
    }
  }
}

void on_thread_exit(Worker& w, Fiber& f) {
  release_held(w.warps[f.warp], f);
  f.state = FiberState::Done;
  --w.live;
  excuse_exited_lane(w, f);
}

void fiber_main(void* arg) {
  auto* f = static_cast<Fiber*>(arg);
  Worker& w = *f->worker;
  // The report is raised after the catch block ends: the C++ runtime keeps the exceptions being
  // handled in per-OS-thread state that every fiber of this thread shares, so no fiber may leave (or be
  // abandoned) inside a handler.
  std::string escaped;
  try {
    (*w.launch->body)();
  } catch (const std::exception& e) {
    escaped = std::string("exception escaped the kernel: ") + e.what();
  } catch (...) {
    escaped = "a non-std exception escaped the kernel";
  }
  if (!escaped.empty()) raise(ReportKind::KernelException, 0, 0, "exception", std::move(escaped));
  on_thread_exit(w, *f);
  fiber_switch(f->ctx, w.sched);
  std::abort();  // never resumed
}

}  // namespace

void score_warp(Worker& w, WarpState& warp, unsigned warp_index) {
  if (settings().counters) {
    warp.queues[GlobalLoad].score_global(w.counters.global_load);
    warp.queues[GlobalStore].score_global(w.counters.global_store);
    warp.queues[SharedLoad].score_shared(w.counters.shared_load);
    warp.queues[SharedStore].score_shared(w.counters.shared_store);
  }
  const unsigned first = warp_index * 32;
  for (unsigned i = first; i < first + 32 && i < w.nthreads; ++i)
    for (auto& s : w.fibers[i].seq) s = 0;
}

void run_block(Worker& w, std::uint64_t linear_block) {
  Launch& l = *w.launch;
  const dim3 bd = l.block;
  w.nthreads = bd.x * bd.y * bd.z;
  w.block_view.block_idx = uint3{static_cast<unsigned>(linear_block % l.grid.x),
                                 static_cast<unsigned>(linear_block / l.grid.x % l.grid.y),
                                 static_cast<unsigned>(linear_block / (std::uint64_t{l.grid.x} * l.grid.y))};
  w.block_view.block_dim = bd;
  w.block_view.grid_dim = l.grid;
  ++w.block_serial;
  ++w.interval;
  w.aborted = false;
  w.barrier_arrived = 0;
  w.barrier_sum[0] = w.barrier_sum[1] = 0;

  const std::size_t stack_bytes = settings().stack_bytes;
  while (w.stacks.size() < w.nthreads) w.stacks.emplace_back(stack_bytes);
  if (w.fibers.size() < w.nthreads) w.fibers.resize(w.nthreads);
  if (w.run_queue.size() < w.nthreads) w.run_queue.resize(w.nthreads);
  w.rq_head = w.rq_count = 0;
  const unsigned nwarps = (w.nthreads + 31) / 32;
  if (w.warps.size() < nwarps) w.warps.resize(nwarps);
  for (unsigned i = 0; i < nwarps; ++i) {
    WarpState& warp = w.warps[i];
    const unsigned lanes = std::min(32u, w.nthreads - i * 32);
    warp.existing = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
    warp.exited = 0;
    warp.sync_epoch = ++w.epoch_counter;
    for (ExchangeRecord* r : warp.active) warp.free_list.push_back(r);
    warp.active.clear();
    for (auto& q : warp.queues) {
      for (std::uint32_t k = 0; k < q.used; ++k) q.requests[k].n = 0;
      q.used = 0;
    }
  }
  if (w.dyn_storage.size() < l.smem + Worker::kDynTail + 128) w.dyn_storage.resize(l.smem + Worker::kDynTail + 128);
  w.dyn = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(w.dyn_storage.data()) + 127) & ~std::uintptr_t{127});
  w.dyn_bytes = l.smem;
  // Poison: a read the checker does not see (checks off, raw pointer) shows garbage, not the last block's data.
  std::memset(w.dyn, 0xA5, l.smem);

  for (unsigned i = 0; i < w.nthreads; ++i) {
    Fiber& f = w.fibers[i];
    f.worker = &w;
    f.linear = static_cast<int>(i);
    f.lane = static_cast<int>(i % 32);
    f.warp = static_cast<int>(i / 32);
    f.thread_idx = uint3{i % bd.x, i / bd.x % bd.y, i / (bd.x * bd.y)};
    f.held = f.waiting = nullptr;
    for (auto& s : f.seq) s = 0;
    fiber_prepare(f.ctx, w.stacks[i], &fiber_main, &f);
    w.push_runnable(&f);
  }
  w.live = w.nthreads;
  tl_block = &w.block_view;

  while (w.live > 0 && !w.aborted) {
    Fiber* f = w.pop_runnable();
    if (!f) {
      report_deadlock(w);
      w.aborted = true;
      break;
    }
    tl_fiber = f;
    tl_thread = f;
    fiber_switch(w.sched, f->ctx);
    tl_fiber = nullptr;
    tl_thread = nullptr;
  }
  if (w.aborted) l.abort.store(true, std::memory_order_relaxed);
  for (unsigned i = 0; i < nwarps; ++i) score_warp(w, w.warps[i], i);
  if (settings().counters) {
    ++w.counters.blocks;
    w.counters.threads += w.nthreads;
  }
  tl_block = nullptr;
}

}  // namespace svdq::emu::detail

namespace svdq::emu {
using namespace detail;

int block_barrier(int pred) {
  Fiber* f = tl_fiber;
  if (!f) return pred;  // host code: nothing to wait for
  Worker& w = *f->worker;
  const unsigned gen = w.barrier_gen & 1;
  w.barrier_sum[gen] += pred;
  if (++w.barrier_arrived == w.nthreads) {
    w.barrier_arrived = 0;
    ++w.barrier_gen;
    w.barrier_sum[w.barrier_gen & 1] = 0;
    ++w.interval;  // a new race-free interval begins
    if (settings().counters) ++w.counters.barriers;
    const unsigned nwarps = (w.nthreads + 31) / 32;
    for (unsigned i = 0; i < nwarps; ++i) {
      score_warp(w, w.warps[i], i);
      w.warps[i].sync_epoch = ++w.epoch_counter;
    }
    // Everyone (the completing thread too) resumes in thread order, so execution after a barrier
    // reads like program order and reports are easy to follow.
    f->state = FiberState::AtBarrier;
    for (unsigned i = 0; i < w.nthreads; ++i)
      if (w.fibers[i].state == FiberState::AtBarrier) w.push_runnable(&w.fibers[i]);
    yield_to_scheduler(*f);
  } else {
    f->state = FiberState::AtBarrier;
    yield_to_scheduler(*f);
  }
  return w.barrier_sum[gen];
}

void* dynamic_smem() {
  Worker* w = tl_worker;
  return w ? w->dyn : nullptr;
}

}  // namespace svdq::emu
