// Checker findings: one Report per problem (kernel, block, thread, address), kept per launch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hooks.h"

namespace svdq::emu {

enum class ReportKind {
  OutOfBounds,          // global access outside every device allocation (fatal)
  Misaligned,           // global access not aligned to its size (fatal)
  UninitializedRead,    // global read of bytes never written (continues)
  SharedRace,           // shared bytes touched by two warps, one writing, no barrier between (continues)
  SharedUninitialized,  // shared read of bytes this block never wrote (continues)
  SharedOutOfBounds,    // past the end of the dynamic shared allocation (fatal)
  BarrierDeadlock,      // __syncthreads() some threads never reach (fatal)
  CollectiveDeadlock,   // warp collective with lanes that never arrive (fatal)
  CollectiveMisuse,     // caller outside mask, or lanes meeting in different collectives (fatal)
  KernelException,      // a C++ exception escaped the kernel body (fatal)
  InvalidLaunch,        // bad grid/block/shared-memory configuration
};

const char* report_kind_name(ReportKind k);
bool report_kind_fatal(ReportKind k);

struct Report {
  ReportKind kind;
  std::string kernel;
  detail::Idx3 block{0, 0, 0};
  detail::Idx3 thread{0, 0, 0};
  std::uint64_t address = 0;
  std::uint64_t bytes = 0;
  std::string what;     // the accessor or collective that triggered it (the hook's `what`)
  std::string message;  // one human sentence with the specifics
};

/** One line for stderr: "svdq-emu: <kind> in kernel K block (x,y,z) thread (x,y,z) address 0x.. : message". */
std::string format_report(const Report& r);

void append_json_string(std::string& out, const std::string& s);

}  // namespace svdq::emu
