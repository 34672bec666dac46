// Global and shared memory accessors. Kernels touch memory only through these, so the emulator's
// checker sees every access (bounds, alignment, initialisation, races) and counts the traffic.
// A T-sized access must be aligned to sizeof(T) when that is 1, 2, 4, 8 or 16 bytes (PTX §6.4.1 natural
// alignment, ptx-fragments.md §6); other sizes to alignof(T).
#pragma once
#include <cstring>

#include "detail.h"

namespace svdq {

struct alignas(16) u32x4 { uint32_t x, y, z, w; };
struct alignas(8) u32x2 { uint32_t x, y; };

namespace mem_detail {
template <class T>
constexpr std::size_t access_align() {
  return (sizeof(T) == 1 || sizeof(T) == 2 || sizeof(T) == 4 || sizeof(T) == 8 || sizeof(T) == 16) ? sizeof(T) : alignof(T);
}
}  // namespace mem_detail

/** Global load (ld.global). */
template <class T>
SVDQ_ARCH_FN T ldg(const T* p) {
#if defined(SVDQ_EMU)
  emu::on_global_load(p, sizeof(T), mem_detail::access_align<T>(), "ldg");
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
#else
  return *p;
#endif
}

/** Global load through the read-only (non-coherent) path: only for data no thread writes during the kernel. */
template <class T>
SVDQ_ARCH_FN T ldg_nc(const T* p) {
#if defined(SVDQ_EMU)
  emu::on_global_load(p, sizeof(T), mem_detail::access_align<T>(), "ldg_nc");
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
#else
  if constexpr (sizeof(T) == 16) {
    const uint4 r = __ldg(reinterpret_cast<const uint4*>(p));
    T v; memcpy(&v, &r, 16); return v;
  } else if constexpr (sizeof(T) == 8) {
    const uint2 r = __ldg(reinterpret_cast<const uint2*>(p));
    T v; memcpy(&v, &r, 8); return v;
  } else if constexpr (sizeof(T) == 4) {
    const unsigned r = __ldg(reinterpret_cast<const unsigned*>(p));
    T v; memcpy(&v, &r, 4); return v;
  } else if constexpr (sizeof(T) == 2) {
    const unsigned short r = __ldg(reinterpret_cast<const unsigned short*>(p));
    T v; memcpy(&v, &r, 2); return v;
  } else {
    return *p;
  }
#endif
}

/** Predicated global load: no access at all when !pred (out-of-range tiles), `fallback` instead. */
template <class T>
SVDQ_ARCH_FN T ldg_pred(const T* p, bool pred, T fallback) {
  return pred ? ldg(p) : fallback;
}

/** Global store (st.global). */
template <class T>
SVDQ_ARCH_FN void stg(T* p, T v) {
#if defined(SVDQ_EMU)
  emu::on_global_store(p, sizeof(T), mem_detail::access_align<T>(), "stg");
  std::memcpy(static_cast<void*>(p), &v, sizeof(T));
#else
  *p = v;
#endif
}

/** Predicated global store: no access when !pred. */
template <class T>
SVDQ_ARCH_FN void stg_pred(T* p, T v, bool pred) {
  if (pred) stg(p, v);
}

/** Shared-memory load (ld.shared). */
template <class T>
SVDQ_ARCH_FN T lds(const T* p) {
#if defined(SVDQ_EMU)
  if (reinterpret_cast<std::uintptr_t>(p) % mem_detail::access_align<T>() != 0)
    arch::emu_detail::undefined_behaviour("ld.shared", "address not aligned to the access size");
  emu::on_shared_load(p, sizeof(T), "lds");
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
#else
  return *p;
#endif
}

/** Shared-memory store (st.shared). */
template <class T>
SVDQ_ARCH_FN void sts(T* p, T v) {
#if defined(SVDQ_EMU)
  if (reinterpret_cast<std::uintptr_t>(p) % mem_detail::access_align<T>() != 0)
    arch::emu_detail::undefined_behaviour("st.shared", "address not aligned to the access size");
  emu::on_shared_store(p, sizeof(T), "sts");
  std::memcpy(static_cast<void*>(p), &v, sizeof(T));
#else
  *p = v;
#endif
}

}  // namespace svdq
