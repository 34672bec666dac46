// svdq_torch.cpp — PyTorch custom ops over an svdq-codegen build. Shipped by `svdq-codegen build` as
// dist/torch/svdq_torch.cpp and compiled on first import by dist/torch/__init__.py.
//   torch.ops.svdq.linear(x, wq, wscales, bias, smooth, lora_down, lora_up, lora_scales,
//                         group, epilogue, act_unsigned, shift, wtensor_scale) -> y
// CPU tensors run on libsvdq_emu.so (the CPU emulator), CUDA tensors on libsvdq.so. Both libraries
// export the same C ABI (svdq.h), so each is opened with dlopen into its own function table.
#include <dlfcn.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <torch/library.h>
#include <ATen/ATen.h>
#ifdef SVDQ_TORCH_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

#include "svdq.h"

namespace {

struct Api {
  const char* (*last_error)();
  svdq_status_t (*layer_create)(const svdq_layer_desc_t*, svdq_layer_t**);
  void (*layer_destroy)(svdq_layer_t*);
  svdq_status_t (*workspace_size)(const svdq_layer_t*, int, size_t*);
  svdq_status_t (*layer_run)(svdq_layer_t*, int, const void*, void*, void*, size_t, svdq_stream_t);
  svdq_status_t (*device_alloc)(size_t, void**);
  svdq_status_t (*device_free)(void*);
  svdq_status_t (*copy_to_device)(void*, const void*, size_t);
  svdq_status_t (*copy_to_host)(void*, const void*, size_t);
};

std::mutex g_mutex;
std::string g_paths[2];  // [0] emulator, [1] CUDA
Api g_api[2];
bool g_loaded[2] = {false, false};

template <class F>
void sym(void* h, const char* name, F& out, const std::string& path) {
  out = reinterpret_cast<F>(dlsym(h, name));
  TORCH_CHECK(out != nullptr, "svdq: ", path, " has no symbol ", name);
}

const Api& api(int which) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!g_loaded[which]) {
    const std::string& path = g_paths[which];
    TORCH_CHECK(!path.empty(), "svdq: no ", which ? "CUDA" : "emulator", " library configured (call svdq.set_libraries)");
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    TORCH_CHECK(h != nullptr, "svdq: cannot load ", path, ": ", dlerror());
    Api& a = g_api[which];
    sym(h, "svdq_last_error", a.last_error, path);
    sym(h, "svdq_layer_create", a.layer_create, path);
    sym(h, "svdq_layer_destroy", a.layer_destroy, path);
    sym(h, "svdq_layer_workspace_size", a.workspace_size, path);
    sym(h, "svdq_layer_run", a.layer_run, path);
    sym(h, "svdq_device_alloc", a.device_alloc, path);
    sym(h, "svdq_device_free", a.device_free, path);
    sym(h, "svdq_copy_to_device", a.copy_to_device, path);
    sym(h, "svdq_copy_to_host", a.copy_to_host, path);
    g_loaded[which] = true;
  }
  return g_api[which];
}

void check(const Api& a, svdq_status_t s, const char* what) {
  TORCH_CHECK(s == SVDQ_OK, "svdq: ", what, " failed (status ", static_cast<int>(s), "): ", a.last_error());
}

int dtype_code(const at::Tensor& t, const char* name) {
  if (t.scalar_type() == at::kHalf) return SVDQ_DTYPE_FP16;
  if (t.scalar_type() == at::kBFloat16) return SVDQ_DTYPE_BF16;
  TORCH_CHECK(false, "svdq: ", name, " must be float16 or bfloat16, got ", t.scalar_type());
}

/** Emulator device copies of the CPU tensors, freed on scope exit. */
struct EmuBuffers {
  const Api& a;
  std::vector<void*> owned;
  explicit EmuBuffers(const Api& api_) : a(api_) {}
  ~EmuBuffers() {
    for (void* p : owned) a.device_free(p);
  }
  void* alloc(size_t bytes) {
    void* p = nullptr;
    check(a, a.device_alloc(bytes ? bytes : 1, &p), "svdq_device_alloc");
    owned.push_back(p);
    return p;
  }
  const void* upload(const c10::optional<at::Tensor>& t) {
    if (!t.has_value()) return nullptr;
    at::Tensor c = t->contiguous();
    void* p = alloc(c.nbytes());
    check(a, a.copy_to_device(p, c.data_ptr(), c.nbytes()), "svdq_copy_to_device");
    return p;
  }
};

svdq_layer_desc_t describe(const at::Tensor& x, const at::Tensor& wq, const at::Tensor& wscales, const c10::optional<at::Tensor>& lora_down,
                           int64_t group, int64_t epilogue, bool act_unsigned, double shift, double wtensor_scale) {
  TORCH_CHECK(x.dim() >= 1, "svdq: x must have at least one dimension");
  TORCH_CHECK(wq.dim() == 2 && wq.scalar_type() == at::kByte, "svdq: wq must be uint8 [N, K/2] (packed codes)");
  svdq_layer_desc_t d{};
  d.N = static_cast<int>(wq.size(0));
  d.K = static_cast<int>(wq.size(1) * 2);
  TORCH_CHECK(x.size(-1) == d.K, "svdq: x has ", x.size(-1), " channels, wq expects K = ", d.K);
  d.dtype = static_cast<svdq_dtype_t>(dtype_code(x, "x"));
  d.group = static_cast<int>(group);
  if (wscales.scalar_type() == at::kByte) {
    d.format = group == 16 ? SVDQ_FORMAT_NVFP4 : SVDQ_FORMAT_MXFP4;
  } else {
    d.format = SVDQ_FORMAT_INT4;
    d.scale_dtype = static_cast<svdq_dtype_t>(dtype_code(wscales, "wscales"));
  }
  d.rank = lora_down.has_value() ? static_cast<int>(lora_down->size(0)) : 0;
  d.epilogue = static_cast<unsigned>(epilogue);
  d.act_unsigned = act_unsigned ? 1 : 0;
  d.shift = static_cast<float>(shift);
  d.wtensor_scale = static_cast<float>(wtensor_scale);
  return d;
}

at::Tensor run(int which, const at::Tensor& x_in, svdq_layer_desc_t d, const c10::optional<at::Tensor>& lora_scales, EmuBuffers* emu) {
  const Api& a = api(which);
  std::vector<float> scales;
  if (lora_scales.has_value()) {
    at::Tensor s = lora_scales->to(at::kCPU, at::kFloat).contiguous();
    scales.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
    TORCH_CHECK(static_cast<int>(scales.size()) == d.rank / 16, "svdq: lora_scales has ", scales.size(), " values, expected rank/16 = ", d.rank / 16);
    d.lora_scales = scales.data();
  }
  at::Tensor x = x_in.contiguous();
  const int M = static_cast<int>(x.numel() / d.K);
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end());
  shape.back() = d.N;
  at::Tensor y = at::empty(shape, x.options());
  svdq_layer_t* layer = nullptr;
  check(a, a.layer_create(&d, &layer), "svdq_layer_create");
  size_t ws_bytes = 0;
  svdq_status_t s = a.workspace_size(layer, M, &ws_bytes);
  if (s == SVDQ_OK) {
    if (emu) {
      const void* dx = emu->upload(x);
      void* dy = emu->alloc(y.nbytes());
      void* ws = emu->alloc(ws_bytes);
      s = a.layer_run(layer, M, dx, dy, ws, ws_bytes, nullptr);
      if (s == SVDQ_OK) s = a.copy_to_host(y.data_ptr(), dy, y.nbytes());
    } else {
      at::Tensor ws = at::empty({static_cast<int64_t>(ws_bytes) + 256}, x.options().dtype(at::kByte));
      void* wsp = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(ws.data_ptr()) + 255) / 256 * 256);
      svdq_stream_t stream = nullptr;
#ifdef SVDQ_TORCH_WITH_CUDA
      stream = static_cast<svdq_stream_t>(c10::cuda::getCurrentCUDAStream(x.device().index()).stream());
#endif
      s = a.layer_run(layer, M, x.data_ptr(), y.data_ptr(), wsp, ws_bytes, stream);
    }
  }
  const std::string message = s == SVDQ_OK ? "" : a.last_error();
  a.layer_destroy(layer);
  TORCH_CHECK(s == SVDQ_OK, "svdq: running the layer failed (status ", static_cast<int>(s), "): ", message);
  return y;
}

at::Tensor linear_cpu(const at::Tensor& x, const at::Tensor& wq, const at::Tensor& wscales, const c10::optional<at::Tensor>& bias,
                      const c10::optional<at::Tensor>& smooth, const c10::optional<at::Tensor>& lora_down, const c10::optional<at::Tensor>& lora_up,
                      const c10::optional<at::Tensor>& lora_scales, int64_t group, int64_t epilogue, bool act_unsigned, double shift,
                      double wtensor_scale) {
  svdq_layer_desc_t d = describe(x, wq, wscales, lora_down, group, epilogue, act_unsigned, shift, wtensor_scale);
  EmuBuffers emu(api(0));
  d.wq = emu.upload(wq);
  d.wscales = emu.upload(wscales);
  d.bias = emu.upload(bias);
  d.smooth = emu.upload(smooth);
  d.lora_down = emu.upload(lora_down);
  d.lora_up = emu.upload(lora_up);
  return run(0, x, d, lora_scales, &emu);
}

at::Tensor linear_cuda(const at::Tensor& x, const at::Tensor& wq, const at::Tensor& wscales, const c10::optional<at::Tensor>& bias,
                       const c10::optional<at::Tensor>& smooth, const c10::optional<at::Tensor>& lora_down, const c10::optional<at::Tensor>& lora_up,
                       const c10::optional<at::Tensor>& lora_scales, int64_t group, int64_t epilogue, bool act_unsigned, double shift,
                       double wtensor_scale) {
  svdq_layer_desc_t d = describe(x, wq, wscales, lora_down, group, epilogue, act_unsigned, shift, wtensor_scale);
  auto ptr = [&](const c10::optional<at::Tensor>& t, const char* name) -> const void* {
    if (!t.has_value()) return nullptr;
    TORCH_CHECK(t->is_cuda() && t->device() == x.device() && t->is_contiguous(), "svdq: ", name, " must be a contiguous tensor on ", x.device());
    return t->data_ptr();
  };
  d.wq = ptr(wq, "wq");
  d.wscales = ptr(wscales, "wscales");
  d.bias = ptr(bias, "bias");
  d.smooth = ptr(smooth, "smooth");
  d.lora_down = ptr(lora_down, "lora_down");
  d.lora_up = ptr(lora_up, "lora_up");
  return run(1, x, d, lora_scales, nullptr);
}

void set_libraries(const std::string& emu, const std::string& cuda) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_paths[0] = emu;
  g_paths[1] = cuda;
}

}  // namespace

TORCH_LIBRARY(svdq, m) {
  m.def(
      "linear(Tensor x, Tensor wq, Tensor wscales, Tensor? bias, Tensor? smooth, Tensor? lora_down, Tensor? lora_up, "
      "Tensor? lora_scales, int group, int epilogue, bool act_unsigned=False, float shift=0.0, float wtensor_scale=1.0) -> Tensor");
  m.def("set_libraries(str emu, str cuda) -> ()", &set_libraries);
}

TORCH_LIBRARY_IMPL(svdq, CPU, m) { m.impl("linear", &linear_cpu); }

TORCH_LIBRARY_IMPL(svdq, CUDA, m) { m.impl("linear", &linear_cuda); }
