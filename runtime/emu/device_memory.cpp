// Emulated device memory: cudaMalloc hands out 256-byte-aligned host memory between 4 KiB red zones, each allocation registered
// in a table sorted by address with a shadow byte per byte (1 = written). The table changes only
// between launches (launches are synchronous and serialised), so the checker reads it without locks.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "state.h"

namespace svdq::emu::detail {

struct Allocation {
  std::uintptr_t base;
  std::size_t size;
  std::uint8_t* shadow;
  void* raw;  // what aligned_alloc returned: base - kRedZone
};

/**
 * Bytes of red zone before and after every allocation: they belong to no allocation, so an overrun of
 * up to this many bytes is reported as out of bounds instead of landing, unseen, inside a neighbouring
 * live allocation (the host heap packs allocations back to back). A multiple of 256 keeps alignment.
 */
constexpr std::size_t kRedZone = 4096;

namespace {
std::vector<Allocation> g_allocs;  // sorted by base
std::atomic<std::uint64_t> g_generation{1};
}  // namespace

std::mutex& device_mutex() {
  static std::mutex m;
  return m;
}

std::uint64_t allocation_generation() { return g_generation.load(std::memory_order_acquire); }

static const Allocation* lookup(std::uintptr_t p) {
  auto it = std::upper_bound(g_allocs.begin(), g_allocs.end(), p,
                             [](std::uintptr_t v, const Allocation& a) { return v < a.base; });
  if (it == g_allocs.begin()) return nullptr;
  --it;
  return p < it->base + std::max<std::size_t>(it->size, 1) ? &*it : nullptr;
}

bool find_allocation(std::uintptr_t p, AllocView& out, std::string* nearest) {
  if (const Allocation* a = lookup(p)) {
    out = AllocView{a->base, a->base + a->size, a->shadow};
    if (nearest && p >= a->base + a->size) *nearest = "allocation of " + std::to_string(a->size) + " bytes";
    return true;
  }
  if (nearest) {
    // Name the closest allocation below (an overrun) or above (an underrun).
    auto it = std::upper_bound(g_allocs.begin(), g_allocs.end(), p,
                               [](std::uintptr_t v, const Allocation& a) { return v < a.base; });
    char buf[160];
    if (it != g_allocs.begin()) {
      const Allocation& b = *(it - 1);
      std::snprintf(buf, sizeof buf, "%" PRIu64 " bytes past the end of the %zu-byte allocation at 0x%" PRIxPTR,
                    static_cast<std::uint64_t>(p - (b.base + b.size)), b.size, b.base);
      *nearest = buf;
    } else if (it != g_allocs.end()) {
      std::snprintf(buf, sizeof buf, "%" PRIu64 " bytes before the %zu-byte allocation at 0x%" PRIxPTR,
                    static_cast<std::uint64_t>(it->base - p), it->size, it->base);
      *nearest = buf;
    }
  }
  return false;
}

/** For cudaMemcpy/cudaMemset: the allocation wholly containing [p, p+n), or null. */
static const Allocation* containing(const void* p, std::size_t n) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  const Allocation* al = lookup(a);
  // n <= end - a, not a + n <= end: a + n wraps for n near SIZE_MAX (issue 15: a segfault in memmove).
  return al && n <= al->base + al->size - a ? al : nullptr;
}

}  // namespace svdq::emu::detail

using namespace svdq::emu::detail;

namespace {
thread_local cudaError_t t_last_error = cudaSuccess;
cudaError_t fail(cudaError_t e, const char* what) {
  if (!svdq::emu::settings().quiet) std::fprintf(stderr, "svdq-emu: %s: %s\n", what, cudaGetErrorString(e));
  t_last_error = e;
  return e;
}
}  // namespace

namespace svdq::emu::detail {
void set_last_error(cudaError_t e) {
  if (e != cudaSuccess) t_last_error = e;
}
}  // namespace svdq::emu::detail

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue, "cudaMalloc(nullptr)");
  std::lock_guard<std::mutex> lock(device_mutex());
  if (bytes > (std::size_t(1) << 48)) return fail(cudaErrorMemoryAllocation, "cudaMalloc (more than 2^48 bytes)");  // no wrap below
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 255) / 256 * 256;
  void* raw = std::aligned_alloc(256, rounded + 2 * kRedZone);
  void* p = raw ? static_cast<char*>(raw) + kRedZone : nullptr;
  auto* shadow = static_cast<std::uint8_t*>(std::calloc(std::max<std::size_t>(bytes, 1), 1));
  if (!p || !shadow) {
    std::free(raw);
    std::free(shadow);
    *ptr = nullptr;
    return fail(cudaErrorMemoryAllocation, "cudaMalloc");
  }
  // Fill with a pattern so reads the checker misses (when disabled) are visibly garbage.
  std::memset(raw, 0xA5, rounded + 2 * kRedZone);
  Allocation a{reinterpret_cast<std::uintptr_t>(p), bytes, shadow, raw};
  g_allocs.insert(std::upper_bound(g_allocs.begin(), g_allocs.end(), a,
                                   [](const Allocation& x, const Allocation& y) { return x.base < y.base; }),
                  a);
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(device_mutex());
  const auto a = reinterpret_cast<std::uintptr_t>(ptr);
  auto it = std::find_if(g_allocs.begin(), g_allocs.end(), [a](const Allocation& x) { return x.base == a; });
  if (it == g_allocs.end()) return fail(cudaErrorInvalidDevicePointer, "cudaFree of a pointer cudaMalloc did not return");
  std::free(it->raw);
  std::free(it->shadow);
  g_allocs.erase(it);
  g_generation.fetch_add(1, std::memory_order_acq_rel);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue, "cudaMemcpy with a null pointer");
  std::lock_guard<std::mutex> lock(device_mutex());
  const Allocation* d = containing(dst, bytes);
  const Allocation* s = containing(src, bytes);
  if (kind == cudaMemcpyDefault)
    kind = d ? (s ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice) : (s ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  const bool dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection, "cudaMemcpy");
  if (dst_dev && !d) return fail(cudaErrorInvalidValue, "cudaMemcpy destination is not inside one device allocation");
  if (src_dev && !s) return fail(cudaErrorInvalidValue, "cudaMemcpy source is not inside one device allocation");
  std::memmove(dst, src, bytes);
  if (dst_dev) {
    std::uint8_t* dsh = d->shadow + (reinterpret_cast<std::uintptr_t>(dst) - d->base);
    if (src_dev)
      std::memmove(dsh, s->shadow + (reinterpret_cast<std::uintptr_t>(src) - s->base), bytes);
    else
      std::memset(dsh, 1, bytes);
  }
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  std::lock_guard<std::mutex> lock(device_mutex());
  const Allocation* d = containing(dst, bytes);
  if (!d) return fail(cudaErrorInvalidValue, "cudaMemset destination is not inside one device allocation");
  std::memset(dst, value, bytes);
  std::memset(d->shadow + (reinterpret_cast<std::uintptr_t>(dst) - d->base), 1, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t) {
  return cudaMemset(dst, value, bytes);
}

cudaError_t cudaDeviceSynchronize() { return t_last_error; }
cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return t_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorMisalignedAddress: return "misaligned address";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
  }
  return "unknown error";
}

struct CUstream_st {
  int unused;
};
struct CUevent_st {
  std::chrono::steady_clock::time_point t;
};

cudaError_t cudaStreamCreate(cudaStream_t* s) {
  if (!s) return cudaErrorInvalidValue;
  *s = new CUstream_st{0};
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  delete s;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return t_last_error; }
cudaError_t cudaEventCreate(cudaEvent_t* e) {
  if (!e) return cudaErrorInvalidValue;
  *e = new CUevent_st{std::chrono::steady_clock::now()};
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  delete e;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  if (!e) return cudaErrorInvalidValue;
  e->t = std::chrono::steady_clock::now();
  return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end) return cudaErrorInvalidValue;
  *ms = std::chrono::duration<float, std::milli>(end->t - start->t).count();
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : cudaErrorInvalidValue; }
cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return cudaErrorInvalidValue;
  *count = 1;
  return cudaSuccess;
}
