// The one include for kernels and their host code. Under nvcc it is CUDA itself; under g++ (no
// __CUDACC__) it defines SVDQ_EMU and maps the same spelling onto the CPU emulator (runtime/emu).
//
//   __global__ void k(const float* x, float* y) { SVDQ_DYNAMIC_SMEM(float, tile); ... __syncthreads(); }
//   SVDQ_LAUNCH(k, dim3(blocks), dim3(256), smemBytes, stream)(x, y);
//   cudaError_t e = cudaGetLastError();
//
// A kernel template with commas in its name goes through an alias first:
//   auto* kern = &gemm<128, 64>; SVDQ_LAUNCH(kern, grid, block, smem, stream)(args...);
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#define SVDQ_LAUNCH(kernel, grid, block, smem, stream) kernel<<<(grid), (block), (smem), (stream)>>>
#define SVDQ_DYNAMIC_SMEM(T, name)                                        \
  extern __shared__ __align__(128) unsigned char svdq_dynamic_smem_bytes_[]; \
  T* name = reinterpret_cast<T*>(svdq_dynamic_smem_bytes_)

#else  // g++ against the emulator

#ifndef SVDQ_EMU
#define SVDQ_EMU 1
#endif
#include "../../emu/emu.h"

#define SVDQ_LAUNCH(kernel, grid, block, smem, stream) \
  ::svdq::emu::make_launcher(#kernel, kernel, dim3(grid), dim3(block), (smem), (stream))
#define SVDQ_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(::svdq::emu::dynamic_smem())

#endif

#if __has_include("numeric/half.h")
#include "numeric/half.h"
#endif
#if __has_include("arch/all.h")
#include "arch/all.h"
#endif

namespace svdq {

/** Owning device allocation for host code (cudaMalloc/cudaFree under both compilers). Move-only. */
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) { allocate(count); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), count_(o.count_) {
    o.ptr_ = nullptr;
    o.count_ = 0;
  }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = o.ptr_;
      count_ = o.count_;
      o.ptr_ = nullptr;
      o.count_ = 0;
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }

  cudaError_t allocate(std::size_t count) {
    reset();
    const cudaError_t e = cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T));
    count_ = e == cudaSuccess ? count : 0;
    return e;
  }
  void reset() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = 0;
  }
  T* data() const { return ptr_; }
  std::size_t size() const { return count_; }
  std::size_t bytes() const { return count_ * sizeof(T); }

  /** Copies `count` elements from host memory to the start of the buffer (count <= size()). */
  cudaError_t upload(const T* host, std::size_t count) {
    if (count > count_) return cudaErrorInvalidValue;
    return cudaMemcpy(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice);
  }
  cudaError_t upload(const std::vector<T>& host) { return upload(host.data(), host.size()); }
  cudaError_t download(T* host, std::size_t count) const {
    if (count > count_) return cudaErrorInvalidValue;
    return cudaMemcpy(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost);
  }
  std::vector<T> download() const {
    std::vector<T> out(count_);
    if (count_) download(out.data(), count_);
    return out;
  }
  cudaError_t zero() { return cudaMemset(ptr_, 0, bytes()); }

 private:
  T* ptr_ = nullptr;
  std::size_t count_ = 0;
};

}  // namespace svdq
