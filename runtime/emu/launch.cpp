// Launch: blocks are handed out through an atomic counter to the calling thread plus a pool of OS
// threads (SVDQ_EMU_THREADS, default the core count). Each OS thread runs one block at a time with its
// own counters and reports; the caller merges them after all threads are done, so aggregation needs no
// atomics and the result is independent of the thread count.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <unistd.h>

#include "state.h"

namespace svdq::emu::detail {
void set_last_error(cudaError_t e);
void install_fault_handler();
std::mutex& device_mutex();
}  // namespace svdq::emu::detail

namespace svdq::emu {
std::string launch_json(const LaunchRecord& l);
using namespace detail;

namespace {

unsigned env_unsigned(const char* name, unsigned fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  return end && *end == '\0' ? static_cast<unsigned>(n) : fallback;
}

struct Pool {
  std::vector<std::unique_ptr<Worker>> workers;  // workers[0] is the launching thread
  std::vector<std::thread> threads;
  std::mutex m;
  std::condition_variable wake, done;
  Launch* job = nullptr;
  std::uint64_t job_id = 0;
  unsigned busy = 0;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: pool threads outlive static destruction
  return *p;
}

std::mutex& records_mutex() {
  static std::mutex m;
  return m;
}
std::vector<LaunchRecord>& records() {
  static std::vector<LaunchRecord> r;
  return r;
}

void run_blocks(Worker& w, Launch& l) {
  install_fault_handler();
  tl_worker = &w;
  reset_worker_for_launch(w, l);
  for (;;) {
    if (l.abort.load(std::memory_order_relaxed)) break;
    const std::uint64_t b = l.next_block.fetch_add(1, std::memory_order_relaxed);
    if (b >= l.total_blocks) break;
    run_block(w, b);
  }
  w.instructions.merge_into(w.counters.instructions);
  w.instructions.clear();
  tl_worker = nullptr;
}

void pool_thread(Worker* w, std::uint64_t seen) {
  Pool& p = pool();
  for (;;) {
    Launch* job;
    {
      std::unique_lock<std::mutex> lock(p.m);
      p.wake.wait(lock, [&] { return p.job_id != seen; });
      seen = p.job_id;
      job = p.job;
    }
    run_blocks(*w, *job);
    std::lock_guard<std::mutex> lock(p.m);
    if (--p.busy == 0) p.done.notify_all();
  }
}

void ensure_workers(unsigned n) {
  Pool& p = pool();
  while (p.workers.size() < n) {
    p.workers.push_back(std::make_unique<Worker>());
    if (p.workers.size() > 1) p.threads.emplace_back(pool_thread, p.workers.back().get(), p.job_id);
  }
}

cudaError_t status_of(const std::vector<Report>& reports) {
  for (const Report& r : reports) {
    if (!report_kind_fatal(r.kind)) continue;
    if (r.kind == ReportKind::OutOfBounds || r.kind == ReportKind::SharedOutOfBounds) return cudaErrorIllegalAddress;
    if (r.kind == ReportKind::Misaligned) return cudaErrorMisalignedAddress;
    if (r.kind == ReportKind::InvalidLaunch) return cudaErrorInvalidConfiguration;
    return cudaErrorLaunchFailure;
  }
  return reports.empty() ? cudaSuccess : cudaErrorLaunchFailure;
}

// SVDQ_EMU_REPORT=path: rewritten after each of the first 256 launches (a crash later still leaves a
// report), then every 256th launch and at exit, so long runs do not rewrite a growing file each time.
void maybe_write_report(bool at_exit) {
  static const char* path = std::getenv("SVDQ_EMU_REPORT");
  if (!path || !*path) return;
  static std::once_flag registered;
  std::call_once(registered, [] { std::atexit([] { maybe_write_report(true); }); });
  std::size_t n;
  {
    std::lock_guard<std::mutex> lock(records_mutex());
    n = records().size();
  }
  if (at_exit || n <= 256 || n % 256 == 0) write_report(path);
}

}  // namespace

Settings& settings() {
  static Settings s = [] {
    Settings v;
    if (const char* c = std::getenv("SVDQ_EMU_CHECK")) v.checks = std::string(c) != "0";
    if (const char* c = std::getenv("SVDQ_EMU_COUNTERS")) v.counters = std::string(c) != "0";
    if (const char* c = std::getenv("SVDQ_EMU_QUIET")) v.quiet = std::string(c) == "1";
    v.threads = env_unsigned("SVDQ_EMU_THREADS", 0);
    v.stack_bytes = std::size_t{env_unsigned("SVDQ_EMU_STACK_KB", 256)} * 1024;
    return v;
  }();
  return s;
}

namespace detail {
void reset_worker_for_launch(Worker& w, Launch& l) {
  w.launch = &l;
  w.counters.clear();
  w.instructions.clear();
  w.reports.clear();
  w.dropped_reports = 0;
  for (auto& n : w.per_kind) n = 0;
  w.alloc_generation = ~std::uint64_t{0};
}
}  // namespace detail

cudaError_t launch_kernel(const char* name, dim3 grid, dim3 block, std::size_t smem_bytes, cudaStream_t,
                          KernelBody body) {
  std::lock_guard<std::mutex> device_lock(device_mutex());  // no cudaMalloc/cudaFree while blocks run
  const auto t0 = std::chrono::steady_clock::now();
  Launch l;
  l.kernel = name;
  l.grid = grid;
  l.block = block;
  l.smem = smem_bytes;
  l.body = &body;
  l.total_blocks = std::uint64_t{grid.x} * grid.y * grid.z;

  LaunchRecord rec;
  rec.kernel = name;
  rec.grid = grid;
  rec.block = block;
  rec.smem_bytes = smem_bytes;

  const std::uint64_t nthreads = std::uint64_t{block.x} * block.y * block.z;
  std::string invalid;
  if (nthreads == 0 || nthreads > 1024 || block.z > 64)
    invalid = "block (" + std::to_string(block.x) + "," + std::to_string(block.y) + "," + std::to_string(block.z) +
              ") must have 1..1024 threads and z <= 64";
  else if (l.total_blocks == 0 || grid.y > 65535 || grid.z > 65535)
    invalid = "grid must be non-empty with y, z <= 65535";
  else if (smem_bytes > 232448)
    invalid = "dynamic shared memory " + std::to_string(smem_bytes) + " bytes exceeds the 227 KiB any target allows";

  if (!invalid.empty()) {
    Report r;
    r.kind = ReportKind::InvalidLaunch;
    r.kernel = name;
    r.message = invalid;
    rec.reports.push_back(r);
    rec.status = cudaErrorInvalidConfiguration;
  } else {
    Settings& s = settings();
    unsigned n = s.threads ? s.threads : std::max(1u, std::thread::hardware_concurrency());
    n = static_cast<unsigned>(std::min<std::uint64_t>(n, l.total_blocks));
    rec.os_threads = n;
    ensure_workers(n);
    Pool& p = pool();
    // Every pool thread takes part (extra ones find no block left), so the merge below is exact.
    if (n > 1) {
      std::lock_guard<std::mutex> lock(p.m);
      p.busy = static_cast<unsigned>(p.workers.size() - 1);
      p.job = &l;
      ++p.job_id;
      p.wake.notify_all();
    }
    run_blocks(*p.workers[0], l);
    if (n > 1) {
      std::unique_lock<std::mutex> lock(p.m);
      p.done.wait(lock, [&] { return p.busy == 0; });
    }
    const std::size_t used = n > 1 ? p.workers.size() : 1;
    for (std::size_t i = 0; i < used; ++i) {
      Worker& w = *p.workers[i];
      rec.counters.add(w.counters);
      rec.dropped_reports += w.dropped_reports;
      for (auto& r : w.reports) rec.reports.push_back(std::move(r));
      w.reports.clear();
      w.launch = nullptr;
    }
    // Deterministic order whatever the thread count: by block, then thread, then kind.
    auto key = [&](const Report& r) {
      const std::uint64_t b = (std::uint64_t{r.block.z} * grid.y + r.block.y) * grid.x + r.block.x;
      const std::uint64_t t = (std::uint64_t{r.thread.z} * block.y + r.thread.y) * block.x + r.thread.x;
      return std::make_tuple(b, t, static_cast<int>(r.kind), r.address);
    };
    std::stable_sort(rec.reports.begin(), rec.reports.end(),
                     [&](const Report& a, const Report& b) { return key(a) < key(b); });
    std::size_t per_kind[16] = {};
    std::vector<Report> kept;
    for (auto& r : rec.reports) {
      if (per_kind[static_cast<int>(r.kind)]++ < kMaxReportsPerKind)
        kept.push_back(std::move(r));
      else
        ++rec.dropped_reports;
    }
    rec.reports = std::move(kept);
    rec.status = status_of(rec.reports);
  }
  rec.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (!settings().quiet) {
    for (const Report& r : rec.reports) std::fprintf(stderr, "%s\n", format_report(r).c_str());
    if (rec.dropped_reports)
      std::fprintf(stderr, "svdq-emu: ... and %llu more reports in kernel %s\n",
                   static_cast<unsigned long long>(rec.dropped_reports), name);
  }
  const cudaError_t status = rec.status;
  set_last_error(status);
  {
    std::lock_guard<std::mutex> lock(records_mutex());
    records().push_back(std::move(rec));
  }
  maybe_write_report(false);
  return status;
}

std::vector<LaunchRecord> launch_records() {
  std::lock_guard<std::mutex> lock(records_mutex());
  return records();
}

void clear_launch_records() {
  std::lock_guard<std::mutex> lock(records_mutex());
  records().clear();
}

std::string report_json() {
  std::lock_guard<std::mutex> lock(records_mutex());
  std::string o = "{\"format\":\"svdq-emu-report\",\"version\":1,\"launches\":[";
  for (std::size_t i = 0; i < records().size(); ++i) {
    if (i) o += ",";
    o += launch_json(records()[i]);
  }
  return o + "]}\n";
}

bool write_report(const std::string& path) {
  const std::string json = report_json();
  const std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return false;
    f << json;
    if (!f.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace svdq::emu
