// Planted bugs for the checker tests: each scenario launches one faulty (or clean) kernel, prints the
// addresses the test needs and the launch's error, and exits 0 (a report must not crash the process).
#include <cstdio>
#include <memory>
#include <vector>
#include <cstring>
#include <stdexcept>
#include <string>

#include "access.h"

using emu_test::ld;
using emu_test::lds;
using emu_test::st;
using emu_test::sts;

__global__ void planted_oob_write(float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  st(y + i, 1.0f);  // y holds 127 floats: block 1 thread 63 writes y[127]
}

__global__ void planted_uninit_read(const float* x, float* y) {
  st(y + threadIdx.x, ld(x + threadIdx.x) * 2.0f);  // only x[0..39] was uploaded
}

template <bool kBarrier>
__global__ void shared_exchange(int* out, unsigned long long* smem_addr) {
  __shared__ int s[64];
  const int t = threadIdx.x;
  sts(&s[t], 0);
  __syncthreads();
  sts(&s[t], t);
  if (kBarrier) __syncthreads();
  st(out + t, lds(&s[(t + 32) % 64]));
  if (t == 0) st(smem_addr, static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(&s[0])));
}

// Lanes of one warp pass values through shared memory; only kSync puts the __syncwarp() that Volta+
// requires between the write and the read. Then all lanes store to one shared word in the same
// instruction (allowed: one of them wins) and read it after a __syncwarp().
template <bool kSync>
__global__ void warp_neighbours(int* out, unsigned long long* smem_addr) {
  __shared__ int s[32];
  __shared__ int flag;
  const int lane = threadIdx.x;
  sts(&s[lane], 0);
  __syncthreads();
  sts(&s[lane], lane);
  if (kSync) __syncwarp();
  const int v = lds(&s[(lane + 1) % 32]);
  sts(&flag, 7);
  __syncwarp();
  st(out + lane, v + lds(&flag));
  if (lane == 0) st(smem_addr, static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(&s[0])));
}

__global__ void planted_misaligned(const float* x, float* y) {
  const float* p = reinterpret_cast<const float*>(reinterpret_cast<const char*>(x) + 2 + 4 * threadIdx.x);
  st(y + threadIdx.x, ld(p));
}

__global__ void planted_barrier_deadlock(int* y) {
  if (threadIdx.x < 40) __syncthreads();
  st(y + threadIdx.x, 1);
}

__global__ void planted_collective_deadlock(int* y) {
  int v = threadIdx.x;
  if (threadIdx.x % 32 < 16) v = emu_test::bcast(v, 0);  // lanes 16..31 never join
  else __syncthreads();
  st(y + threadIdx.x, v);
}

__global__ void mismatched_collectives(int* y) {
  int v = threadIdx.x;
  if (threadIdx.x < 16) v = emu_test::bcast(v, 0);
  else v = svdq::emu::warp_exchange(0xffffffffu, v, "test.other")[0];
  st(y + threadIdx.x, v);
}

__global__ void planted_exception(int* y) {
  if (threadIdx.x == 5) throw std::runtime_error("boom");
  st(y + threadIdx.x, 1);
}

__global__ void dynamic_overrun(int* y) {
  SVDQ_DYNAMIC_SMEM(int, buf);
  sts(&buf[threadIdx.x], 1);  // 32 ints requested, 33 threads
  st(y + threadIdx.x, 1);
}

static void print_status(const char* what) {
  const cudaError_t e = cudaGetLastError();
  std::printf("%s %s\n", what, cudaGetErrorName(e));
}

/** One store `past` bytes beyond the end of a 256-byte buffer (issue 15: an overrun that lands inside a
 * neighbouring live allocation went unseen). */
__global__ void planted_neighbour_overrun(float* y, int past) { st(y + (256 + past) / 4, 2.0f); }

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  svdq::DeviceBuffer<float> x(64), fy(128);
  svdq::DeviceBuffer<int> iy(64);
  svdq::DeviceBuffer<unsigned long long> addr(1);
  std::vector<float> host(64, 1.5f);
  if (scenario == "oob") {
    svdq::DeviceBuffer<float> small(127);
    std::printf("y %p\n", static_cast<void*>(small.data()));
    SVDQ_LAUNCH(planted_oob_write, 2, 64, 0, nullptr)(small.data());
    print_status("launch");
  } else if (scenario == "uninit") {
    x.upload(host.data(), 40);
    std::printf("x %p\n", static_cast<void*>(x.data()));
    SVDQ_LAUNCH(planted_uninit_read, 1, 64, 0, nullptr)(x.data(), fy.data());
    print_status("launch");
  } else if (scenario == "race" || scenario == "no-race") {
    if (scenario == "race")
      SVDQ_LAUNCH(shared_exchange<false>, 1, 64, 0, nullptr)(iy.data(), addr.data());
    else
      SVDQ_LAUNCH(shared_exchange<true>, 1, 64, 0, nullptr)(iy.data(), addr.data());
    print_status("launch");
    unsigned long long a = 0;
    addr.download(&a, 1);
    std::printf("s 0x%llx\n", a);
    std::vector<int> out = iy.download();
    std::printf("out32 %d out0 %d\n", out[32], out[0]);
  } else if (scenario == "warp-race" || scenario == "warp-sync") {
    if (scenario == "warp-race")
      SVDQ_LAUNCH(warp_neighbours<false>, 1, 32, 0, nullptr)(iy.data(), addr.data());
    else
      SVDQ_LAUNCH(warp_neighbours<true>, 1, 32, 0, nullptr)(iy.data(), addr.data());
    print_status("launch");
    unsigned long long a = 0;
    addr.download(&a, 1);
    std::printf("s 0x%llx\n", a);
    std::vector<int> out = iy.download();
    std::printf("out0 %d out31 %d\n", out[0], out[31]);
  } else if (scenario == "misaligned") {
    x.upload(host);
    std::printf("x %p\n", static_cast<void*>(x.data()));
    SVDQ_LAUNCH(planted_misaligned, 1, 32, 0, nullptr)(x.data(), fy.data());
    print_status("launch");
  } else if (scenario == "barrier") {
    SVDQ_LAUNCH(planted_barrier_deadlock, 1, 64, 0, nullptr)(iy.data());
    print_status("launch");
  } else if (scenario == "collective") {
    SVDQ_LAUNCH(planted_collective_deadlock, 1, 32, 0, nullptr)(iy.data());
    print_status("launch");
  } else if (scenario == "host-api") {
    // Device-to-device copies carry the initialisation shadow: x[0..39] written, x[40..63] not.
    x.upload(host.data(), 40);
    svdq::DeviceBuffer<float> copy(64);
    std::printf("d2d %s\n", cudaGetErrorName(cudaMemcpy(copy.data(), x.data(), 64 * sizeof(float), cudaMemcpyDeviceToDevice)));
    std::printf("copy %p\n", static_cast<void*>(copy.data()));
    SVDQ_LAUNCH(planted_uninit_read, 1, 64, 0, nullptr)(copy.data(), fy.data());
    print_status("launch");
    float h[4];
    std::printf("h2d-to-host %s\n", cudaGetErrorName(cudaMemcpy(h, host.data(), sizeof h, cudaMemcpyHostToDevice)));
    std::printf("d2h-overrun %s\n", cudaGetErrorName(cudaMemcpy(host.data(), x.data(), 65 * sizeof(float), cudaMemcpyDeviceToHost)));
    std::printf("free-bogus %s\n", cudaGetErrorName(cudaFree(h)));
    cudaGetLastError();
    SVDQ_LAUNCH(planted_uninit_read, 1, 2048, 0, nullptr)(copy.data(), fy.data());
    print_status("too-many-threads");
  } else if (scenario == "mismatch") {
    SVDQ_LAUNCH(mismatched_collectives, 1, 32, 0, nullptr)(iy.data());
    print_status("launch");
  } else if (scenario == "exception") {
    SVDQ_LAUNCH(planted_exception, 1, 32, 0, nullptr)(iy.data());
    print_status("launch");
  } else if (scenario == "smem-overrun") {
    SVDQ_LAUNCH(dynamic_overrun, 1, 33, 32 * sizeof(int), nullptr)(iy.data());
    print_status("launch");
  } else if (scenario == "neighbour") {
    // Many 256-byte buffers allocated back to back, as a program's tensors are: overruns of up to 4 KiB
    // from each must be reported, wherever the host heap put the next buffer.
    std::vector<std::unique_ptr<svdq::DeviceBuffer<float>>> bufs;
    for (int i = 0; i < 8; ++i) bufs.push_back(std::make_unique<svdq::DeviceBuffer<float>>(64));
    int caught = 0, probes = 0;
    for (auto& b : bufs)
      for (int past = 0; past < 4096; past += 128) {
        ++probes;
        SVDQ_LAUNCH(planted_neighbour_overrun, 1, 1, 0, nullptr)(b->data(), past);
        if (cudaGetLastError() == cudaErrorIllegalAddress) ++caught;
      }
    std::printf("neighbour %d of %d overruns caught\n", caught, probes);
  } else if (scenario == "after-error") {
    // A failed launch does not poison later ones.
    svdq::DeviceBuffer<float> small(127);
    SVDQ_LAUNCH(planted_oob_write, 2, 64, 0, nullptr)(small.data());
    print_status("first");
    SVDQ_LAUNCH(planted_oob_write, 1, 64, 0, nullptr)(small.data());
    print_status("second");
  } else {
    std::printf("unknown scenario '%s'\n", scenario.c_str());
    return 2;
  }
  return 0;
}
