// Report formatting: one stderr line per finding, and the session's JSON (schema in README.md).
#include "report.h"

#include <cinttypes>
#include <cstdio>

#include "emu.h"

namespace svdq::emu {

const char* report_kind_name(ReportKind k) {
  switch (k) {
    case ReportKind::OutOfBounds: return "out-of-bounds";
    case ReportKind::Misaligned: return "misaligned";
    case ReportKind::UninitializedRead: return "uninitialized-read";
    case ReportKind::SharedRace: return "shared-race";
    case ReportKind::SharedUninitialized: return "shared-uninitialized-read";
    case ReportKind::SharedOutOfBounds: return "shared-out-of-bounds";
    case ReportKind::BarrierDeadlock: return "barrier-deadlock";
    case ReportKind::CollectiveDeadlock: return "warp-collective-deadlock";
    case ReportKind::CollectiveMisuse: return "warp-collective-misuse";
    case ReportKind::KernelException: return "kernel-exception";
    case ReportKind::InvalidLaunch: return "invalid-launch";
  }
  return "unknown";
}

bool report_kind_fatal(ReportKind k) {
  return !(k == ReportKind::UninitializedRead || k == ReportKind::SharedRace || k == ReportKind::SharedUninitialized);
}

static std::string idx(const detail::Idx3& v) {
  return "(" + std::to_string(v.x) + "," + std::to_string(v.y) + "," + std::to_string(v.z) + ")";
}

std::string format_report(const Report& r) {
  char addr[32];
  std::snprintf(addr, sizeof addr, "0x%" PRIx64, r.address);
  std::string s = "svdq-emu: " + std::string(report_kind_name(r.kind)) + " in kernel " + r.kernel + " block " +
                  idx(r.block) + " thread " + idx(r.thread);
  if (r.address) s += " address " + std::string(addr);
  if (!r.what.empty()) s += " [" + r.what + "]";
  return s + ": " + r.message;
}

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {

void dims(std::string& o, unsigned x, unsigned y, unsigned z) {
  o += "[" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + "]";
}

void space(std::string& o, const char* name, const SpaceCounters& c, bool global, bool last) {
  o += "\"";
  o += name;
  o += "\":{\"accesses\":" + std::to_string(c.accesses) + ",\"bytes\":" + std::to_string(c.bytes) +
       ",\"requests\":" + std::to_string(c.requests);
  if (global) {
    o += ",\"sectors\":" + std::to_string(c.sectors);
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", c.requests ? static_cast<double>(c.sectors) / c.requests : 0.0);
    o += ",\"sectorsPerRequest\":" + std::string(b);
  } else {
    o += ",\"wavefronts\":" + std::to_string(c.wavefronts) + ",\"bankConflicts\":" + std::to_string(c.bank_conflicts);
  }
  o += last ? "}" : "},";
}

}  // namespace

std::string launch_json(const LaunchRecord& l) {
  std::string o = "{\"kernel\":";
  append_json_string(o, l.kernel);
  o += ",\"grid\":";
  dims(o, l.grid.x, l.grid.y, l.grid.z);
  o += ",\"block\":";
  dims(o, l.block.x, l.block.y, l.block.z);
  o += ",\"dynamicSmemBytes\":" + std::to_string(l.smem_bytes);
  o += ",\"status\":\"" + std::string(l.status == cudaSuccess ? "ok" : "failed") + "\"";
  o += ",\"error\":\"" + std::string(cudaGetErrorName(l.status)) + "\"";
  o += ",\"osThreads\":" + std::to_string(l.os_threads);
  char wall[32];
  std::snprintf(wall, sizeof wall, "%.6f", l.wall_seconds);
  o += ",\"wallSeconds\":" + std::string(wall);
  o += ",\"reports\":[";
  for (std::size_t i = 0; i < l.reports.size(); ++i) {
    const Report& r = l.reports[i];
    if (i) o += ",";
    o += "{\"kind\":\"" + std::string(report_kind_name(r.kind)) + "\",\"kernel\":";
    append_json_string(o, r.kernel);
    o += ",\"block\":";
    dims(o, r.block.x, r.block.y, r.block.z);
    o += ",\"thread\":";
    dims(o, r.thread.x, r.thread.y, r.thread.z);
    char addr[32];
    std::snprintf(addr, sizeof addr, "0x%" PRIx64, r.address);
    o += ",\"address\":\"" + std::string(addr) + "\",\"bytes\":" + std::to_string(r.bytes) + ",\"what\":";
    append_json_string(o, r.what);
    o += ",\"message\":";
    append_json_string(o, r.message);
    o += "}";
  }
  o += "],\"droppedReports\":" + std::to_string(l.dropped_reports);
  const Counters& c = l.counters;
  o += ",\"counters\":{\"blocks\":" + std::to_string(c.blocks) + ",\"threads\":" + std::to_string(c.threads) +
       ",\"barriers\":" + std::to_string(c.barriers) + ",\"warpCollectives\":" + std::to_string(c.warp_collectives) +
       ",\"global\":{";
  space(o, "load", c.global_load, true, false);
  space(o, "store", c.global_store, true, true);
  o += "},\"shared\":{";
  space(o, "load", c.shared_load, false, false);
  space(o, "store", c.shared_store, false, true);
  o += "},\"instructions\":{";
  bool first = true;
  for (const auto& [k, v] : c.instructions) {
    if (!first) o += ",";
    first = false;
    append_json_string(o, k);
    o += ":" + std::to_string(v);
  }
  o += "}}}";
  return o;
}

}  // namespace svdq::emu
