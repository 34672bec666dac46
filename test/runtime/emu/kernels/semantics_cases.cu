// Execution semantics: barriers, warp collectives, index variables, dynamic shared memory and
// multi-block scheduling. Each scenario prints "name value" lines the test compares with expectations.
#include <cstdio>
#include <string>

#include "access.h"

using emu_test::ld;
using emu_test::lds;
using emu_test::st;
using emu_test::sts;

// Tree reduction over 256 threads (8 warps) through shared memory: wrong without working barriers.
__global__ void block_sum(const int* x, int* out) {
  __shared__ int s[256];
  const int t = threadIdx.x;
  sts(&s[t], ld(x + blockIdx.x * 256 + t));
  __syncthreads();
  for (int half = 128; half > 0; half /= 2) {
    if (t < half) sts(&s[t], lds(&s[t]) + lds(&s[t + half]));
    __syncthreads();
  }
  if (t == 0) st(out + blockIdx.x, lds(&s[0]));
}

__global__ void barrier_reductions(int* out) {
  const int t = threadIdx.x;
  const int count = __syncthreads_count(t % 3 == 0);
  const int all = __syncthreads_and(t < 1000);
  const int any = __syncthreads_or(t == 77);
  const int none = __syncthreads_or(0);
  if (t == 0) {
    st(out + 0, count);
    st(out + 1, all);
    st(out + 2, any);
    st(out + 3, none);
  }
}

// Writes every thread's global linear id from the built-in variables of a 3-D grid of 3-D blocks.
__global__ void index_map(int* out) {
  const int bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const int nt = blockDim.x * blockDim.y * blockDim.z;
  st(out + bx * nt + tx, bx * 1000 + tx);
}

// Lanes 20..31 exit; the rest exchange with a full mask (exited lanes are excused and read as 0).
__global__ void exchange_with_exits(int* out) {
  const int lane = threadIdx.x % 32;
  if (lane >= 20) return;
  const int* all = svdq::emu::warp_exchange(0xffffffffu, lane * 10 + 1, "test.exchange");
  int sum = 0;
  for (int i = 0; i < 32; ++i) sum += all[i];
  st(out + threadIdx.x, sum);
}

// Many barriers and collectives in a loop: a stress of fiber switching; result checked exactly.
__global__ void ping_pong(int* out, int rounds) {
  __shared__ int s[128];
  const int t = threadIdx.x;
  int acc = 0;
  sts(&s[t], t);
  __syncthreads();
  for (int r = 0; r < rounds; ++r) {
    const int v = lds(&s[(t + r) % 128]);
    acc += emu_test::bcast(v, r % 32);
    __syncthreads();
    sts(&s[t], v + 1);
    __syncthreads();
  }
  st(out + t, acc);
}

__global__ void dynamic_reverse(const int* x, int* y) {
  SVDQ_DYNAMIC_SMEM(int, buf);
  const int t = threadIdx.x, n = blockDim.x;
  sts(&buf[t], ld(x + blockIdx.x * n + t));
  __syncthreads();
  st(y + blockIdx.x * n + t, lds(&buf[n - 1 - t]));
}

// Each block hashes its own slice; used to compare 1 vs 2 OS threads.
__global__ void many_blocks(const int* x, int* y) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  unsigned h = static_cast<unsigned>(ld(x + i)) * 2654435761u + blockIdx.x;
  for (int k = 0; k < 8; ++k) h = (h ^ (h >> 13)) * 0x5bd1e995u + emu_test::bcast(static_cast<int>(h), k);
  st(y + i, static_cast<int>(h));
}

static void print_array(const char* name, const std::vector<int>& v, std::size_t n) {
  std::printf("%s", name);
  for (std::size_t i = 0; i < n && i < v.size(); ++i) std::printf(" %d", v[i]);
  std::printf("\n");
}

int main(int argc, char** argv) {
  const std::string scenario = argc > 1 ? argv[1] : "";
  std::vector<int> host(1 << 16);
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = static_cast<int>(i % 1000) - 300;
  svdq::DeviceBuffer<int> x(host.size()), y(host.size());
  x.upload(host);
  y.zero();
  if (scenario == "block-sum") {
    SVDQ_LAUNCH(block_sum, 4, 256, 0, nullptr)(x.data(), y.data());
    print_array("sums", y.download(), 4);
  } else if (scenario == "reductions") {
    SVDQ_LAUNCH(barrier_reductions, 1, 200, 0, nullptr)(y.data());
    print_array("reductions", y.download(), 4);
  } else if (scenario == "index") {
    SVDQ_LAUNCH(index_map, dim3(2, 3, 2), dim3(4, 2, 3), 0, nullptr)(y.data());
    print_array("index", y.download(), 12 * 24);
  } else if (scenario == "exits") {
    SVDQ_LAUNCH(exchange_with_exits, 1, 64, 0, nullptr)(y.data());
    print_array("exits", y.download(), 64);
  } else if (scenario == "ping-pong") {
    SVDQ_LAUNCH(ping_pong, 1, 128, 0, nullptr)(y.data(), 500);
    print_array("acc", y.download(), 128);
  } else if (scenario == "dynamic") {
    SVDQ_LAUNCH(dynamic_reverse, 3, 1024, 1024 * sizeof(int), nullptr)(x.data(), y.data());
    print_array("reversed", y.download(), 3 * 1024);
  } else if (scenario == "many-blocks") {
    SVDQ_LAUNCH(many_blocks, 256, 64, 0, nullptr)(x.data(), y.data());
    const std::vector<int> out = y.download();
    unsigned long long h = 1469598103934665603ull;
    for (int i = 0; i < 256 * 64; ++i) h = (h ^ static_cast<unsigned>(out[i])) * 1099511628211ull;
    std::printf("hash %llu\n", h);
  } else {
    return 2;
  }
  std::printf("status %s\n", cudaGetErrorName(cudaGetLastError()));
  return 0;
}
