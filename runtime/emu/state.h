// Engine internals shared by the engine's .cpp files: emulated threads (fibers), warps, the block
// being run by an OS thread (Worker) and the launch the workers share.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "counters.h"
#include "emu.h"
#include "fiber.h"
#include "report.h"

namespace svdq::emu::detail {

struct Worker;
struct ExchangeRecord;

enum class FiberState : std::uint8_t { Runnable, AtBarrier, InCollective, Done };

struct Fiber : ThreadView {
  Worker* worker = nullptr;
  FiberState state = FiberState::Runnable;
  FiberContext ctx;
  ExchangeRecord* held = nullptr;     // the collective whose result this lane may still read
  ExchangeRecord* waiting = nullptr;  // the collective this lane is blocked in
  std::uint32_t seq[4] = {0, 0, 0, 0};  // per-space access sequence numbers (see counters.h)
};

/** One warp collective in flight: lanes deposit payloads, the last arrival releases everyone. */
struct ExchangeRecord {
  unsigned mask = 0;     // lanes named by the callers (restricted to lanes that exist)
  unsigned need = 0;     // lanes that must arrive: mask minus exited lanes
  unsigned arrived = 0;
  unsigned holders = 0;  // lanes that may still read the result
  bool complete = false;
  const char* what = nullptr;
  std::size_t bytes = 0;
  std::vector<std::max_align_t> storage;
  unsigned char* data() { return reinterpret_cast<unsigned char*>(storage.data()); }
};

enum Space : int { GlobalLoad = 0, GlobalStore = 1, SharedLoad = 2, SharedStore = 3 };

struct WarpState {
  unsigned existing = 0;  // lanes that exist in this block (the last warp may be partial)
  unsigned exited = 0;
  std::vector<ExchangeRecord*> active;  // open or still held
  std::vector<std::unique_ptr<ExchangeRecord>> pool;
  std::vector<ExchangeRecord*> free_list;
  RequestQueue queues[4];
  std::uint32_t sync_epoch = 0;  // changes at every __syncwarp/__syncthreads this warp completes
};

/** Shadow of 4 KiB of shared memory for the race and initialisation checks (16 bytes per byte). */
struct SharedShadowEntry {
  std::uint32_t written_block;  // block serial of the last write (0 = never)
  std::uint32_t write_interval; // barrier interval of the last write
  std::uint32_t read_interval;  // barrier interval of the last read(s)
  std::uint32_t write_epoch;    // writer's warp sync epoch at the write
  std::uint32_t read_epoch;     // reader's warp sync epoch at the read
  std::uint32_t write_seq;      // writer's shared-store sequence number (same number = same instruction)
  std::uint16_t writer;         // linear thread id of the last writer
  std::uint16_t reader;         // linear thread id of a reader, kManyReaders if several warps
};
constexpr std::uint16_t kManyReaders = 0xffff;
struct SharedShadowPage {
  SharedShadowEntry e[4096];
};

/** Where a global access landed: a cached copy of the allocation table entry. */
struct AllocView {
  std::uintptr_t base = 0, end = 0;
  std::uint8_t* shadow = nullptr;  // one byte per byte: 1 = written
};

struct Launch;

/** An OS thread that runs blocks; owns the fiber stacks and the shared-memory shadow it reuses. */
struct Worker {
  Launch* launch = nullptr;
  FiberContext sched;  // the scheduler's own context
  std::vector<Fiber> fibers;
  std::vector<FiberStack> stacks;
  std::vector<WarpState> warps;
  std::vector<Fiber*> run_queue;  // ring buffer of runnable fibers
  std::size_t rq_head = 0, rq_count = 0;
  BlockView block_view;
  unsigned nthreads = 0, live = 0;
  unsigned barrier_arrived = 0, barrier_gen = 0;
  int barrier_sum[2] = {0, 0};
  bool aborted = false;
  std::uint32_t block_serial = 0, interval = 0, epoch_counter = 0;
  // dynamic shared memory: [dyn, dyn + dyn_bytes) valid, then a poisoned tail to catch overruns
  std::vector<unsigned char> dyn_storage;
  unsigned char* dyn = nullptr;
  std::size_t dyn_bytes = 0;
  static constexpr std::size_t kDynTail = 4096;
  std::unordered_map<std::uintptr_t, std::unique_ptr<SharedShadowPage>> shared_shadow;
  std::uintptr_t last_shadow_page = ~std::uintptr_t{0};
  SharedShadowPage* last_shadow = nullptr;
  AllocView recent_allocs[4];  // a kernel streams from a few buffers: check them before the table
  unsigned recent_next = 0;
  std::uint64_t alloc_generation = ~std::uint64_t{0};
  Counters counters;
  InstructionCounts instructions;
  std::vector<Report> reports;
  std::uint64_t dropped_reports = 0;
  std::size_t per_kind[16] = {};

  void push_runnable(Fiber* f);
  Fiber* pop_runnable();
};

struct Launch {
  std::string kernel;
  dim3 grid, block;
  std::size_t smem = 0;
  const KernelBody* body = nullptr;
  std::uint64_t total_blocks = 0;
  std::atomic<std::uint64_t> next_block{0};
  std::atomic<bool> abort{false};
};

extern __thread Worker* tl_worker;
extern __thread Fiber* tl_fiber;

/** Runs one block to completion (or abandonment) on the calling OS thread. */
void run_block(Worker& w, std::uint64_t linear_block);
/** Suspends the running fiber and returns to the worker's scheduler. */
void yield_to_scheduler(Fiber& f);
/** Records a report for the running thread (or the host); fatal reports abandon the block. */
void raise(ReportKind kind, std::uint64_t address, std::uint64_t bytes, const char* what, std::string message);
/** Adds a report to the worker's list, honouring the per-kind cap. */
void record(Worker& w, Report r);
/** Scores the pending requests of one warp (it has synchronised as a whole) and restarts its lanes'
 * sequence numbers. */
void score_warp(Worker& w, WarpState& warp, unsigned warp_index);
/** Drops the lane's hold on its previous collective's result (recycling the record when unheld). */
void release_held(WarpState& warp, Fiber& f);
/** Marks a collective complete: zero-fills absent lanes, wakes the waiters, scores a full-warp sync. */
void complete_collective(Worker& w, WarpState& warp, unsigned warp_index, ExchangeRecord* r, Fiber* self);
/** An exited lane no longer holds up the collectives of its warp (PTX: exited lanes do not participate). */
void excuse_exited_lane(Worker& w, Fiber& f);
/** Global allocation lookup for the checker (nullptr if p is in no allocation). */
bool find_allocation(std::uintptr_t p, AllocView& out, std::string* nearest);
std::uint64_t allocation_generation();
/** Clears a worker's per-launch state before it runs blocks of a new launch. */
void reset_worker_for_launch(Worker& w, Launch& l);

}  // namespace svdq::emu::detail
