// Kernels with hand-computable traffic: each scenario is one launch whose counters the test checks
// exactly (bytes, requests, 32-byte sectors per request, shared wavefronts and bank conflicts).
#include <cstdio>
#include <string>

#include "access.h"

using emu_test::ld;
using emu_test::lds;
using emu_test::st;
using emu_test::sts;

__global__ void coalesced_copy(const float* x, float* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  st(y + i, ld(x + i));
}

__global__ void strided_load(const float* x, float* y, int stride, int offset) {
  const int i = threadIdx.x;
  st(y + i, ld(x + offset + i * stride));
}

__global__ void vector_load(const uint4* x, uint4* y) {
  const int i = threadIdx.x;
  st(y + i, ld(x + i));
}

// One warp; `pattern` picks the shared-memory index of each lane.
__global__ void shared_pattern(int pattern, float* y) {
  __shared__ float s[32 * 33 + 128];
  const int lane = threadIdx.x;
  int idx = 0;
  switch (pattern) {
    case 0: idx = lane; break;        // conflict-free
    case 1: idx = lane * 32; break;   // every lane in bank 0: 32-way
    case 2: idx = lane * 2; break;    // 2-way
    case 3: idx = 0; break;           // broadcast
    case 4: idx = lane * 33; break;   // padded column: conflict-free
  }
  sts(&s[idx], 1.0f);
  __syncwarp();  // lanes read words other lanes wrote (pattern 3: all the same word)
  st(y + lane, lds(&s[idx]));
}

__global__ void shared_vector(float* y) {
  __shared__ float4 s[64];
  const int lane = threadIdx.x;
  sts(&s[lane], float4{1, 2, 3, 4});  // 16 bytes per lane, contiguous: 4 phases, no conflict
  sts(&s[lane + 32], float4{1, 2, 3, 4});
  __syncwarp();  // lanes read each other's writes
  const float4 v = lds(&s[lane * 2]);  // stride 32 bytes: each quarter-warp phase is 2-way
  st(y + lane, v.x);
}

__global__ void counted_ops(float* y) {
  svdq::emu::count("test.op", 2);
  __syncthreads();
  __syncthreads();
  const int v = emu_test::bcast(threadIdx.x, 0);
  st(y + threadIdx.x, static_cast<float>(v));
}

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  const int n = 4096;
  std::vector<float> host(64 * 33 * 4, 1.0f);
  svdq::DeviceBuffer<float> x(host.size()), y(n);
  x.upload(host);
  if (scenario == "coalesced") {
    SVDQ_LAUNCH(coalesced_copy, n / 128, 128, 0, nullptr)(x.data(), y.data());
  } else if (scenario == "strided") {
    SVDQ_LAUNCH(strided_load, 1, 32, 0, nullptr)(x.data(), y.data(), 2, 0);
    SVDQ_LAUNCH(strided_load, 1, 32, 0, nullptr)(x.data(), y.data(), 8, 0);
    SVDQ_LAUNCH(strided_load, 1, 32, 0, nullptr)(x.data(), y.data(), 1, 1);
    SVDQ_LAUNCH(vector_load, 1, 32, 0, nullptr)(reinterpret_cast<const uint4*>(x.data()), reinterpret_cast<uint4*>(y.data()));
  } else if (scenario == "banks") {
    for (int p = 0; p < 5; ++p) SVDQ_LAUNCH(shared_pattern, 1, 32, 0, nullptr)(p, y.data());
    SVDQ_LAUNCH(shared_vector, 1, 32, 0, nullptr)(y.data());
  } else if (scenario == "ops") {
    SVDQ_LAUNCH(counted_ops, 3, 64, 0, nullptr)(y.data());
  } else {
    return 2;
  }
  std::printf("status %s\n", cudaGetErrorName(cudaGetLastError()));
  return 0;
}
