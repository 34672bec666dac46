// Measurement statistics for the harness's --time mode (anchors.md §1(c), §4(c)): per-repetition samples
// from CUDA events, a median judged stable when another batch moves it by less than `rel_tol`, and the
// spread that goes into tuning records. Plain host code, identical under nvcc and g++.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace svdq::harness {

struct TimingPolicy {
  int warmup = 10;       // untimed runs before sampling (clocks up, caches and TLBs warm)
  int min_reps = 20;     // samples before the first stability check
  int max_reps = 1000;   // hard cap
  int batch = 10;        // samples between stability checks
  double rel_tol = 0.005;  // stable when the median moves by less than this fraction
  double max_seconds = 2.0;  // stop sampling after this much measured kernel time
};

struct Summary {
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0, mean = 0;
  int reps = 0;
};

inline double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

inline Summary summarize(const std::vector<double>& v) {
  Summary s;
  s.reps = static_cast<int>(v.size());
  if (v.empty()) return s;
  s.median = quantile(v, 0.5);
  s.p10 = quantile(v, 0.1);
  s.p90 = quantile(v, 0.9);
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(v.size());
  return s;
}

/** True when sampling may stop: the cap, the time budget, or a median that the last batch did not move. */
inline bool timing_done(const std::vector<double>& samples_ms, double previous_median, const TimingPolicy& p) {
  const int n = static_cast<int>(samples_ms.size());
  if (n >= p.max_reps) return true;
  double total = 0;
  for (double x : samples_ms) total += x;
  if (total / 1000.0 >= p.max_seconds && n >= p.batch) return true;
  if (n < p.min_reps || previous_median <= 0) return false;
  const double med = quantile(samples_ms, 0.5);
  return std::fabs(med - previous_median) <= p.rel_tol * previous_median;
}

inline std::string summary_json(const Summary& s) {
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "{\"median_ms\":%.6g,\"min_ms\":%.6g,\"max_ms\":%.6g,\"p10_ms\":%.6g,\"p90_ms\":%.6g,"
                "\"mean_ms\":%.6g,\"reps\":%d}",
                s.median, s.min, s.max, s.p10, s.p90, s.mean, s.reps);
  return buf;
}

}  // namespace svdq::harness
