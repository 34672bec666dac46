// Global atomics and reductions (PTX `atom`, `red`). Under nvcc, CUDA's atomicAdd/atomicMax/… and one
// inline `red.global.add.f32`. Under g++, the same names on real host atomics (blocks run on several OS
// threads), with the checker told about the access. Floating-point atomics make results depend on
// arrival order: DESIGN.md principle 7 keeps them out of default configs. The twins handle global
// memory only (an atomic on __shared__ memory is not supported by the emulator).
#pragma once
#include "detail.h"

#if defined(SVDQ_EMU)
#include <cstring>

namespace svdq::arch::atomic_detail {
template <class T>
inline void check(T* p, const char* what) {
  emu::on_global_load(p, sizeof(T), sizeof(T), what);
  emu::on_global_store(p, sizeof(T), sizeof(T), what);
  emu::count(what);
}
inline float float_add(float* p, float v) {
  uint32_t* u = reinterpret_cast<uint32_t*>(p);
  uint32_t old = __atomic_load_n(u, __ATOMIC_RELAXED), want;
  do {
    float f;
    std::memcpy(&f, &old, 4);
    f = f + v;  // one IEEE binary32 RNE add, like atom.add.f32 (no FTZ on sm_80+ global f32 atomics)
    std::memcpy(&want, &f, 4);
  } while (!__atomic_compare_exchange_n(u, &old, want, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  float r;
  std::memcpy(&r, &old, 4);
  return r;
}
}  // namespace svdq::arch::atomic_detail

inline int atomicAdd(int* p, int v) {
  svdq::arch::atomic_detail::check(p, "atom.global.add.s32");
  return static_cast<int>(__atomic_fetch_add(reinterpret_cast<unsigned*>(p), static_cast<unsigned>(v), __ATOMIC_RELAXED));
}
inline unsigned atomicAdd(unsigned* p, unsigned v) {
  svdq::arch::atomic_detail::check(p, "atom.global.add.u32");
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
  svdq::arch::atomic_detail::check(p, "atom.global.add.u64");
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline float atomicAdd(float* p, float v) {
  svdq::arch::atomic_detail::check(p, "atom.global.add.f32");
  return svdq::arch::atomic_detail::float_add(p, v);
}
inline int atomicMax(int* p, int v) {
  svdq::arch::atomic_detail::check(p, "atom.global.max.s32");
  int old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline unsigned atomicMax(unsigned* p, unsigned v) {
  svdq::arch::atomic_detail::check(p, "atom.global.max.u32");
  unsigned old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old < v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicMin(int* p, int v) {
  svdq::arch::atomic_detail::check(p, "atom.global.min.s32");
  int old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old > v && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
inline int atomicExch(int* p, int v) {
  svdq::arch::atomic_detail::check(p, "atom.global.exch.b32");
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
inline unsigned atomicExch(unsigned* p, unsigned v) {
  svdq::arch::atomic_detail::check(p, "atom.global.exch.b32");
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
inline int atomicCAS(int* p, int compare, int v) {
  svdq::arch::atomic_detail::check(p, "atom.global.cas.b32");
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline unsigned atomicCAS(unsigned* p, unsigned compare, unsigned v) {
  svdq::arch::atomic_detail::check(p, "atom.global.cas.b32");
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
#endif  // SVDQ_EMU

namespace svdq::arch {

/** red.global.add.f32: fire-and-forget float add (no return value), sm_20+. */
SVDQ_ARCH_FN void red_add_f32(float* p, float v) {
#if defined(__CUDA_ARCH__)
  asm volatile("red.global.add.f32 [%0], %1;\n" ::"l"(p), "f"(v) : "memory");
#elif defined(SVDQ_EMU)
  atomic_detail::check(p, "red.global.add.f32");
  atomic_detail::float_add(p, v);
#endif
}

/** red.global.add.s32. */
SVDQ_ARCH_FN void red_add_s32(int* p, int v) {
#if defined(__CUDA_ARCH__)
  asm volatile("red.global.add.s32 [%0], %1;\n" ::"l"(p), "r"(v) : "memory");
#elif defined(SVDQ_EMU)
  atomic_detail::check(p, "red.global.add.s32");
  __atomic_fetch_add(reinterpret_cast<unsigned*>(p), static_cast<unsigned>(v), __ATOMIC_RELAXED);
#endif
}

}  // namespace svdq::arch
