// Test driver for one generated activation kernel (compiled with -DSVDQ_ACT_SYMBOL=<launcher symbol>).
//
//   driver run <cases.bin> <out.bin>   runs every case twice (second time into 0xAB-poisoned buffers) and
//                                      writes: per case i32 status, i32 identical, i32 counters_clean,
//                                      aq, ascales, lora_act
//   driver validate <rank>              prints the launcher's status for arguments it must refuse
//   driver cfrag <cases.bin> <out.bin>  the same cases through the shared quantizer fed in m16n8k16
//                                       C-fragment order (the GEMM qnext path), same output format
//                                       (lora_act zero); needs -DSVDQ_TEST_HALF and -DSVDQ_TEST_FMT
//
// cases.bin (little-endian): u32 count; per case i32 M, K, rank, group, scale bytes (2 INT4, 1 FP4), misalign;
// f32 shift; i32 fill_blocks, i32 lora_partials bytes; f32 input_scale; then
// x (M·K u16), smooth (K u16), lora_down (K·rank u16, packed). `misalign` = 1 offsets x and smooth by
// one element so the launcher must take its element-wise load path.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

#include "svdq/layer_args.h"
#include "svdq/portable.h"
#include "svdq/quant/tile.h"

extern "C" svdq_status_t SVDQ_ACT_SYMBOL(const svdq_act_args_t* args, cudaStream_t stream);

namespace {

// One warp per (row tile, unit): loads X and smooth as four 16×16 C fragments per slice (4-byte pairs),
// smooths, quantizes with quant::Order::kCFrag and stores with quant::store_unit.
template <class H, class Fmt>
__global__ void cfrag_quantize_kernel(const H* x, const H* smooth, float shift, float ts, int M, int K, void* aq,
                                      void* ascales) {
  const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
  const int mt = blockIdx.x, k0 = blockIdx.y * Fmt::kUnitK;
  float v[Fmt::kSlices][4][8];
  for (int s = 0; s < Fmt::kSlices; ++s)
    for (int j = 0; j < 4; ++j)
      for (int f = 0; f < 8; f += 2) {
        const int row = mt * 16 + g + 8 * ((f >> 1) & 1);
        const int col = k0 + 64 * s + 16 * j + 8 * (f >> 2) + 2 * t;
        const bool ok = row < M;
        const uint32_t xw = svdq::ldg_pred(reinterpret_cast<const uint32_t*>(x + size_t(ok ? row : 0) * K + col), ok, 0u);
        const uint32_t sw = svdq::ldg(reinterpret_cast<const uint32_t*>(smooth + col));
        v[s][j][f] = svdq::quant::smooth_value<Fmt::kUnsigned>(svdq::lo_f32<H>(xw), shift, svdq::lo_f32<H>(sw), ok);
        v[s][j][f + 1] = svdq::quant::smooth_value<Fmt::kUnsigned>(svdq::hi_f32<H>(xw), shift, svdq::hi_f32<H>(sw), ok);
      }
  const auto r = svdq::quant::quantize_unit<Fmt, svdq::quant::Order::kCFrag>(v, lane, ts);
  svdq::quant::store_unit<Fmt>(r, aq, ascales, mt, k0, K, lane);
}

template <class T>
T take(const std::vector<char>& buf, size_t& off) {
  T v;
  std::memcpy(&v, buf.data() + off, sizeof(T));
  off += sizeof(T);
  return v;
}

struct Outputs {
  std::vector<char> aq, ascales, lora_act;
};

Outputs run_once(const svdq_act_args_t& base, size_t aq_bytes, size_t sc_bytes, size_t la_bytes, bool poison,
                 int& status) {
  svdq::DeviceBuffer<char> aq(aq_bytes), sc(sc_bytes), la(la_bytes > 0 ? la_bytes : 16);
  const size_t pb = base.lora_partials_bytes;
  svdq::DeviceBuffer<char> parts(pb > 0 ? pb : 16);
  // The partials are scratch: poisoned on the second run, never read before the kernel writes them.
  cudaMemset(parts.data(), poison ? 0xAB : 0x00, pb > 0 ? pb : 16);
  if (poison) {
    cudaMemset(aq.data(), 0xAB, aq_bytes);
    cudaMemset(sc.data(), 0xAB, sc_bytes);
    if (la_bytes) cudaMemset(la.data(), 0xAB, la_bytes);
  }
  svdq_act_args_t a = base;
  a.lora_partials = pb > 0 ? reinterpret_cast<float*>(parts.data()) : nullptr;
  a.aq = aq.data();
  a.ascales = sc.data();
  a.lora_act = base.rank > 0 ? reinterpret_cast<float*>(la.data()) : nullptr;
  status = static_cast<int>(SVDQ_ACT_SYMBOL(&a, nullptr));
  Outputs o;
  o.aq.resize(aq_bytes);
  o.ascales.resize(sc_bytes);
  o.lora_act.resize(la_bytes);
  if (status == SVDQ_OK) {
    aq.download(o.aq.data(), aq_bytes);
    sc.download(o.ascales.data(), sc_bytes);
    if (la_bytes) la.download(o.lora_act.data(), la_bytes);
  }
  return o;
}

int run(const char* in_path, const char* out_path, bool cfrag) {
  std::ifstream in(in_path, std::ios::binary);
  std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t off = 0;
  const uint32_t count = take<uint32_t>(buf, off);
  std::ofstream out(out_path, std::ios::binary);
  for (uint32_t c = 0; c < count; ++c) {
    const int M = take<int>(buf, off), K = take<int>(buf, off), rank = take<int>(buf, off);
    const int group = take<int>(buf, off), scale_elem = take<int>(buf, off), misalign = take<int>(buf, off);
    const float shift = take<float>(buf, off);
    const int fill_blocks = take<int>(buf, off), partials_bytes = take<int>(buf, off);
    const float input_scale = take<float>(buf, off);
    const size_t xb = size_t(M) * K * 2, sb = size_t(K) * 2, lb = size_t(K) * rank * 2;
    // +8 bytes of slack so a one-element offset stays inside the allocation.
    svdq::DeviceBuffer<char> x(xb + 8), sm(sb + 8), ld(lb > 0 ? lb : 16);
    const int shift_bytes = misalign ? 2 : 0;
    cudaMemcpy(x.data() + shift_bytes, buf.data() + off, xb, cudaMemcpyHostToDevice);
    off += xb;
    cudaMemcpy(sm.data() + shift_bytes, buf.data() + off, sb, cudaMemcpyHostToDevice);
    off += sb;
    if (lb) cudaMemcpy(ld.data(), buf.data() + off, lb, cudaMemcpyHostToDevice);
    off += lb;

    const int Mp = (M + 15) / 16 * 16;
    const size_t aq_bytes = size_t(Mp) * K / 2, sc_bytes = size_t(Mp) * (K / group) * scale_elem;
    const size_t la_bytes = size_t(Mp) * rank * 4;
    svdq_act_args_t a{};
    a.M = M;
    a.K = K;
    a.rank = rank;
    a.x = x.data() + shift_bytes;
    a.smooth = sm.data() + shift_bytes;
    a.shift = shift;
    a.lora_down = rank > 0 ? ld.data() : nullptr;
    a.input_scale = input_scale;
    // Split counters: zeroed once, shared by both runs (each launch must leave them 0).
    const int n_counters = fill_blocks > 0 ? fill_blocks : 1;
    svdq::DeviceBuffer<char> counters(size_t(n_counters) * 4);
    cudaMemset(counters.data(), 0, size_t(n_counters) * 4);
    a.fill_blocks = fill_blocks;
    a.split_counters = reinterpret_cast<int*>(counters.data());
    a.lora_partials_bytes = size_t(partials_bytes);
    int s1 = 0, s2 = 0;
    if (cfrag) {
      using Fmt = SVDQ_TEST_FMT;
      svdq::DeviceBuffer<char> caq(aq_bytes), csc(sc_bytes);
      auto* kern = &cfrag_quantize_kernel<SVDQ_TEST_HALF, Fmt>;
      SVDQ_LAUNCH(kern, dim3(Mp / 16, K / Fmt::kUnitK), dim3(32), 0, nullptr)(
          reinterpret_cast<const SVDQ_TEST_HALF*>(a.x), reinterpret_cast<const SVDQ_TEST_HALF*>(a.smooth), shift,
          input_scale > 0.0f ? input_scale : 1.0f, M, K,
          static_cast<void*>(caq.data()), static_cast<void*>(csc.data()));
      const int st = cudaGetLastError() == cudaSuccess ? 0 : 2, one = 1;
      std::vector<char> h_aq(aq_bytes), h_sc(sc_bytes), h_la(la_bytes, 0);
      caq.download(h_aq.data(), aq_bytes);
      csc.download(h_sc.data(), sc_bytes);
      out.write(reinterpret_cast<const char*>(&st), 4);
      out.write(reinterpret_cast<const char*>(&one), 4);
      out.write(reinterpret_cast<const char*>(&one), 4);
      out.write(h_aq.data(), aq_bytes);
      out.write(h_sc.data(), sc_bytes);
      out.write(h_la.data(), la_bytes);
      continue;
    }
    const Outputs o1 = run_once(a, aq_bytes, sc_bytes, la_bytes, false, s1);
    const Outputs o2 = run_once(a, aq_bytes, sc_bytes, la_bytes, true, s2);
    const int identical = s1 == s2 && o1.aq == o2.aq && o1.ascales == o2.ascales && o1.lora_act == o2.lora_act;
    std::vector<int> after(n_counters);
    counters.download(reinterpret_cast<char*>(after.data()), size_t(n_counters) * 4);
    int clean = 1;
    for (int v : after) clean &= v == 0;
    out.write(reinterpret_cast<const char*>(&s1), 4);
    out.write(reinterpret_cast<const char*>(&identical), 4);
    out.write(reinterpret_cast<const char*>(&clean), 4);
    out.write(o1.aq.data(), o1.aq.size());
    out.write(o1.ascales.data(), o1.ascales.size());
    out.write(o1.lora_act.data(), o1.lora_act.size());
  }
  return 0;
}

// Arguments the launcher must refuse without launching: one status per line.
int validate(int rank) {
  svdq::DeviceBuffer<char> x(64 * 256 * 2 + 32), sm(256 * 2 + 32), ld(256 * 1024 * 2 + 32), aq(64 * 256), sc(4096),
      la(64 * 1024 * 4 + 32);
  svdq_act_args_t good{};
  good.M = 64;
  good.K = 256;
  good.rank = rank;
  good.x = x.data();
  good.smooth = sm.data();
  good.lora_down = ld.data();
  good.aq = aq.data();
  good.ascales = sc.data();
  good.lora_act = reinterpret_cast<float*>(la.data());
  std::vector<svdq_act_args_t> bad;
  svdq_act_args_t a = good;
  a.M = 0; bad.push_back(a); a = good;
  a.K = 96; bad.push_back(a); a = good;
  a.K = 0; bad.push_back(a); a = good;
  a.rank = rank + 16; bad.push_back(a); a = good;
  a.x = nullptr; bad.push_back(a); a = good;
  a.smooth = nullptr; bad.push_back(a); a = good;
  a.aq = aq.data() + 4; bad.push_back(a); a = good;
  a.ascales = sc.data() + 2; bad.push_back(a); a = good;
  a.fill_blocks = -1; bad.push_back(a); a = good;
  a.input_scale = -1.0f; bad.push_back(a); a = good;
  if (rank > 0) {
    a.lora_down = nullptr; bad.push_back(a); a = good;
    a.lora_act = reinterpret_cast<float*>(la.data() + 4); bad.push_back(a); a = good;
  }
  std::printf("%d\n", static_cast<int>(SVDQ_ACT_SYMBOL(nullptr, nullptr)));
  for (const auto& b : bad) std::printf("%d\n", static_cast<int>(SVDQ_ACT_SYMBOL(&b, nullptr)));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 4 && std::strcmp(argv[1], "run") == 0) return run(argv[2], argv[3], false);
  if (argc >= 4 && std::strcmp(argv[1], "cfrag") == 0) return run(argv[2], argv[3], true);
  if (argc >= 3 && std::strcmp(argv[1], "validate") == 0) return validate(std::atoi(argv[2]));
  std::fprintf(stderr, "usage: driver run|cfrag <cases.bin> <out.bin> | driver validate <rank>\n");
  return 2;
}
