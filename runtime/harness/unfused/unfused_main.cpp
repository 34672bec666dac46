// Host driver of the unfused low-rank branch (runtime/include/svdq/unfused/): uploads x, lora_down,
// lora_scales, lora_up and y, launches lora_down then lora_up (the two separate 16-bit kernels a
// non-fused engine runs after the 4-bit layer), downloads lora_act and the updated y. Compiles with nvcc
// or with g++ against the emulator (runtime/harness/unfused/run-unfused.ts does the latter, and collects
// the per-launch counters from SVDQ_EMU_REPORT).
//
// Compile with -DSVDQ_UNFUSED_RANK=<R> and -DSVDQ_UNFUSED_BF16=0|1.
//   unfused_main <dir> M N K      reads <dir>/{x,lora_down,lora_scales,lora_up,y}.bin,
//                                 writes <dir>/{lora_act_out,y_out}.bin; exit 0 = both launches ok
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "svdq/portable.h"
#include "svdq/unfused/lora_down.h"
#include "svdq/unfused/lora_up.h"

#ifndef SVDQ_UNFUSED_RANK
#error "define SVDQ_UNFUSED_RANK (a multiple of 32)"
#endif
#if SVDQ_UNFUSED_BF16
using Half = __nv_bfloat16;
#else
using Half = __half;
#endif
constexpr int kRank = SVDQ_UNFUSED_RANK;

namespace {

int die(const std::string& m) {
  std::fprintf(stderr, "unfused_main: %s\n", m.c_str());
  return 1;
}

bool read_file(const std::string& path, std::vector<unsigned char>& out, size_t expect) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out.resize(expect);
  const size_t got = std::fread(out.data(), 1, expect, f);
  const bool extra = std::fgetc(f) != EOF;
  std::fclose(f);
  return got == expect && !extra;
}

bool write_file(const std::string& path, const void* data, size_t bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(data, 1, bytes, f) == bytes;
  return std::fclose(f) == 0 && ok;
}

/** Device copy of <dir>/<name>.bin (exactly `bytes` long). */
void* upload(const std::string& dir, const char* name, size_t bytes, std::string& error) {
  std::vector<unsigned char> host;
  if (!read_file(dir + "/" + name + ".bin", host, bytes)) {
    error = std::string(name) + ".bin: missing or not " + std::to_string(bytes) + " bytes";
    return nullptr;
  }
  void* d = nullptr;
  if (cudaMalloc(&d, bytes) != cudaSuccess || cudaMemcpy(d, host.data(), bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
    error = std::string("cudaMalloc/cudaMemcpy failed for ") + name;
    return nullptr;
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) return die("usage: unfused_main <dir> M N K");
  const std::string dir = argv[1];
  const int M = std::atoi(argv[2]), N = std::atoi(argv[3]), K = std::atoi(argv[4]);
  if (M < 1) return die("M must be positive");
  if (N < 32 || N % 32 != 0) return die("N must be a positive multiple of 32");
  if (K < 32 || K % 32 != 0) return die("K must be a positive multiple of 32");
  const size_t h = sizeof(Half);
  std::string error;
  void* x = upload(dir, "x", h * M * K, error);
  void* down = x ? upload(dir, "lora_down", h * kRank * K, error) : nullptr;
  void* scales = down ? upload(dir, "lora_scales", 4 * (kRank / 16), error) : nullptr;
  void* up = scales ? upload(dir, "lora_up", h * N * kRank, error) : nullptr;
  void* y = up ? upload(dir, "y", h * M * N, error) : nullptr;
  if (!y) return die(error);
  void* act = nullptr;
  if (cudaMalloc(&act, 4ull * M * kRank) != cudaSuccess) return die("cudaMalloc lora_act failed");

  const int row_blocks = (M + svdq::unfused::kBlockRows - 1) / svdq::unfused::kBlockRows;
  const int col_blocks = (N + svdq::unfused::kBlockCols - 1) / svdq::unfused::kBlockCols;
  auto* down_kernel = &svdq::unfused::lora_down_kernel<Half, kRank>;
  SVDQ_LAUNCH(down_kernel, dim3(row_blocks), dim3(32 * svdq::unfused::kWarps), 0, 0)
  (static_cast<const Half*>(x), static_cast<const Half*>(down), static_cast<float*>(act), M, K);
  cudaError_t e = cudaDeviceSynchronize();
  if (e != cudaSuccess) return die(std::string("lora_down launch failed: ") + cudaGetErrorString(e));
  auto* up_kernel = &svdq::unfused::lora_up_kernel<Half, kRank>;
  SVDQ_LAUNCH(up_kernel, dim3(col_blocks, row_blocks), dim3(32 * svdq::unfused::kWarps), 0, 0)
  (static_cast<const float*>(act), static_cast<const float*>(scales), static_cast<const Half*>(up), static_cast<Half*>(y), M,
   N);
  e = cudaDeviceSynchronize();
  if (e != cudaSuccess) return die(std::string("lora_up launch failed: ") + cudaGetErrorString(e));

  std::vector<unsigned char> act_host(4ull * M * kRank), y_host(h * M * N);
  if (cudaMemcpy(act_host.data(), act, act_host.size(), cudaMemcpyDeviceToHost) != cudaSuccess ||
      cudaMemcpy(y_host.data(), y, y_host.size(), cudaMemcpyDeviceToHost) != cudaSuccess)
    return die("download failed");
  if (!write_file(dir + "/lora_act_out.bin", act_host.data(), act_host.size()) ||
      !write_file(dir + "/y_out.bin", y_host.data(), y_host.size()))
    return die("cannot write outputs to " + dir);
  for (void* p : {x, down, scales, up, y, act}) cudaFree(p);
  return 0;
}
