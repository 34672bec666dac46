// Uses only the portable subset (svdq/portable.h): must compile with nvcc for sm_89 and with g++
// against the emulator, and compute the same thing under both.
#include <cstdio>
#include <vector>

#include "svdq/portable.h"

__device__ __forceinline__ float scale_of(int i) { return 0.5f * static_cast<float>(i % 7); }

// y[i] = x[i] * scale(i) + (sum of the block's x) using static and dynamic shared memory.
__global__ void __launch_bounds__(128) scale_add_block_sum(const float* __restrict__ x, float* __restrict__ y, int n) {
  __shared__ float partial[128];
  SVDQ_DYNAMIC_SMEM(float, staged);
  const int t = threadIdx.x;
  const int i = blockIdx.x * blockDim.x + t;
  const float v = i < n ? x[i] : 0.0f;
  staged[t] = v;
  partial[t] = v;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (t < half) partial[t] += partial[t + half];
    __syncthreads();
  }
  if (i < n) y[i] = staged[t] * scale_of(i) + partial[0];
}

int main() {
  const int n = 1000;
  std::vector<float> hx(n);
  for (int i = 0; i < n; ++i) hx[i] = static_cast<float>(i % 13) - 6.0f;
  svdq::DeviceBuffer<float> x(n), y(n);
  x.upload(hx);
  const int blocks = (n + 127) / 128;
  SVDQ_LAUNCH(scale_add_block_sum, dim3(blocks), dim3(128), 128 * sizeof(float), nullptr)(x.data(), y.data(), n);
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    std::printf("error %s\n", cudaGetErrorString(e));
    return 1;
  }
  cudaDeviceSynchronize();
  std::vector<float> hy = y.download();
  int bad = 0;
  for (int b = 0; b < blocks; ++b) {
    float sum = 0;
    for (int t = 0; t < 128 && b * 128 + t < n; ++t) sum += hx[b * 128 + t];
    for (int t = 0; t < 128 && b * 128 + t < n; ++t) {
      const int i = b * 128 + t;
      if (hy[i] != hx[i] * (0.5f * static_cast<float>(i % 7)) + sum) ++bad;
    }
  }
  std::printf("mismatches %d\n", bad);
  return bad == 0 ? 0 : 1;
}
