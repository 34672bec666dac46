/* The export smoke test's C consumer (regress/stage-export.ts): a plain C11 program that includes
 * only the exported headers and links only libsvdq_emu.so, as another runtime would. It checks the ABI
 * version, the build info, argument validation, and runs one layer whose 4-bit and low-rank weights are
 * zero, so Y must equal the bias bit for bit (for M = 1 and an odd M), whatever the kernel's tiles.
 * Usage: consumer N K rank  → prints "ok …" and exits 0, or prints what failed and exits 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "svdq.h"

#define CHECK(cond, ...)                      \
  do {                                        \
    if (!(cond)) {                            \
      fprintf(stderr, "FAIL: " __VA_ARGS__);  \
      fprintf(stderr, " (last error: %s)\n", svdq_last_error()); \
      return 1;                               \
    }                                         \
  } while (0)

static void* device_zeros(size_t bytes) {
  void* p = NULL;
  if (svdq_device_alloc(bytes ? bytes : 16, &p) != SVDQ_OK) return NULL;
  void* host = calloc(1, bytes ? bytes : 16);
  svdq_copy_to_device(p, host, bytes ? bytes : 16);
  free(host);
  return p;
}

static int run_rows(svdq_layer_t* layer, int M, int N, int K, const uint16_t* bias_host) {
  uint16_t* x_host = (uint16_t*)malloc((size_t)M * K * 2);
  for (int i = 0; i < M * K; i++) x_host[i] = (uint16_t)(0x3f80u + (unsigned)(i % 7)); /* bf16 ≈ 1.0 … 1.05 */
  void* x = device_zeros((size_t)M * K * 2);
  void* y = device_zeros((size_t)M * N * 2);
  CHECK(x && y, "device allocation for M=%d", M);
  svdq_copy_to_device(x, x_host, (size_t)M * K * 2);
  size_t ws_bytes = 0;
  CHECK(svdq_layer_workspace_size(layer, M, &ws_bytes) == SVDQ_OK, "svdq_layer_workspace_size(M=%d)", M);
  void* ws = device_zeros(ws_bytes);
  CHECK(ws, "workspace allocation (%zu bytes)", ws_bytes);
  CHECK(svdq_layer_run(layer, M, x, y, ws, ws_bytes, NULL) == SVDQ_OK, "svdq_layer_run(M=%d)", M);
  CHECK(svdq_synchronize() == SVDQ_OK, "svdq_synchronize");
  uint16_t* y_host = (uint16_t*)malloc((size_t)M * N * 2);
  svdq_copy_to_host(y_host, y, (size_t)M * N * 2);
  for (int i = 0; i < M * N; i++) CHECK(y_host[i] == bias_host[i % N], "M=%d: y[%d] = 0x%04x, expected the bias 0x%04x", M, i, y_host[i], bias_host[i % N]);
  svdq_device_free(ws);
  svdq_device_free(x);
  svdq_device_free(y);
  free(x_host);
  free(y_host);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: consumer N K rank\n");
    return 2;
  }
  const int N = atoi(argv[1]), K = atoi(argv[2]), rank = atoi(argv[3]);
  CHECK(svdq_abi_version() == SVDQ_ABI_VERSION, "ABI version %d, header says %d", svdq_abi_version(), SVDQ_ABI_VERSION);
  const char* info = svdq_build_info();
  CHECK(info && info[0] == '{', "svdq_build_info() is not JSON");

  uint16_t* bias_host = (uint16_t*)malloc((size_t)N * 2);
  for (int i = 0; i < N; i++) bias_host[i] = (uint16_t)(0x3f00u + (unsigned)(i % 97)); /* bf16 0.5 … */
  svdq_layer_desc_t d;
  memset(&d, 0, sizeof d);
  d.N = N;
  d.K = K;
  d.rank = rank;
  d.format = SVDQ_FORMAT_INT4;
  d.group = 64;
  d.dtype = SVDQ_DTYPE_BF16;
  d.scale_dtype = SVDQ_DTYPE_BF16;
  d.epilogue = SVDQ_EPILOGUE_BIAS | SVDQ_EPILOGUE_LOWRANK;
  d.wtensor_scale = 1.0f;
  d.wq = device_zeros((size_t)N * K / 2);
  d.wscales = device_zeros((size_t)N * (K / 64) * 2);
  void* bias = device_zeros((size_t)N * 2);
  svdq_copy_to_device(bias, bias_host, (size_t)N * 2);
  d.bias = bias;
  d.lora_down = device_zeros((size_t)K * rank * 2);
  d.lora_up = device_zeros((size_t)N * rank * 2);
  CHECK(d.wq && d.wscales && d.bias && d.lora_down && d.lora_up, "device allocation of the weights");

  /* argument validation: N not a multiple of 16 must be refused with a message */
  svdq_layer_desc_t bad = d;
  bad.N = N + 1;
  svdq_layer_t* refused = NULL;
  CHECK(svdq_layer_create(&bad, &refused) != SVDQ_OK && svdq_last_error()[0] != '\0', "N=%d was accepted", bad.N);

  CHECK(svdq_max_rank(&d) >= rank, "svdq_max_rank = %d < rank %d", svdq_max_rank(&d), rank);
  svdq_layer_t* layer = NULL;
  CHECK(svdq_layer_create(&d, &layer) == SVDQ_OK, "svdq_layer_create(N=%d, K=%d, rank=%d)", N, K, rank);
  CHECK(svdq_layer_rank(layer) == rank, "svdq_layer_rank = %d", svdq_layer_rank(layer));
  if (run_rows(layer, 1, N, K, bias_host) || run_rows(layer, 145, N, K, bias_host)) return 1;
  svdq_layer_destroy(layer);
  printf("ok abi=%d N=%d K=%d rank=%d M=1,145 y==bias\n", svdq_abi_version(), N, K, rank);
  return 0;
}
