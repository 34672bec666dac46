// The harness's input bundle: a directory holding `manifest.txt` and one raw little-endian .bin file per
// input buffer (written by runtime/harness/run-layer.ts). Line-oriented so C++ needs no JSON parser:
//
//   scalar <name> <value>            M, N, K, rank, next_rank, lora_act_slices, alpha, shift, next_shift,
//                                    fill_blocks, lora_partials_bytes, input_scale
//   buffer <name> <bytes> <file>     an input uploaded to the device before the launches
//   buffer <name> <bytes> -          a device buffer the kernels write (intermediate or output)
//   output <name>                    downloaded to <outdir>/<name>.bin after the run
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace svdq::harness {

struct BufferSpec {
  std::string name;
  std::size_t bytes = 0;
  std::string file;  // empty: written by the kernels
};

struct Bundle {
  std::string dir;
  std::map<std::string, double> scalars;
  std::vector<BufferSpec> buffers;
  std::vector<std::string> outputs;

  double scalar(const std::string& name, double fallback) const {
    auto it = scalars.find(name);
    return it == scalars.end() ? fallback : it->second;
  }
};

inline bool fail(std::string* error, const std::string& message) {
  if (error) *error = message;
  return false;
}

inline bool read_bundle(const std::string& dir, Bundle& out, std::string* error) {
  out.dir = dir;
  std::ifstream in(dir + "/manifest.txt");
  if (!in) return fail(error, "cannot open " + dir + "/manifest.txt");
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string kind, name;
    ls >> kind >> name;
    const std::string where = dir + "/manifest.txt:" + std::to_string(lineno) + ": ";
    if (kind == "scalar") {
      double v = 0;
      if (!(ls >> v)) return fail(error, where + "scalar '" + name + "' has no numeric value");
      out.scalars[name] = v;
    } else if (kind == "buffer") {
      BufferSpec b;
      b.name = name;
      std::string file;
      if (!(ls >> b.bytes >> file)) return fail(error, where + "buffer '" + name + "' needs <bytes> <file|->");
      if (file != "-") b.file = file;
      out.buffers.push_back(b);
    } else if (kind == "output") {
      out.outputs.push_back(name);
    } else {
      return fail(error, where + "unknown entry '" + kind + "'");
    }
  }
  return true;
}

inline bool read_file(const std::string& path, std::vector<unsigned char>& bytes, std::size_t expected,
                      std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(error, "cannot open " + path);
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (bytes.size() != expected) {
    return fail(error, path + ": " + std::to_string(bytes.size()) + " bytes, manifest says " + std::to_string(expected));
  }
  return true;
}

/** Writes atomically (temp + rename) so a reader never sees a partial output. */
inline bool write_file(const std::string& path, const void* data, std::size_t bytes, std::string* error) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fail(error, "cannot write " + tmp);
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
    if (!out) return fail(error, "short write to " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return fail(error, "cannot rename " + tmp + " to " + path);
  return true;
}

}  // namespace svdq::harness
