// Shared plumbing of the arch/ wrappers: the function qualifier and, for the g++ emulator build, the
// engine hooks (runtime/emu/hooks.h). Device paths are selected with __CUDA_ARCH__, emulator twins with
// SVDQ_EMU; nvcc's host pass sees neither body (device wrappers are never called from host code).
#pragma once
#include <cstdint>

#if !defined(__CUDACC__) && !defined(SVDQ_EMU)
#define SVDQ_EMU 1
#endif

#if defined(__CUDACC__)
#define SVDQ_ARCH_FN __device__ __forceinline__
#define SVDQ_ARCH_HD __host__ __device__ __forceinline__  // plain integer code shared by both sides
#else
#define SVDQ_ARCH_FN inline
#define SVDQ_ARCH_HD inline
#endif

#if defined(SVDQ_EMU)
#include <stdexcept>
#include <string>

#include "../../../emu/hooks.h"

namespace svdq::arch::emu_detail {
// A use the PTX ISA calls undefined (misaligned ldmatrix row, non-uniform selectors, …): the engine
// reports an exception escaping the kernel as a fatal KernelException with this message.
[[noreturn]] inline void undefined_behaviour(const char* instruction, const std::string& why) {
  throw std::logic_error(std::string(instruction) + ": " + why + " (undefined behaviour in PTX)");
}
}  // namespace svdq::arch::emu_detail
#endif

// A static_assert that fires only when the template is instantiated (i.e. used) for a target that lacks
// the instruction, so one header serves every -gencode target.
namespace svdq::arch {
template <auto...>
inline constexpr bool kDependentFalse = false;
}  // namespace svdq::arch
#define SVDQ_ARCH_UNSUPPORTED(dep, msg) static_assert(::svdq::arch::kDependentFalse<dep>, msg)
