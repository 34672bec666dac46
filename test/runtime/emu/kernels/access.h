// Minimal checked accessors for the engine's own tests, calling the hooks directly so these tests do
// not depend on arch/memory.h. Under nvcc they are plain loads and stores.
#pragma once
#include "svdq/portable.h"

namespace emu_test {
#if defined(SVDQ_EMU)
template <class T>
inline T ld(const T* p, const char* what = "test.ld") {
  svdq::emu::on_global_load(p, sizeof(T), alignof(T), what);
  return *p;
}
template <class T>
inline void st(T* p, T v, const char* what = "test.st") {
  svdq::emu::on_global_store(p, sizeof(T), alignof(T), what);
  *p = v;
}
template <class T>
inline T lds(const T* p) {
  svdq::emu::on_shared_load(p, sizeof(T), "test.lds");
  return *p;
}
template <class T>
inline void sts(T* p, T v) {
  svdq::emu::on_shared_store(p, sizeof(T), "test.sts");
  *p = v;
}
/** A full-warp broadcast of lane `src`'s value through the collective hook. */
inline int bcast(int v, int src, unsigned mask = 0xffffffffu) {
  return svdq::emu::warp_exchange(mask, v, "test.bcast")[src];
}
#else
template <class T> __device__ __forceinline__ T ld(const T* p, const char* = nullptr) { return *p; }
template <class T> __device__ __forceinline__ void st(T* p, T v, const char* = nullptr) { *p = v; }
template <class T> __device__ __forceinline__ T lds(const T* p) { return *p; }
template <class T> __device__ __forceinline__ void sts(T* p, T v) { *p = v; }
__device__ __forceinline__ int bcast(int v, int src, unsigned mask = 0xffffffffu) { return __shfl_sync(mask, v, src); }
#endif
}  // namespace emu_test
