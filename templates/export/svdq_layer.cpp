// svdq_layer.cpp — the C ABI of svdq.h over the generated launchers (svdq_kernels.h). Shipped as is by
// `svdq-codegen build` and compiled with nvcc (dist/lib) or with g++ against the CPU emulator
// (dist/emu). Every entry point validates everything before it launches anything, records a message
// for svdq_last_error(), and catches every C++ exception at the boundary.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "svdq.h"
#include "svdq_kernels.h"

using namespace svdq_export;

namespace {

thread_local std::string g_error;

struct Failure {
  svdq_status_t status;
  std::string message;
};
[[noreturn]] void fail(svdq_status_t status, std::string message) { throw Failure{status, std::move(message)}; }
void require(bool ok, const std::string& message) {
  if (!ok) fail(SVDQ_ERR_INVALID_ARG, message);
}

/** Runs `body` with the boundary rules: status + message, no exception escapes. */
template <class F>
svdq_status_t guarded(const char* fn, F&& body) {
  g_error.clear();
  try {
    body();
    return SVDQ_OK;
  } catch (const Failure& f) {
    g_error = std::string(fn) + ": " + f.message;
    return f.status;
  } catch (const std::bad_alloc&) {
    g_error = std::string(fn) + ": out of host memory";
    return SVDQ_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    g_error = std::string(fn) + ": internal error: " + e.what();
    return SVDQ_ERR_INTERNAL;
  } catch (...) {
    g_error = std::string(fn) + ": internal error (unknown exception)";
    return SVDQ_ERR_INTERNAL;
  }
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }
std::string str(long long v) { return std::to_string(v); }
size_t round_up(size_t v, size_t to) { return (v + to - 1) / to * to; }
constexpr size_t kTileBytes = 16 * 16 * 2;  // one packed 16×16 low-rank tile (docs/layouts.md)
constexpr size_t kWorkspaceAlign = 256;

void cuda_check(cudaError_t e, const char* what) {
  if (e == cudaErrorMemoryAllocation) fail(SVDQ_ERR_OUT_OF_MEMORY, std::string(what) + ": out of device memory");
  if (e != cudaSuccess) fail(SVDQ_ERR_LAUNCH, std::string(what) + " failed: " + cudaGetErrorString(e));
}

/**
 * Blocks the activation grid should reach (codegen/plan/act.ts actFillBlocks: one per SM). The emulator
 * library uses a fixed 16 so its K-split path runs too.
 */
int device_fill_blocks() {
#ifdef SVDQ_EMU
  return 16;
#else
  int dev = 0, sms = 0;
  cuda_check(cudaGetDevice(&dev), "cudaGetDevice");
  cuda_check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
  return sms;
#endif
}

/** Device arch of the current GPU (compute capability × 10); the emulator runs every kernel. */
int device_sm() {
#ifdef SVDQ_EMU
  return 0;
#else
  int dev = 0, major = 0, minor = 0;
  cuda_check(cudaGetDevice(&dev), "cudaGetDevice");
  cuda_check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev), "cudaDeviceGetAttribute");
  cuda_check(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev), "cudaDeviceGetAttribute");
  return major * 10 + minor;
#endif
}

/** SASS for sm_XY runs on sm_XZ with Z >= Y (same major); arch-specific (a) code only on its own GPU. */
bool runs_on(const KernelInfo& k, int sm) {
  if (sm == 0) return true;
  if (k.sm_exact) return k.sm == sm;
  return k.sm / 10 == sm / 10 && k.sm <= sm;
}

bool same_family(const KernelInfo& k, const svdq_layer_desc_t& d) {
  if (k.format != static_cast<int>(d.format) || k.group != d.group || k.dtype != static_cast<int>(d.dtype)) return false;
  if (d.format == SVDQ_FORMAT_INT4 && k.scale_dtype != static_cast<int>(d.scale_dtype)) return false;
  if (k.act_unsigned != (d.act_unsigned ? 1 : 0)) return false;
  if (d.act_unsigned && k.shift != d.shift) return false;
  return k.epilogue == d.epilogue;
}

/** The best arch among kernels of this family that run here (-1: none). */
int best_sm(const svdq_layer_desc_t& d, int sm) {
  int best = -1;
  for (const KernelInfo* k = kKernels; k->family; ++k)
    if (same_family(*k, d) && runs_on(*k, sm) && k->sm > best) best = k->sm;
  return best;
}

/** Smallest compiled rank >= rank for the family (-1: none). */
int kernel_rank_for(const svdq_layer_desc_t& d, int sm, int rank) {
  const int arch = best_sm(d, sm);
  int best = -1;
  for (const KernelInfo* k = kKernels; k->family; ++k) {
    if (!same_family(*k, d) || k->sm != arch || k->rank < rank) continue;
    if ((d.epilogue & SVDQ_EPILOGUE_LOWRANK) == 0 && k->rank != 0) continue;
    if (best < 0 || k->rank < best) best = k->rank;
  }
  return best;
}

int max_rank_for(const svdq_layer_desc_t& d, int sm) {
  const int arch = best_sm(d, sm);
  int best = 0;
  for (const KernelInfo* k = kKernels; k->family; ++k)
    if (same_family(*k, d) && k->sm == arch && k->rank > best) best = k->rank;
  return best;
}

// Size arguments are ints the caller controls: every bound below is checked in 64-bit arithmetic so
// INT_MAX / -1 / INT_MIN are refused, never wrapped (issue 15: M = INT_MAX hung, first + count crashed).
constexpr long long kMaxElements = 1LL << 31;  // kernels index tensors with 32-bit ints
constexpr int kMaxGridY = 65535;

void validate_desc(const svdq_layer_desc_t& d) {
  require(d.N >= 16 && d.N % 16 == 0, "N = " + str(d.N) + " must be a positive multiple of 16 (the 16-column weight tile)");
  require(d.format == SVDQ_FORMAT_INT4 || d.format == SVDQ_FORMAT_NVFP4 || d.format == SVDQ_FORMAT_MXFP4,
          "format = " + str(d.format) + " must be SVDQ_FORMAT_INT4, _NVFP4 or _MXFP4");
  const bool group_ok = d.format == SVDQ_FORMAT_INT4 ? (d.group == 32 || d.group == 64 || d.group == 128)
                                                     : d.group == (d.format == SVDQ_FORMAT_NVFP4 ? 16 : 32);
  require(group_ok, "group = " + str(d.group) + " is not a group of this format (INT4: 32, 64, 128; NVFP4: 16; MXFP4: 32)");
  require(d.K >= 64 && d.K % 64 == 0 && d.K % d.group == 0,
          "K = " + str(d.K) + " must be a positive multiple of 64 (the 4-bit MMA's K) and of the group " + str(d.group));
  require(d.dtype == SVDQ_DTYPE_FP16 || d.dtype == SVDQ_DTYPE_BF16, "dtype = " + str(d.dtype) + " must be SVDQ_DTYPE_FP16 or _BF16");
  require(d.format != SVDQ_FORMAT_INT4 || d.scale_dtype == SVDQ_DTYPE_FP16 || d.scale_dtype == SVDQ_DTYPE_BF16,
          "scale_dtype = " + str(d.scale_dtype) + " must be SVDQ_DTYPE_FP16 or _BF16");
  require(static_cast<long long>(d.N) * d.K < kMaxElements, "N × K = " + str(static_cast<long long>(d.N) * d.K) + " must be below 2^31 elements");
  require(d.rank >= 0 && d.rank % 16 == 0, "rank = " + str(d.rank) + " must be 0 or a positive multiple of 16");
  require(d.act_unsigned == 0 || d.act_unsigned == 1, "act_unsigned = " + str(d.act_unsigned) + " must be 0 or 1");
  require((d.epilogue & ~15u) == 0, "epilogue = " + str(d.epilogue) + " has bits outside SVDQ_EPILOGUE_*");
  require(!((d.epilogue & SVDQ_EPILOGUE_SILU) && (d.epilogue & SVDQ_EPILOGUE_GELU)), "epilogue: SILU and GELU are exclusive");
  require(d.rank == 0 || (d.epilogue & SVDQ_EPILOGUE_LOWRANK), "rank = " + str(d.rank) + " > 0 needs SVDQ_EPILOGUE_LOWRANK");
  require(std::isfinite(d.shift) && (d.act_unsigned || d.shift == 0.0f), "shift must be finite, and 0 for signed activations");
  require(std::isfinite(d.wtensor_scale) && d.wtensor_scale > 0.0f, "wtensor_scale must be finite and > 0");
  require(d.format == SVDQ_FORMAT_NVFP4 || d.wtensor_scale == 1.0f, "wtensor_scale must be 1 for INT4 and MXFP4");
  require(d.wq && d.wscales, "wq and wscales are required (NULL given)");
  require(aligned(d.wq, 16) && aligned(d.wscales, 16), "wq and wscales must be 16-byte aligned");
  const bool has_bias = (d.epilogue & SVDQ_EPILOGUE_BIAS) != 0;
  require(has_bias == (d.bias != nullptr), has_bias ? "bias is NULL but SVDQ_EPILOGUE_BIAS is set" : "bias given without SVDQ_EPILOGUE_BIAS");
  require(!d.bias || aligned(d.bias, 4), "bias must be 4-byte aligned");
  require(!d.smooth || aligned(d.smooth, 2), "smooth must be 2-byte aligned");
  if (d.rank > 0) {
    require(d.lora_down && d.lora_up, "lora_down and lora_up are required when rank > 0");
    require(aligned(d.lora_down, 16) && aligned(d.lora_up, 16), "lora_down and lora_up must be 16-byte aligned");
  }
}

/** Reads rank / 16 caller floats: only once the rank is known to fit a compiled kernel (rank = INT_MAX - 15 read past the array). */
void validate_lora_scales(const svdq_layer_desc_t& d) {
  if (d.rank > 0 && d.lora_scales)
    for (int i = 0; i < d.rank / 16; ++i) require(std::isfinite(d.lora_scales[i]), "lora_scales[" + str(i) + "] is not finite");
}

/** A device allocation owned by a layer. */
struct DeviceBuf {
  void* p = nullptr;
  DeviceBuf() = default;
  DeviceBuf(const DeviceBuf&) = delete;
  DeviceBuf& operator=(const DeviceBuf&) = delete;
  ~DeviceBuf() {
    if (p) cudaFree(p);
  }
  void reset(size_t bytes) {
    if (p) cudaFree(p);
    p = nullptr;
    if (bytes) cuda_check(cudaMalloc(&p, bytes), "cudaMalloc");
  }
  void swap(DeviceBuf& o) { std::swap(p, o.p); }
};

/** Copies a packed low-rank tensor of `src_rank` into one of `dst_rank` at rank-tile offset `at`. */
void copy_rank_tiles(void* dst, int dst_rank, const void* src, int src_rank, int at, int channels) {
  const size_t src_row = static_cast<size_t>(src_rank / 16) * kTileBytes;
  const size_t dst_row = static_cast<size_t>(dst_rank / 16) * kTileBytes;
  for (int ct = 0; ct < channels / 16; ++ct) {
    cuda_check(cudaMemcpy(static_cast<char*>(dst) + ct * dst_row + static_cast<size_t>(at) * kTileBytes,
                          static_cast<const char*>(src) + ct * src_row, src_row, cudaMemcpyDeviceToDevice),
               "cudaMemcpy (low-rank tiles)");
  }
}

}  // namespace

struct svdq_layer {
  svdq_layer_desc_t desc{};  // the caller's description (rank = current rank)
  int sm = 0;                // arch the kernels were chosen for
  int kernel_rank = 0;       // compiled rank of the chosen kernels (>= desc.rank; extra ranks are zero)
  DeviceBuf lora_down, lora_up, lora_scales, smooth;
  int fill_blocks = 0;        // activation grid fill target (device_fill_blocks)
  DeviceBuf split_counters;   // fill_blocks ints, zeroed once; every activation launch leaves them 0
  float input_scale = 1.0f;   // NVFP4 per-tensor activation scale (svdq_layer_set_input_scale)
  std::vector<float> scales;  // host copy, kernel_rank / 16 (zeros past desc.rank)

  /** Re-lays the low-rank tensors for a kernel rank, keeping the current ranks; appends when given. */
  void relayout(int new_kernel_rank, int add_rank, const void* add_down, const void* add_up) {
    DeviceBuf down, up;
    const size_t down_bytes = static_cast<size_t>(desc.K) * new_kernel_rank * 2;
    const size_t up_bytes = static_cast<size_t>(desc.N) * new_kernel_rank * 2;
    down.reset(down_bytes);
    up.reset(up_bytes);
    if (new_kernel_rank > 0) {
      cuda_check(cudaMemset(down.p, 0, down_bytes), "cudaMemset");
      cuda_check(cudaMemset(up.p, 0, up_bytes), "cudaMemset");
      if (desc.rank > 0) {
        copy_rank_tiles(down.p, new_kernel_rank, lora_down.p, kernel_rank, 0, desc.K);
        copy_rank_tiles(up.p, new_kernel_rank, lora_up.p, kernel_rank, 0, desc.N);
      }
      if (add_rank > 0) {
        // the existing buffers hold kernel_rank tiles per channel row; only the first desc.rank are live
        copy_rank_tiles(down.p, new_kernel_rank, add_down, add_rank, desc.rank / 16, desc.K);
        copy_rank_tiles(up.p, new_kernel_rank, add_up, add_rank, desc.rank / 16, desc.N);
      }
    }
    lora_down.swap(down);
    lora_up.swap(up);
    scales.resize(static_cast<size_t>(new_kernel_rank / 16), 0.0f);
    lora_scales.reset(scales.size() * sizeof(float));
    kernel_rank = new_kernel_rank;
  }
  void upload_scales() {
    if (!scales.empty())
      cuda_check(cudaMemcpy(lora_scales.p, scales.data(), scales.size() * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy (scales)");
  }
  size_t workspace(int M, size_t* aq, size_t* as, size_t* la) const {
    const size_t mp = round_up(static_cast<size_t>(M), 16);
    *aq = round_up(mp * desc.K / 2, kWorkspaceAlign);
    const size_t scale_bytes = desc.format == SVDQ_FORMAT_INT4 ? 2 : 1;
    *as = round_up(mp * (desc.K / desc.group) * scale_bytes, kWorkspaceAlign);
    *la = round_up(mp * kernel_rank * sizeof(float), kWorkspaceAlign);
    return *aq + *as + *la + partials(M);
  }
  /** Workspace bytes after codes, scales and X·L1: the activation kernel's K-split partials. */
  size_t partials(int M) const {
    return round_up(svdq_act_partials_bytes(M, kernel_rank, choose(M).block_m, fill_blocks), kWorkspaceAlign);
  }
  /** The tuned kernel for (M, N, K), else the family's safe default. */
  const KernelInfo& choose(int M) const {
    const KernelInfo* fallback = nullptr;
    const KernelInfo* first = nullptr;
    for (const KernelInfo* k = kKernels; k->family; ++k) {
      if (!same_family(*k, desc) || k->sm != sm || k->rank != kernel_rank) continue;
      if (!first) first = k;
      if (k->is_default && !fallback) fallback = k;
    }
    for (const DispatchRow* r = kDispatch; r->kernel >= 0; ++r) {
      const KernelInfo& k = kKernels[r->kernel];
      if (r->n == desc.N && r->k == desc.K && M > r->m_lo && (r->m_hi == 0 || M <= r->m_hi) && same_family(k, desc) &&
          k.sm == sm && k.rank == kernel_rank)
        return k;
    }
    if (fallback) return *fallback;
    if (first) return *first;
    fail(SVDQ_ERR_INTERNAL, "no kernel for the layer's family (create() found one)");
  }
};

extern "C" {

int svdq_abi_version(void) { return SVDQ_ABI_VERSION; }
const char* svdq_last_error(void) { return g_error.c_str(); }
const char* svdq_build_info(void) { return kBuildInfo; }

int svdq_max_rank(const svdq_layer_desc_t* desc) {
  int out = 0;
  guarded("svdq_max_rank", [&] {
    require(desc != nullptr, "desc is NULL");
    out = max_rank_for(*desc, device_sm());
  });
  return out;
}

svdq_status_t svdq_layer_create(const svdq_layer_desc_t* desc, svdq_layer_t** out) {
  return guarded("svdq_layer_create", [&] {
    require(out != nullptr, "out is NULL");
    *out = nullptr;
    require(desc != nullptr, "desc is NULL");
    validate_desc(*desc);
    const int sm = device_sm();
    if (best_sm(*desc, sm) < 0)
      fail(SVDQ_ERR_UNSUPPORTED, "this build has no kernel for the layer's format, dtype, activation coding and epilogue on this GPU (sm " + str(sm) + "); see svdq_build_info()");
    const int kr = kernel_rank_for(*desc, sm, desc->rank);
    if (kr < 0)
      fail(SVDQ_ERR_UNSUPPORTED, "rank = " + str(desc->rank) + " exceeds the largest compiled rank " + str(max_rank_for(*desc, sm)));
    validate_lora_scales(*desc);
    auto layer = std::make_unique<svdq_layer>();
    layer->desc = *desc;
    layer->sm = best_sm(*desc, sm);
    const int rank = desc->rank;
    layer->desc.rank = 0;
    layer->relayout(kr, rank, desc->lora_down, desc->lora_up);
    layer->desc.rank = rank;
    for (int i = 0; i < rank / 16; ++i) layer->scales[i] = desc->lora_scales ? desc->lora_scales[i] : 1.0f;
    layer->upload_scales();
    layer->smooth.reset(static_cast<size_t>(desc->K) * 2);
    if (desc->smooth) {
      cuda_check(cudaMemcpy(layer->smooth.p, desc->smooth, static_cast<size_t>(desc->K) * 2, cudaMemcpyDeviceToDevice), "cudaMemcpy (smooth)");
    } else {
      const uint16_t one = desc->dtype == SVDQ_DTYPE_FP16 ? 0x3c00 : 0x3f80;
      std::vector<uint16_t> ones(static_cast<size_t>(desc->K), one);
      cuda_check(cudaMemcpy(layer->smooth.p, ones.data(), ones.size() * 2, cudaMemcpyHostToDevice), "cudaMemcpy (smooth)");
    }
    layer->desc.smooth = layer->smooth.p;
    layer->fill_blocks = device_fill_blocks();
    layer->split_counters.reset(static_cast<size_t>(layer->fill_blocks) * sizeof(int));
    if (layer->fill_blocks > 0)
      cuda_check(cudaMemset(layer->split_counters.p, 0, static_cast<size_t>(layer->fill_blocks) * sizeof(int)), "cudaMemset");
    layer->desc.lora_down = layer->desc.lora_up = nullptr;  // owned copies live in the layer
    layer->desc.lora_scales = nullptr;
    *out = layer.release();
  });
}

void svdq_layer_destroy(svdq_layer_t* layer) {
  guarded("svdq_layer_destroy", [&] { delete layer; });
}

int svdq_layer_rank(const svdq_layer_t* layer) { return layer ? layer->desc.rank : -1; }

svdq_status_t svdq_layer_workspace_size(const svdq_layer_t* layer, int M, size_t* bytes) {
  return guarded("svdq_layer_workspace_size", [&] {
    require(layer && bytes, "layer and bytes must not be NULL");
    require(M >= 1, "M = " + str(M) + " must be >= 1");
    require(static_cast<long long>(M) * std::max(layer->desc.K, layer->desc.N) < kMaxElements,
            "M = " + str(M) + " gives more than 2^31 elements of x or y");
    size_t a, b, c;
    *bytes = layer->workspace(M, &a, &b, &c);
  });
}

svdq_status_t svdq_layer_run(svdq_layer_t* layer, int M, const void* x, void* y, void* workspace, size_t workspace_bytes,
                             svdq_stream_t stream) {
  return guarded("svdq_layer_run", [&] {
    require(layer != nullptr, "layer is NULL");
    require(M >= 1, "M = " + str(M) + " must be >= 1");
    require(x && y && workspace, "x, y and workspace must not be NULL");
    require(aligned(x, 2), "x must be 2-byte aligned");
    require(aligned(y, 16), "y must be 16-byte aligned");
    require(aligned(workspace, 16), "workspace must be 16-byte aligned");
    require(static_cast<long long>(M) * std::max(layer->desc.K, layer->desc.N) < kMaxElements,
            "M = " + str(M) + " gives more than 2^31 elements of x or y");
    size_t aq_bytes, as_bytes, la_bytes;
    const size_t need = layer->workspace(M, &aq_bytes, &as_bytes, &la_bytes);
    require(workspace_bytes >= need, "workspace_bytes = " + str(static_cast<long long>(workspace_bytes)) + " < " +
                                         str(static_cast<long long>(need)) + " needed for M = " + str(M));
    const KernelInfo& k = layer->choose(M);
    const long long blocks = (static_cast<long long>(M) + k.block_m - 1) / k.block_m;  // no int overflow at M = INT_MAX
    require(blocks <= kMaxGridY, "M = " + str(M) + " needs " + str(blocks) + " row blocks of " + str(k.block_m) +
                                     "; this kernel's grid allows at most " + str(kMaxGridY) + " (M <= " + str(static_cast<long long>(kMaxGridY) * k.block_m) + ")");
    const svdq_layer_desc_t& d = layer->desc;
    char* ws = static_cast<char*>(workspace);
    const cudaStream_t s = static_cast<cudaStream_t>(stream);
    svdq_act_args_t a{};
    a.M = M;
    a.K = d.K;
    a.rank = layer->kernel_rank;
    a.x = x;
    a.smooth = layer->smooth.p;
    a.shift = d.act_unsigned ? d.shift : 0.0f;
    a.lora_down = layer->lora_down.p;
    a.aq = ws;
    a.ascales = ws + aq_bytes;
    a.lora_act = layer->kernel_rank > 0 ? reinterpret_cast<float*>(ws + aq_bytes + as_bytes) : nullptr;
    a.fill_blocks = layer->fill_blocks;
    a.split_counters = static_cast<int*>(layer->split_counters.p);
    a.lora_partials_bytes = layer->partials(M);
    a.lora_partials = a.lora_partials_bytes > 0 ? reinterpret_cast<float*>(ws + aq_bytes + as_bytes + la_bytes) : nullptr;
    a.input_scale = d.format == SVDQ_FORMAT_NVFP4 ? layer->input_scale : 0.0f;
    svdq_gemm_args_t g{};
    g.M = M;
    g.N = d.N;
    g.K = d.K;
    g.rank = layer->kernel_rank;
    g.aq = a.aq;
    g.ascales = a.ascales;
    g.wq = d.wq;
    g.wscales = d.wscales;
    // The GEMM multiplies by alpha once: both NVFP4 per-tensor scales in one fp32 product.
    g.alpha = d.format == SVDQ_FORMAT_NVFP4 ? d.wtensor_scale * layer->input_scale : d.wtensor_scale;
    g.bias = d.bias;
    g.lora_act = a.lora_act;
    g.lora_act_slices = 1;
    g.lora_up = layer->lora_up.p;
    g.lora_scales = static_cast<const float*>(layer->lora_scales.p);
    g.y = y;
    svdq_status_t st = k.act(&a, s);
    if (st != SVDQ_OK) fail(st, std::string("activation kernel ") + k.act_uri + " returned " + str(st) + (st == SVDQ_ERR_LAUNCH ? std::string(": ") + cudaGetErrorString(cudaGetLastError()) : ""));
    st = k.gemm(&g, s);
    if (st != SVDQ_OK) fail(st, std::string("GEMM ") + k.gemm_uri + " returned " + str(st));
  });
}

svdq_status_t svdq_layer_set_input_scale(svdq_layer_t* layer, float input_scale) {
  return guarded("svdq_layer_set_input_scale", [&] {
    require(layer != nullptr, "layer is NULL");
    require(layer->desc.format == SVDQ_FORMAT_NVFP4, "input_scale is only for NVFP4 layers");
    require(std::isfinite(input_scale) && input_scale > 0.0f, "input_scale = " + std::to_string(input_scale) + " must be finite and > 0");
    layer->input_scale = input_scale;
  });
}

svdq_status_t svdq_layer_append_lora(svdq_layer_t* layer, int rank, const void* lora_down, const void* lora_up, const float* scales) {
  return guarded("svdq_layer_append_lora", [&] {
    require(layer != nullptr, "layer is NULL");
    require(rank > 0 && rank % 16 == 0, "rank = " + str(rank) + " must be a positive multiple of 16");
    require(layer->desc.epilogue & SVDQ_EPILOGUE_LOWRANK, "the layer was created without SVDQ_EPILOGUE_LOWRANK");
    require(lora_down && lora_up, "lora_down and lora_up must not be NULL");
    require(aligned(lora_down, 16) && aligned(lora_up, 16), "lora_down and lora_up must be 16-byte aligned");
    const long long total_ll = static_cast<long long>(layer->desc.rank) + rank;  // rank near INT_MAX must not wrap
    const int max_rank = max_rank_for(layer->desc, layer->sm);
    const int total = total_ll <= max_rank ? static_cast<int>(total_ll) : -1;
    const int kr = total < 0 ? -1 : kernel_rank_for(layer->desc, layer->sm == 0 ? device_sm() : layer->sm, total);
    if (kr < 0)
      fail(SVDQ_ERR_UNSUPPORTED, "rank " + str(layer->desc.rank) + " + " + str(rank) + " = " + str(total_ll) +
                                     " exceeds the largest compiled rank " + str(max_rank_for(layer->desc, layer->sm)));
    if (scales)  // read rank / 16 caller floats only once the rank is known to fit
      for (int i = 0; i < rank / 16; ++i) require(std::isfinite(scales[i]), "scales[" + str(i) + "] is not finite");
    if (kr == layer->kernel_rank) {
      copy_rank_tiles(layer->lora_down.p, kr, lora_down, rank, layer->desc.rank / 16, layer->desc.K);
      copy_rank_tiles(layer->lora_up.p, kr, lora_up, rank, layer->desc.rank / 16, layer->desc.N);
    } else {
      std::vector<float> old = layer->scales;
      layer->relayout(kr, rank, lora_down, lora_up);
      for (size_t i = 0; i < old.size() && i < layer->scales.size(); ++i) layer->scales[i] = old[i];
    }
    for (int i = 0; i < rank / 16; ++i) layer->scales[layer->desc.rank / 16 + i] = scales ? scales[i] : 1.0f;
    layer->desc.rank = total;
    layer->upload_scales();
  });
}

svdq_status_t svdq_layer_set_lora_scales(svdq_layer_t* layer, int first, int count, const float* scales) {
  return guarded("svdq_layer_set_lora_scales", [&] {
    require(layer != nullptr, "layer is NULL");
    require(scales != nullptr, "scales is NULL");
    const int groups = layer->desc.rank / 16;
    // count <= groups - first, not first + count <= groups: the sum overflows for first or count near INT_MAX
    require(first >= 0 && count >= 1 && first < groups && count <= groups - first,
            "groups [" + str(first) + ", " + str(static_cast<long long>(first) + count) + ") are outside the layer's " + str(groups) + " 16-rank groups");
    for (int i = 0; i < count; ++i) require(std::isfinite(scales[i]), "scales[" + str(i) + "] is not finite");
    for (int i = 0; i < count; ++i) layer->scales[first + i] = scales[i];
    layer->upload_scales();
  });
}

svdq_status_t svdq_device_alloc(size_t bytes, void** ptr) {
  return guarded("svdq_device_alloc", [&] {
    require(ptr != nullptr, "ptr is NULL");
    *ptr = nullptr;
    require(bytes > 0, "bytes must be > 0");
    cuda_check(cudaMalloc(ptr, bytes), "cudaMalloc");
  });
}
svdq_status_t svdq_device_free(void* ptr) {
  return guarded("svdq_device_free", [&] {
    if (ptr) cuda_check(cudaFree(ptr), "cudaFree");
  });
}
svdq_status_t svdq_copy_to_device(void* dst, const void* src, size_t bytes) {
  return guarded("svdq_copy_to_device", [&] {
    require(dst && src, "dst and src must not be NULL");
    cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
  });
}
svdq_status_t svdq_copy_to_host(void* dst, const void* src, size_t bytes) {
  return guarded("svdq_copy_to_host", [&] {
    require(dst && src, "dst and src must not be NULL");
    cuda_check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy");
  });
}
svdq_status_t svdq_synchronize(void) {
  return guarded("svdq_synchronize", [&] { cuda_check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); });
}

}  // extern "C"
