// The layer harness: one SVDQuant layer (activation kernel, then GEMM) through the generated C ABI
// launchers (layer_args.h), on a GPU (nvcc build) or on the CPU emulator (g++ build, where portable.h
// emulates the CUDA runtime calls below). Inputs come as a bundle (bundle.h); outputs are written as raw
// .bin files plus result.json. `--time` measures (GPU: CUDA events; emulator: wall clock, labelled so):
// warm-up, batches until the median is stable, cold L2 by rotating through enough copies of every
// buffer to exceed twice the L2 size.
//
// Compile with -DSVDQ_GEMM_LAUNCHER=<symbol> [-DSVDQ_ACT_LAUNCHER=<symbol>] and the kernel sources.
//   layer_main <bundle-dir> <out-dir> [--time] [--warmup N] [--min-reps N] [--max-reps N]
//              [--batch N] [--rel-tol X] [--max-seconds S] [--l2-bytes B] [--samples]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "svdq/layer_args.h"
#include "svdq/portable.h"
#include "bundle.h"
#include "timing.h"

#ifndef SVDQ_GEMM_LAUNCHER
#error "define SVDQ_GEMM_LAUNCHER to the generated GEMM launcher's symbol"
#endif

// C linkage: the symbol's parameter types do not enter its name, so (args*, stream) is all that matters.
extern "C" svdq_status_t SVDQ_GEMM_LAUNCHER(const svdq_gemm_args_t* args, cudaStream_t stream);
#ifdef SVDQ_ACT_LAUNCHER
extern "C" svdq_status_t SVDQ_ACT_LAUNCHER(const svdq_act_args_t* args, cudaStream_t stream);
#endif

namespace {

using svdq::harness::Bundle;

#define STR2(x) #x
#define STR(x) STR2(x)

struct Options {
  std::string bundle, out;
  bool time = false, samples = false;
  double l2_bytes = 0;
  svdq::harness::TimingPolicy policy;
};

/** One full set of device buffers (inputs uploaded or copied, outputs allocated). */
using DeviceSet = std::map<std::string, void*>;

int die(const std::string& message) {
  std::fprintf(stderr, "layer_main: %s\n", message.c_str());
  return 1;
}

bool parse_args(int argc, char** argv, Options& o, std::string& error) {
  std::vector<std::string> pos;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](double& v) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      v = std::strtod(argv[++i], &end);
      return end && *end == '\0';
    };
    double v = 0;
    if (a == "--time") o.time = true;
    else if (a == "--samples") o.samples = true;
    else if (a == "--warmup" && next(v)) o.policy.warmup = static_cast<int>(v);
    else if (a == "--min-reps" && next(v)) o.policy.min_reps = static_cast<int>(v);
    else if (a == "--max-reps" && next(v)) o.policy.max_reps = static_cast<int>(v);
    else if (a == "--batch" && next(v)) o.policy.batch = static_cast<int>(v);
    else if (a == "--rel-tol" && next(v)) o.policy.rel_tol = v;
    else if (a == "--max-seconds" && next(v)) o.policy.max_seconds = v;
    else if (a == "--l2-bytes" && next(v)) o.l2_bytes = v;
    else if (a.rfind("--", 0) == 0) { error = "bad option '" + a + "'"; return false; }
    else pos.push_back(a);
  }
  if (pos.size() != 2) { error = "usage: layer_main <bundle-dir> <out-dir> [--time ...]"; return false; }
  o.bundle = pos[0];
  o.out = pos[1];
  if (o.policy.batch < 1 || o.policy.max_reps < 1) { error = "repetition counts must be positive"; return false; }
  return true;
}

void* find(const DeviceSet& s, const char* name) {
  auto it = s.find(name);
  return it == s.end() ? nullptr : it->second;
}

svdq_act_args_t act_args(const Bundle& b, const DeviceSet& s) {
  svdq_act_args_t a{};
  a.M = static_cast<int>(b.scalar("M", 0));
  a.K = static_cast<int>(b.scalar("K", 0));
  a.rank = static_cast<int>(b.scalar("rank", 0));
  a.x = find(s, "x");
  a.smooth = find(s, "smooth");
  a.shift = static_cast<float>(b.scalar("shift", 0));
  a.lora_down = find(s, "lora_down");
  a.aq = find(s, "aq");
  a.ascales = find(s, "ascales");
  a.lora_act = static_cast<float*>(find(s, "lora_act"));
  a.fill_blocks = static_cast<int>(b.scalar("fill_blocks", 0));
  a.split_counters = static_cast<int*>(find(s, "split_counters"));
  a.lora_partials = static_cast<float*>(find(s, "lora_partials"));
  a.lora_partials_bytes = static_cast<size_t>(b.scalar("lora_partials_bytes", 0));
  a.input_scale = static_cast<float>(b.scalar("input_scale", 0));
  return a;
}

svdq_gemm_args_t gemm_args(const Bundle& b, const DeviceSet& s) {
  svdq_gemm_args_t g{};
  g.M = static_cast<int>(b.scalar("M", 0));
  g.N = static_cast<int>(b.scalar("N", 0));
  g.K = static_cast<int>(b.scalar("K", 0));
  g.rank = static_cast<int>(b.scalar("rank", 0));
  g.aq = find(s, "aq");
  g.ascales = find(s, "ascales");
  g.wq = find(s, "wq");
  g.wscales = find(s, "wscales");
  g.alpha = static_cast<float>(b.scalar("alpha", 1));
  g.bias = find(s, "bias");
  g.wcscales = find(s, "wcscales");  // NULL (all 1) unless the layer has per-channel scales
  g.lora_act = static_cast<const float*>(find(s, "lora_act"));
  g.lora_act_slices = static_cast<int>(b.scalar("lora_act_slices", 1));
  g.lora_up = find(s, "lora_up");
  g.lora_scales = static_cast<const float*>(find(s, "lora_scales"));
  g.y = find(s, "y");
  g.next_smooth = find(s, "next_smooth");
  g.next_shift = static_cast<float>(b.scalar("next_shift", 0));
  g.next_rank = static_cast<int>(b.scalar("next_rank", 0));
  g.next_lora_down = find(s, "next_lora_down");
  g.next_aq = find(s, "next_aq");
  g.next_ascales = find(s, "next_ascales");
  g.next_lora_act = static_cast<float*>(find(s, "next_lora_act"));
  return g;
}

struct LaunchStatus {
  int act = 0, gemm = 0;
  cudaError_t cuda = cudaSuccess;
  bool ok() const { return act == SVDQ_OK && gemm == SVDQ_OK && cuda == cudaSuccess; }
};

LaunchStatus run_layer(const svdq_act_args_t& act, const svdq_gemm_args_t& gemm, cudaStream_t stream,
                       cudaEvent_t mid = nullptr) {
  LaunchStatus st;
#ifdef SVDQ_ACT_LAUNCHER
  st.act = SVDQ_ACT_LAUNCHER(&act, stream);
#else
  (void)act;
#endif
  if (mid) cudaEventRecord(mid, stream);
  if (st.act == SVDQ_OK) st.gemm = SVDQ_GEMM_LAUNCHER(&gemm, stream);
  st.cuda = cudaGetLastError();
  return st;
}

bool allocate_set(const Bundle& b, DeviceSet& set, const DeviceSet* source, std::string& error) {
  for (const auto& buf : b.buffers) {
    void* p = nullptr;
    // Never a zero-byte allocation: kernels may still receive the pointer.
    if (cudaMalloc(&p, buf.bytes ? buf.bytes : 16) != cudaSuccess) {
      error = "cudaMalloc of " + std::to_string(buf.bytes) + " bytes for '" + buf.name + "' failed";
      return false;
    }
    set[buf.name] = p;
    if (buf.file.empty() || buf.bytes == 0) continue;
    if (source) {
      if (cudaMemcpy(p, source->at(buf.name), buf.bytes, cudaMemcpyDeviceToDevice) != cudaSuccess) {
        error = "device copy of '" + buf.name + "' failed";
        return false;
      }
    } else {
      std::vector<unsigned char> host;
      if (!svdq::harness::read_file(b.dir + "/" + buf.file, host, buf.bytes, &error)) return false;
      if (cudaMemcpy(p, host.data(), buf.bytes, cudaMemcpyHostToDevice) != cudaSuccess) {
        error = "upload of '" + buf.name + "' failed";
        return false;
      }
    }
  }
  return true;
}

std::string status_json(const LaunchStatus& st) {
  return std::string("\"act_status\":") + std::to_string(st.act) + ",\"gemm_status\":" + std::to_string(st.gemm) +
         ",\"cuda_error\":\"" + cudaGetErrorName(st.cuda) + "\"";
}

std::string samples_json(const std::vector<double>& v) {
  std::string o = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? "," : "", v[i]);
    o += buf;
  }
  return o + "]";
}

/** Measures act+GEMM pairs, rotating buffer sets; returns the timing JSON or "" on a launch failure. */
std::string measure(const Bundle& b, const Options& o, std::vector<DeviceSet>& sets, std::size_t footprint,
                    LaunchStatus& failure) {
  std::vector<svdq_act_args_t> acts;
  std::vector<svdq_gemm_args_t> gemms;
  for (const auto& s : sets) {
    acts.push_back(act_args(b, s));
    gemms.push_back(gemm_args(b, s));
  }
  cudaStream_t stream = nullptr;
  cudaEvent_t start, mid, end;
  cudaEventCreate(&start);
  cudaEventCreate(&mid);
  cudaEventCreate(&end);
  std::size_t rot = 0;
  for (int i = 0; i < o.policy.warmup; ++i, ++rot) {
    failure = run_layer(acts[rot % sets.size()], gemms[rot % sets.size()], stream);
    if (!failure.ok()) return "";
  }
  cudaDeviceSynchronize();
  std::vector<double> total, act_ms, gemm_ms;
  double previous = 0;
  while (true) {
    for (int i = 0; i < o.policy.batch; ++i, ++rot) {
      const std::size_t k = rot % sets.size();
      cudaEventRecord(start, stream);
      failure = run_layer(acts[k], gemms[k], stream, mid);
      cudaEventRecord(end, stream);
      cudaEventSynchronize(end);
      if (!failure.ok()) return "";
      float a = 0, g = 0;
      cudaEventElapsedTime(&a, start, mid);
      cudaEventElapsedTime(&g, mid, end);
      act_ms.push_back(a);
      gemm_ms.push_back(g);
      total.push_back(static_cast<double>(a) + g);
    }
    if (svdq::harness::timing_done(total, previous, o.policy)) break;
    previous = svdq::harness::quantile(total, 0.5);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(mid);
  cudaEventDestroy(end);
  std::string j = "{\"clock\":";
#ifdef SVDQ_EMU
  j += "\"emulator-wall\"";
#else
  j += "\"cuda-events\"";
#endif
  j += ",\"total\":" + svdq::harness::summary_json(svdq::harness::summarize(total));
  j += ",\"act\":" + svdq::harness::summary_json(svdq::harness::summarize(act_ms));
  j += ",\"gemm\":" + svdq::harness::summary_json(svdq::harness::summarize(gemm_ms));
  j += ",\"warmup\":" + std::to_string(o.policy.warmup);
  j += ",\"rotation_sets\":" + std::to_string(sets.size());
  j += ",\"set_bytes\":" + std::to_string(footprint);
  if (o.samples) j += ",\"samples_ms\":" + samples_json(total);
  return j + "}";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string error;
  if (!parse_args(argc, argv, o, error)) return die(error);
  Bundle b;
  if (!svdq::harness::read_bundle(o.bundle, b, &error)) return die(error);

  std::vector<DeviceSet> sets(1);
  if (!allocate_set(b, sets[0], nullptr, error)) return die(error);

  const LaunchStatus st = run_layer(act_args(b, sets[0]), gemm_args(b, sets[0]), nullptr);
  const cudaError_t sync = cudaDeviceSynchronize();
  LaunchStatus first = st;
  if (first.cuda == cudaSuccess) first.cuda = sync;

  std::string result = "{\"harness\":\"layer_main\",\"gemm_launcher\":\"" STR(SVDQ_GEMM_LAUNCHER) "\",";
#ifdef SVDQ_ACT_LAUNCHER
  result += "\"act_launcher\":\"" STR(SVDQ_ACT_LAUNCHER) "\",";
#endif
#ifdef SVDQ_EMU
  result += "\"emulated\":true,";
#else
  result += "\"emulated\":false,";
#endif
  result += status_json(first);

  if (first.ok()) {
    for (const auto& name : b.outputs) {
      auto buf = std::find_if(b.buffers.begin(), b.buffers.end(), [&](const auto& x) { return x.name == name; });
      if (buf == b.buffers.end()) return die("output '" + name + "' is not a buffer of the manifest");
      std::vector<unsigned char> host(buf->bytes);
      if (buf->bytes && cudaMemcpy(host.data(), sets[0][name], buf->bytes, cudaMemcpyDeviceToHost) != cudaSuccess)
        return die("download of '" + name + "' failed");
      if (!svdq::harness::write_file(o.out + "/" + name + ".bin", host.data(), host.size(), &error)) return die(error);
    }
    if (o.time) {
      std::size_t footprint = 0;
      for (const auto& buf : b.buffers) footprint += buf.bytes;
      // Cold L2: enough sets that one rotation touches more than twice the L2 (FlashInfer's rule).
      std::size_t count = 1;
      if (o.l2_bytes > 0 && footprint > 0) count = static_cast<std::size_t>(2.0 * o.l2_bytes / footprint) + 1;
      count = std::min<std::size_t>(std::max<std::size_t>(count, 1), 64);
      for (std::size_t i = 1; i < count; ++i) {
        sets.emplace_back();
        if (!allocate_set(b, sets.back(), &sets[0], error)) return die(error);
      }
      LaunchStatus failure;
      const std::string timing = measure(b, o, sets, footprint, failure);
      if (timing.empty()) result += ",\"timing_error\":{" + status_json(failure) + "}";
      else result += ",\"timing\":" + timing;
    }
  }
  result += "}\n";
  for (auto& set : sets)
    for (auto& kv : set) cudaFree(kv.second);
  if (!svdq::harness::write_file(o.out + "/result.json", result.data(), result.size(), &error)) return die(error);
  return first.ok() ? 0 : 3;
}
