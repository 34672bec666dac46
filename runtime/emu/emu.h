// The device-side language under g++: CUDA qualifiers, built-in index variables, barriers, shared
// memory and the kernel launch. Included by runtime/include/svdq/portable.h when __CUDACC__ is absent.
#pragma once

#if defined(__CUDACC__)
#error "runtime/emu/emu.h is the g++ emulation of CUDA; include svdq/portable.h instead"
#endif

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cuda_api.h"
#include "hooks.h"
#include "report.h"
#include "counters.h"

// ---- qualifiers ------------------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
// __noinline__ is left alone: libstdc++ spells __attribute__((__noinline__)) and a macro would break it.
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)
#define __constant__
#define __grid_constant__
// Static shared memory: each OS thread runs one block at a time, so a thread_local static is that
// block's copy. The checker keys its shadow on addresses and block serials, so stale values from an
// earlier block read as "never written".
#define __shared__ static thread_local

// ---- index types and built-in variables -----------------------------------------------------
using uint3 = ::svdq::emu::detail::Idx3;
struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

namespace svdq::emu::detail {
struct BlockView {
  uint3 block_idx;
  dim3 block_dim;
  dim3 grid_dim;
};
extern __thread BlockView* tl_block;
}  // namespace svdq::emu::detail

#define threadIdx (::svdq::emu::detail::tl_thread->thread_idx)
#define blockIdx (::svdq::emu::detail::tl_block->block_idx)
#define blockDim (::svdq::emu::detail::tl_block->block_dim)
#define gridDim (::svdq::emu::detail::tl_block->grid_dim)
constexpr int warpSize = 32;

namespace svdq::emu {

// ---- barriers --------------------------------------------------------------------------------
/** __syncthreads(); `pred` feeds the _count/_and/_or reductions. Returns the count of true preds. */
int block_barrier(int pred);
/** Start of the block's dynamic shared memory (the launch's smemBytes, 128-byte aligned). */
void* dynamic_smem();
/** __syncwarp(mask): a warp collective without payload. */
void syncwarp(unsigned mask);
/** Lanes of the caller's warp that exist and have not exited (for __activemask); 1 on a host thread. */
unsigned live_lanes();

// ---- launch ----------------------------------------------------------------------------------
using KernelBody = std::function<void()>;
/** Runs `body` once per thread of every block; returns the launch's error (also kept for cudaGetLastError). */
cudaError_t launch_kernel(const char* name, dim3 grid, dim3 block, std::size_t smem_bytes, cudaStream_t stream,
                          KernelBody body);

template <class Kernel>
class Launcher {
 public:
  Launcher(const char* name, Kernel kernel, dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream)
      : name_(name), kernel_(kernel), grid_(grid), block_(block), smem_(smem), stream_(stream) {}
  /** Arguments are copied once per launch, then handed to every thread by value, like CUDA. */
  template <class... Args>
  void operator()(Args&&... args) const {
    auto kernel = kernel_;
    auto captured = std::make_tuple(std::forward<Args>(args)...);
    launch_kernel(name_, grid_, block_, smem_, stream_, [kernel, captured]() { std::apply(kernel, captured); });
  }

 private:
  const char* name_;
  Kernel kernel_;
  dim3 grid_, block_;
  std::size_t smem_;
  cudaStream_t stream_;
};

template <class Kernel>
Launcher<Kernel> make_launcher(const char* name, Kernel kernel, dim3 grid, dim3 block, std::size_t smem,
                               cudaStream_t stream) {
  return Launcher<Kernel>(name, kernel, grid, block, smem, stream);
}

// ---- reports, counters and settings -------------------------------------------------------------
struct LaunchRecord {
  std::string kernel;
  dim3 grid, block;
  std::size_t smem_bytes = 0;
  cudaError_t status = cudaSuccess;
  std::vector<Report> reports;        // at most kMaxReportsPerKind of each kind are kept
  std::uint64_t dropped_reports = 0;  // reports beyond that cap (counted, not kept)
  Counters counters;
  double wall_seconds = 0;
  unsigned os_threads = 0;
};
constexpr std::size_t kMaxReportsPerKind = 16;

/** Every launch so far in this process (copy). */
std::vector<LaunchRecord> launch_records();
/** The whole session as JSON (schema in runtime/emu/README.md). */
std::string report_json();
/** Writes report_json() to `path` atomically; SVDQ_EMU_REPORT=path does this after every launch. */
bool write_report(const std::string& path);
/** Forget recorded launches. */
void clear_launch_records();

struct Settings {
  bool checks = true;    // bounds, alignment, initialisation, races (SVDQ_EMU_CHECK=0 disables)
  bool counters = true;  // traffic and instruction counters (SVDQ_EMU_COUNTERS=0 disables)
  bool quiet = false;    // do not print reports to stderr (SVDQ_EMU_QUIET=1)
  unsigned threads = 0;  // OS threads running blocks (SVDQ_EMU_THREADS; 0 = core count)
  std::size_t stack_bytes = 256 * 1024;  // per emulated thread (SVDQ_EMU_STACK_KB)
};
Settings& settings();

}  // namespace svdq::emu

inline void __syncthreads() { ::svdq::emu::block_barrier(0); }
inline int __syncthreads_count(int pred) { return ::svdq::emu::block_barrier(pred ? 1 : 0); }
inline int __syncthreads_and(int pred);
inline int __syncthreads_or(int pred) { return ::svdq::emu::block_barrier(pred ? 1 : 0) != 0; }
inline int __syncthreads_and(int pred) {
  const int n = ::svdq::emu::block_barrier(pred ? 1 : 0);
  return n == static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { ::svdq::emu::syncwarp(mask); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_signal_fence(std::memory_order_seq_cst); }
