// The human table for `dsx kernel bench` (the JSON printer is the document itself).
#include <cstdio>
#include <string>

#include "kernel/bench/bench.hpp"

namespace dsx::kernel::bench {

using nlohmann::json;

namespace {
std::string Fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
std::string Num(const json& r, const char* k, const char* f) {
  return r.contains(k) && r[k].is_number() ? Fmt(f, r[k].get<double>()) : "-";
}
}  // namespace

std::string FormatReport(const json& doc) {
  std::string out;
  char line[512];
  const json dev = doc.value("device", json::object());
  std::snprintf(line, sizeof line, "%s  impl %s\n", doc.value("task", "").c_str(), doc.value("impl", "").c_str());
  out += line;
  if (dev.is_object() && !dev.empty()) {
    std::snprintf(line, sizeof line, "device %s (%s), driver %s, NVRTC %s, peak %.0f GB/s",
                  dev.value("name", "").c_str(), dev.value("arch", "").c_str(), dev.value("driver_version", "").c_str(),
                  doc.value("nvrtc_version", "?").c_str(), dev.value("peak_gbps", 0.0));
    out += line;
    const json& m = doc.value("measured_peaks", json());
    if (m.is_object() && m.contains("copy_gbps")) out += Fmt(", measured copy %.0f GB/s", m["copy_gbps"].get<double>());
    out += "\n";
  }
  for (const auto& f : doc.value("scan", json::array()))
    out += "scan: line " + std::to_string(f.value("line", 0)) + ": " + f.value("severity", "") + ": " +
           f.value("rule", "") + ": " + f.value("message", "") + "\n";
  if (doc.value("results", json::array()).empty()) {
    if (doc.contains("reasons"))
      for (const auto& r : doc["reasons"])
        out += std::string(doc.value("status", "")) + ": " + r.get<std::string>() + "\n";
    return out;
  }
  std::snprintf(line, sizeof line, "%-5s %-7s %-9s %10s %7s %9s %6s %6s %8s %8s %10s\n", "dtype", "preset", "status",
                "median ms", "noise", "GB/s", "%peak", "%copy", "TFLOP/s", "speedup", "ref ms");
  out += line;
  for (const auto& r : doc["results"]) {
    const json ref = r.contains("reference") ? r["reference"].value("cold", json::object()) : json::object();
    std::snprintf(line, sizeof line, "%-5s %-7s %-9s %10s %6s%% %9s %6s %6s %8s %7sx %10s\n",
                  r.value("dtype", "").c_str(), r.value("preset", "").c_str(), r.value("status", "").c_str(),
                  Num(r, "median_ms", "%.4f").c_str(), Num(r, "noise_pct", "%.2f").c_str(),
                  Num(r, "gbps", "%.0f").c_str(), Num(r, "pct_peak_bw", "%.1f").c_str(),
                  Num(r, "pct_measured_bw", "%.1f").c_str(), Num(r, "tflops", "%.2f").c_str(),
                  Num(r, "speedup", "%.2f").c_str(), Num(ref, "median_ms", "%.4f").c_str());
    out += line;
    for (const auto& why : r.value("reasons", json::array())) out += "      " + why.get<std::string>() + "\n";
    for (const auto& f : r.value("flags", json::array())) out += "      flag: " + f.get<std::string>() + "\n";
  }
  out += "(median/noise/GB/s of the cold measurement: L2 flushed before every call; hot numbers in --json)\n";
  return out;
}

}  // namespace dsx::kernel::bench
