// The memory hooks: bounds, alignment and initialisation of global accesses; races, initialisation and
// bounds of shared accesses; and the request bookkeeping behind the traffic counters.
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "state.h"

namespace svdq::emu::detail {

void record(Worker& w, Report r) {
  std::size_t& n = w.per_kind[static_cast<int>(r.kind)];
  if (n >= kMaxReportsPerKind) {
    ++w.dropped_reports;
    return;
  }
  ++n;
  w.reports.push_back(std::move(r));
}

void raise(ReportKind kind, std::uint64_t address, std::uint64_t bytes, const char* what, std::string message) {
  Fiber* f = tl_fiber;
  Worker* w = tl_worker;
  if (!f || !w) {  // host code: nothing to abandon, just say it
    Report r{kind, "(host)", {0, 0, 0}, {0, 0, 0}, address, bytes, what ? what : "", std::move(message)};
    std::fprintf(stderr, "%s\n", format_report(r).c_str());
    return;
  }
  Report r;
  r.kind = kind;
  r.kernel = w->launch->kernel;
  r.block = w->block_view.block_idx;
  r.thread = f->thread_idx;
  r.address = address;
  r.bytes = bytes;
  r.what = what ? what : "";
  r.message = std::move(message);
  record(*w, std::move(r));
  if (report_kind_fatal(kind)) {
    // Like a GPU trap: this block stops here and no further blocks start.
    w->aborted = true;
    yield_to_scheduler(*f);
    std::abort();  // an abandoned block is never resumed
  }
}

namespace {

/** Takes the access's per-lane sequence number (its warp request) and counts it. */
inline std::uint32_t note_request(Fiber& f, Space space, const void* p, std::size_t bytes, bool counters) {
  const std::uint32_t seq = f.seq[space]++;
  if (!counters) return seq;
  Worker& w = *f.worker;
  SpaceCounters& c = space == GlobalLoad    ? w.counters.global_load
                     : space == GlobalStore ? w.counters.global_store
                     : space == SharedLoad  ? w.counters.shared_load
                                            : w.counters.shared_store;
  ++c.accesses;
  c.bytes += bytes;
  w.warps[f.warp].queues[space].add(seq, static_cast<std::uint32_t>(f.lane), reinterpret_cast<std::uintptr_t>(p),
                                    static_cast<std::uint32_t>(bytes));
  return seq;
}

std::string hex(std::uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

/** Bounds and alignment; returns the allocation (fatal reports do not return). */
const AllocView* check_global(Worker& w, const void* p, std::size_t bytes, std::size_t align, const char* what,
                              bool store) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const char* verb = store ? "store" : "load";
  if (align > 1 && a % align != 0)
    raise(ReportKind::Misaligned, a, bytes, what,
          std::string("global ") + verb + " of " + std::to_string(bytes) + " bytes at " + hex(a) +
              " is not aligned to " + std::to_string(align) + " bytes");
  const std::uint64_t gen = allocation_generation();
  if (w.alloc_generation != gen) {
    for (auto& r : w.recent_allocs) r = AllocView{};
    w.alloc_generation = gen;
  }
  for (const AllocView& r : w.recent_allocs)
    if (a >= r.base && a + bytes <= r.end) return &r;
  std::string nearest;
  AllocView v;
  if (!find_allocation(a, v, &nearest) || a + bytes > v.end) {
    raise(ReportKind::OutOfBounds, a, bytes, what,
          std::string("global ") + verb + " of " + std::to_string(bytes) + " bytes at " + hex(a) +
              " is outside every device allocation" + (nearest.empty() ? "" : " (" + nearest + ")"));
    return nullptr;  // reached only from host code
  }
  AllocView& slot = w.recent_allocs[w.recent_next++ % 4];
  slot = v;
  return &slot;
}

SharedShadowEntry* shared_shadow(Worker& w, std::uintptr_t a) {
  const std::uintptr_t page = a >> 12;
  if (page != w.last_shadow_page) {
    auto& slot = w.shared_shadow[page];
    if (!slot) {
      slot = std::make_unique<SharedShadowPage>();
      std::memset(slot.get(), 0, sizeof(SharedShadowPage));
    }
    w.last_shadow_page = page;
    w.last_shadow = slot.get();
  }
  return &w.last_shadow->e[a & 4095];
}

void check_shared_bounds(Worker& w, std::uintptr_t a, std::size_t bytes, const char* what, const char* verb) {
  const auto dyn = reinterpret_cast<std::uintptr_t>(w.dyn);
  const std::uintptr_t end = dyn + w.dyn_bytes;
  if (a + bytes > end && a < end + Worker::kDynTail)
    raise(ReportKind::SharedOutOfBounds, a, bytes, what,
          std::string("shared ") + verb + " of " + std::to_string(bytes) + " bytes at " + hex(a) + " ends " +
              std::to_string(a + bytes - end) + " bytes past the " + std::to_string(w.dyn_bytes) +
              "-byte dynamic shared memory");
}

std::string thread_name(const Worker& w, unsigned linear) {
  const auto& t = w.fibers[linear].thread_idx;
  return "thread (" + std::to_string(t.x) + "," + std::to_string(t.y) + "," + std::to_string(t.z) + ") of warp " +
         std::to_string(linear / 32);
}

}  // namespace
}  // namespace svdq::emu::detail

namespace svdq::emu {
using namespace detail;

void on_global_load(const void* p, std::size_t bytes, std::size_t align, const char* what) {
  Fiber* f = tl_fiber;
  if (!f) return;
  Worker& w = *f->worker;
  const Settings& s = settings();
  note_request(*f, GlobalLoad, p, bytes, s.counters);
  if (!s.checks) return;
  const AllocView* v = check_global(w, p, bytes, align, what, false);
  if (!v) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const std::uint8_t* sh = v->shadow + (a - v->base);
  for (std::size_t i = 0; i < bytes; ++i)
    if (!sh[i]) {
      raise(ReportKind::UninitializedRead, a + i, bytes, what,
            "global load of " + std::to_string(bytes) + " bytes at " + hex(a) + " reads byte " + hex(a + i) +
                " that was never written (allocation at " + hex(v->base) + ", offset " +
                std::to_string(a + i - v->base) + ")");
      break;
    }
}

void on_global_store(const void* p, std::size_t bytes, std::size_t align, const char* what) {
  Fiber* f = tl_fiber;
  if (!f) return;
  Worker& w = *f->worker;
  const Settings& s = settings();
  note_request(*f, GlobalStore, p, bytes, s.counters);
  if (!s.checks) return;
  const AllocView* v = check_global(w, p, bytes, align, what, true);
  if (!v) return;
  std::memset(v->shadow + (reinterpret_cast<std::uintptr_t>(p) - v->base), 1, bytes);
}

void on_shared_load(const void* p, std::size_t bytes, const char* what) {
  Fiber* f = tl_fiber;
  if (!f) return;
  Worker& w = *f->worker;
  const Settings& s = settings();
  note_request(*f, SharedLoad, p, bytes, s.counters);
  if (!s.checks) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  check_shared_bounds(w, a, bytes, what, "load");
  const auto me = static_cast<std::uint16_t>(f->linear);
  const std::uint32_t epoch = w.warps[f->warp].sync_epoch;
  bool raced = false, uninit = false;
  for (std::size_t i = 0; i < bytes; ++i) {
    SharedShadowEntry& e = *shared_shadow(w, a + i);
    const bool written_here = e.written_block == w.block_serial;
    if (!written_here && !uninit) {
      uninit = true;
      raise(ReportKind::SharedUninitialized, a + i, bytes, what,
            "shared load of " + std::to_string(bytes) + " bytes at " + hex(a) + " reads byte " + hex(a + i) +
                " that this block never wrote (if another lane writes it later, a __syncwarp() or __syncthreads() is "
                "missing: emulated lanes run one after another between synchronisation points)");
    } else if (written_here && !raced && e.write_interval == w.interval && e.writer / 32 != me / 32) {
      raced = true;
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared load at " + hex(a + i) + " by " + thread_name(w, me) + " reads a byte written by " +
                thread_name(w, e.writer) + " with no __syncthreads() between");
    } else if (written_here && !raced && e.write_epoch == epoch && e.writer != me && e.writer / 32 == me / 32) {
      raced = true;
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared load at " + hex(a + i) + " by " + thread_name(w, me) + " reads a byte written by " +
                thread_name(w, e.writer) + " of the same warp with no __syncwarp() or __syncthreads() between");
    }
    if (e.read_interval != w.interval) {
      e.read_interval = w.interval;
      e.reader = me;
      e.read_epoch = epoch;
    } else if (e.reader != kManyReaders && e.reader / 32 != me / 32) {
      e.reader = kManyReaders;
    } else if (e.reader != kManyReaders && e.read_epoch != epoch) {
      e.reader = me;  // a later epoch of the same warp: earlier reads are ordered by the __syncwarp
      e.read_epoch = epoch;
    }
  }
}

void on_shared_store(const void* p, std::size_t bytes, const char* what) {
  Fiber* f = tl_fiber;
  if (!f) return;
  Worker& w = *f->worker;
  const Settings& s = settings();
  const std::uint32_t seq = note_request(*f, SharedStore, p, bytes, s.counters);
  if (!s.checks) return;
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  check_shared_bounds(w, a, bytes, what, "store");
  const auto me = static_cast<std::uint16_t>(f->linear);
  const std::uint32_t epoch = w.warps[f->warp].sync_epoch;
  bool raced = false;
  for (std::size_t i = 0; i < bytes; ++i) {
    SharedShadowEntry& e = *shared_shadow(w, a + i);
    const bool written_here = e.written_block == w.block_serial;
    const bool read_here = e.read_interval == w.interval;
    if (raced) {
    } else if (written_here && e.write_interval == w.interval && e.writer / 32 != me / 32) {
      raced = true;
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared store at " + hex(a + i) + " by " + thread_name(w, me) + " overwrites a byte written by " +
                thread_name(w, e.writer) + " with no __syncthreads() between");
    } else if (read_here && (e.reader == kManyReaders || e.reader / 32 != me / 32)) {
      raced = true;
      const std::string by = e.reader == kManyReaders ? std::string("several warps") : thread_name(w, e.reader);
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared store at " + hex(a + i) + " by " + thread_name(w, me) + " overwrites a byte read by " + by +
                " with no __syncthreads() between");
    } else if (written_here && e.write_epoch == epoch && e.writer != me && e.writer / 32 == me / 32 && e.write_seq != seq) {
      // Lanes of one instruction may store to the same byte (one wins); different instructions need a sync.
      raced = true;
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared store at " + hex(a + i) + " by " + thread_name(w, me) + " overwrites a byte written by " +
                thread_name(w, e.writer) + " of the same warp with no __syncwarp() or __syncthreads() between");
    } else if (read_here && e.read_epoch == epoch && e.reader != me && e.reader / 32 == me / 32) {
      raced = true;
      raise(ReportKind::SharedRace, a + i, bytes, what,
            "shared store at " + hex(a + i) + " by " + thread_name(w, me) + " overwrites a byte read by " +
                thread_name(w, e.reader) + " of the same warp with no __syncwarp() or __syncthreads() between");
    }
    e.written_block = w.block_serial;
    e.write_interval = w.interval;
    e.write_epoch = epoch;
    e.write_seq = seq;
    e.writer = me;
  }
}

void count(const char* kind, std::uint64_t n) {
  Worker* w = tl_worker;
  if (!w || !settings().counters) return;
  w->instructions.add(kind, n);
}

}  // namespace svdq::emu
