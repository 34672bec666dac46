// The emulator's speed benchmark (bench/emu.ts): a register-fragment INT4 GEMM, C = A·Bᵀ with s4 codes in
// the canonical packed layouts (docs/layouts.md), int32 output. Each warp owns a 32×32 tile and per
// 64-wide k-step loads two A and two B fragments (16 bytes per lane each) straight into registers and
// issues 8 mma.m16n8k64. The host checks sampled rows against a plain reference, then prints
// "macs <n> seconds <wall> cpu <process cpu seconds> checked <rows>".
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "svdq/portable.h"
#include "svdq/arch/memory.h"
#include "svdq/arch/mma_int.h"

namespace bench {

// Global accesses go through arch/memory.h, so the emulator checks and counts them as in real kernels.
__device__ __forceinline__ uint4 ld16(const uint4* p) { return svdq::ldg_nc(p); }
__device__ __forceinline__ void st8(int2* p, int2 v) { svdq::stg(p, v); }

constexpr int kBlockM = 64, kBlockN = 64, kWarpsM = 2, kWarpsN = 2;  // 2×2 warps of 32×32
static_assert(kWarpsM * kWarpsN * 32 == 128 && kBlockM == kWarpsM * 32, "4 warps, 32 rows each");

__global__ void __launch_bounds__(128) int4_gemm(const uint4* __restrict__ a, const uint4* __restrict__ b,
                                                 int* __restrict__ c, int m, int n, int k) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int ktiles = k / 64;
  const int rt0 = (blockIdx.y * kBlockM + (warp / kWarpsN) * 32) / 16;  // first 16-row tile of this warp
  const int nt0 = (blockIdx.x * kBlockN + (warp % kWarpsN) * 32) / 16;  // first 16-column tile
  int acc[2][4][4] = {};
  for (int kt = 0; kt < ktiles; ++kt) {
    uint4 af[2], bf[2];
    for (int i = 0; i < 2; ++i) af[i] = ld16(a + ((rt0 + i) * ktiles + kt) * 32 + lane);
    for (int j = 0; j < 2; ++j) bf[j] = ld16(b + ((nt0 + j) * ktiles + kt) * 32 + lane);
    for (int i = 0; i < 2; ++i) {
      const uint32_t ar[4] = {af[i].x, af[i].y, af[i].z, af[i].w};
      for (int j = 0; j < 2; ++j) {
        const uint32_t lo[2] = {bf[j].x, bf[j].y}, hi[2] = {bf[j].z, bf[j].w};
        svdq::arch::mma_m16n8k64<svdq::arch::S4, svdq::arch::S4>(acc[i][2 * j], ar, lo, acc[i][2 * j]);
        svdq::arch::mma_m16n8k64<svdq::arch::S4, svdq::arch::S4>(acc[i][2 * j + 1], ar, hi, acc[i][2 * j + 1]);
      }
    }
  }
  const int g = lane / 4, t = lane % 4;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j) {
      const int row = (rt0 + i) * 16 + g, col = nt0 * 16 + j * 8 + 2 * t;
      st8(reinterpret_cast<int2*>(c + row * n + col), int2{acc[i][j][0], acc[i][j][1]});
      st8(reinterpret_cast<int2*>(c + (row + 8) * n + col), int2{acc[i][j][2], acc[i][j][3]});
    }
  (void)m;
}

// Canonical packing (docs/layouts.md): activations (m,k) and weights (n,k) → nibble in a 16-byte lane word.
inline void put(std::vector<uint32_t>& words, std::size_t word, int nibble, int code) {
  words[word] |= (static_cast<uint32_t>(code) & 0xF) << (4 * nibble);
}
std::vector<uint32_t> pack_a(const std::vector<int8_t>& x, int m, int k) {
  std::vector<uint32_t> w(static_cast<std::size_t>(m) * k / 8, 0);
  for (int r = 0; r < m; ++r)
    for (int q = 0; q < k; ++q) {
      const int rr = r % 16, lane = 4 * (rr % 8) + (q % 32) / 8, word = rr / 8 + 2 * ((q % 64) / 32);
      const std::size_t tile = static_cast<std::size_t>(r / 16) * (k / 64) + q / 64;
      put(w, (tile * 32 + lane) * 4 + word, q % 8, x[static_cast<std::size_t>(r) * k + q]);
    }
  return w;
}
std::vector<uint32_t> pack_b(const std::vector<int8_t>& wt, int n, int k) {
  std::vector<uint32_t> w(static_cast<std::size_t>(n) * k / 8, 0);
  for (int c = 0; c < n; ++c)
    for (int q = 0; q < k; ++q) {
      const int cc = c % 16, lane = 4 * (cc % 8) + (q % 32) / 8, word = 2 * (cc / 8) + (q % 64) / 32;
      const std::size_t tile = static_cast<std::size_t>(c / 16) * (k / 64) + q / 64;
      put(w, (tile * 32 + lane) * 4 + word, q % 8, wt[static_cast<std::size_t>(c) * k + q]);
    }
  return w;
}

}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  const int m = argc > 1 ? std::atoi(argv[1]) : 1024;
  const int n = argc > 2 ? std::atoi(argv[2]) : 1024;
  const int k = argc > 3 ? std::atoi(argv[3]) : 1024;
  if (m % kBlockM || n % kBlockN || k % 64) {
    std::fprintf(stderr, "M, N must be multiples of 64 and K of 64\n");
    return 2;
  }
  std::vector<int8_t> x(static_cast<std::size_t>(m) * k), wt(static_cast<std::size_t>(n) * k);
  unsigned s = 12345;
  auto next = [&s] { return static_cast<int8_t>(((s = s * 1103515245u + 12345u) >> 16) % 16) - 8; };
  for (auto& v : x) v = next();
  for (auto& v : wt) v = next();
  const std::vector<uint32_t> pa = pack_a(x, m, k), pb = pack_b(wt, n, k);
  svdq::DeviceBuffer<uint32_t> da(pa.size()), db(pb.size());
  svdq::DeviceBuffer<int> dc(static_cast<std::size_t>(m) * n);
  da.upload(pa);
  db.upload(pb);
  // Process CPU time: with SVDQ_EMU_THREADS=1 it is the one core's busy time, whatever else the
  // machine is doing; wall time is reported beside it.
  std::timespec c0{}, c1{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
  const auto t0 = std::chrono::steady_clock::now();
  SVDQ_LAUNCH(int4_gemm, dim3(n / kBlockN, m / kBlockM), dim3(128), 0, nullptr)(
      reinterpret_cast<const uint4*>(da.data()), reinterpret_cast<const uint4*>(db.data()), dc.data(), m, n, k);
  const cudaError_t e = cudaDeviceSynchronize();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
  const double cpu = static_cast<double>(c1.tv_sec - c0.tv_sec) + 1e-9 * static_cast<double>(c1.tv_nsec - c0.tv_nsec);
  if (e != cudaSuccess || cudaGetLastError() != cudaSuccess) {
    std::printf("error %s\n", cudaGetErrorName(e));
    return 1;
  }
  const std::vector<int> out = dc.download();
  int checked = 0, bad = 0;
  for (int r = 0; r < m; r += 61) {  // sampled rows, every column
    for (int col = 0; col < n; ++col) {
      int ref = 0;
      for (int q = 0; q < k; ++q) ref += x[static_cast<std::size_t>(r) * k + q] * wt[static_cast<std::size_t>(col) * k + q];
      bad += out[static_cast<std::size_t>(r) * n + col] != ref;
    }
    ++checked;
  }
  if (bad) {
    std::printf("mismatches %d\n", bad);
    return 1;
  }
  std::printf("macs %llu seconds %.6f cpu %.6f checked %d\n", static_cast<unsigned long long>(m) * n * k, seconds, cpu,
              checked);
  return 0;
}
