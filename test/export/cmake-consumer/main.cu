// Creates and runs one layer on the GPU through svdq.h (built here; CI has no GPU to run it).
#include <cuda_runtime.h>
#include <cstdio>
#include "svdq.h"

int main() {
  const int M = 16, N = 64, K = 128, R = 32;
  void *wq, *wscales, *bias, *down, *up, *x, *y, *ws;
  cudaMalloc(&wq, N * K / 2);
  cudaMalloc(&wscales, N * K / 64 * 2);
  cudaMalloc(&bias, N * 2);
  cudaMalloc(&down, K * R * 2);
  cudaMalloc(&up, N * R * 2);
  cudaMalloc(&x, M * K * 2);
  cudaMalloc(&y, M * N * 2);
  svdq_layer_desc_t d = {};
  d.N = N; d.K = K; d.rank = R; d.format = SVDQ_FORMAT_INT4; d.group = 64;
  d.dtype = SVDQ_DTYPE_BF16; d.scale_dtype = SVDQ_DTYPE_BF16; d.wtensor_scale = 1.0f;
  d.epilogue = SVDQ_EPILOGUE_BIAS | SVDQ_EPILOGUE_LOWRANK;
  d.wq = wq; d.wscales = wscales; d.bias = bias; d.lora_down = down; d.lora_up = up;
  svdq_layer_t* layer = nullptr;
  if (svdq_layer_create(&d, &layer) != SVDQ_OK) { std::fprintf(stderr, "%s\n", svdq_last_error()); return 1; }
  size_t bytes = 0;
  svdq_layer_workspace_size(layer, M, &bytes);
  cudaMalloc(&ws, bytes);
  cudaStream_t stream;
  cudaStreamCreate(&stream);
  const svdq_status_t s = svdq_layer_run(layer, M, x, y, ws, bytes, stream);
  cudaStreamSynchronize(stream);
  std::printf("status %d: %s\n", s, svdq_last_error());
  svdq_layer_destroy(layer);
  return s == SVDQ_OK ? 0 : 1;
}
