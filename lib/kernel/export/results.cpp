#include "kernel/export/results.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"

namespace dsx::kernel::exp {

namespace {

using nlohmann::json;

const char* TypeName(const json& j) { return j.is_discarded() ? "nothing" : j.type_name(); }

// Field readers: `path` is the dotted name shown to the user.
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  Status Bad(const std::string& path, const std::string& want, const json* got) const {
    return Status::Usage("results file '" + origin_ + "': field '" + path + "' must be " + want + " (got " +
                         (got ? (got->is_number() ? got->dump() : std::string(TypeName(*got))) : "nothing") + ")");
  }
  Result<std::string> Str(const json& obj, const std::string& key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_string()) return Bad(path, "a string", it == obj.end() ? nullptr : &*it);
    if (it->get_ref<const std::string&>().size() > 4096) return Bad(path, "a string of at most 4096 bytes", &*it);
    return it->get<std::string>();
  }
  // Finite numbers only: NaN cannot be written in JSON, but a huge exponent reads as inf.
  Result<double> Num(const json& obj, const std::string& key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number() || !std::isfinite(it->get<double>()))
      return Bad(path, "a finite number", it == obj.end() ? nullptr : &*it);
    return it->get<double>();
  }
  // Absent or null: nullopt (bench writes null where a figure does not apply, e.g. no reference).
  Result<std::optional<double>> OptNum(const json& obj, const std::string& key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<double>();
    if (!it->is_number() || !std::isfinite(it->get<double>())) return Bad(path, "a finite number or null", &*it);
    return std::optional<double>(it->get<double>());
  }
  Result<int> Count(const json& obj, const std::string& key, const std::string& path) const {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 1000000)
      return Bad(path, "an integer 0..1000000", it == obj.end() ? nullptr : &*it);
    return static_cast<int>(it->get<long long>());
  }

 private:
  std::string origin_;
};

#define DSX_ASSIGN(lhs, expr)               \
  do {                                      \
    auto _r = (expr);                       \
    if (!_r.ok()) return _r.status();       \
    lhs = std::move(*_r);                   \
  } while (0)

Result<BenchRow> ParseRow(const Reader& rd, const json& r, const std::string& p) {
  if (!r.is_object()) return rd.Bad(p, "an object", &r);
  BenchRow row;
  DSX_ASSIGN(row.dtype, rd.Str(r, "dtype", p + ".dtype"));
  DSX_ASSIGN(row.preset, rd.Str(r, "preset", p + ".preset"));
  DSX_ASSIGN(row.status, rd.Str(r, "status", p + ".status"));
  if (auto f = r.find("flags"); f != r.end() && !f->is_null()) {
    if (!f->is_array()) return rd.Bad(p + ".flags", "an array of strings", &*f);
    for (size_t k = 0; k < f->size(); ++k) {
      if (!(*f)[k].is_string()) return rd.Bad(p + ".flags[" + std::to_string(k) + "]", "a string", &(*f)[k]);
      row.flags.push_back((*f)[k].get<std::string>());
    }
  }
  if (row.status != "ok") return row;  // a failed row carries reasons, not figures
  auto s = r.find("sizes");
  if (s == r.end() || !s->is_object()) return rd.Bad(p + ".sizes", "an object", s == r.end() ? nullptr : &*s);
  for (const auto& [k, v] : s->items()) {
    if (!v.is_number_integer()) return rd.Bad(p + ".sizes." + k, "an integer", &v);
    row.sizes[k] = v.get<long long>();
  }
  auto ver = r.find("verification");
  if (ver == r.end() || !ver->is_object())
    return rd.Bad(p + ".verification", "an object", ver == r.end() ? nullptr : &*ver);
  DSX_ASSIGN(row.trials, rd.Count(*ver, "trials", p + ".verification.trials"));
  DSX_ASSIGN(row.passed, rd.Count(*ver, "passed", p + ".verification.passed"));
  DSX_ASSIGN(row.max_rel_err, rd.Num(*ver, "max_rel_err", p + ".verification.max_rel_err"));
  DSX_ASSIGN(row.tolerance, rd.Num(*ver, "tolerance", p + ".verification.tolerance"));
  if (auto c = ver->find("cpu_check"); c != ver->end() && c->is_object()) {
    auto st = rd.Str(*c, "status", p + ".verification.cpu_check.status");
    if (!st.ok()) return st.status();
    row.cpu_check = *st;
  }
  DSX_ASSIGN(row.median_ms, rd.Num(r, "median_ms", p + ".median_ms"));
  DSX_ASSIGN(row.p10_ms, rd.OptNum(r, "p10_ms", p + ".p10_ms"));
  DSX_ASSIGN(row.p90_ms, rd.OptNum(r, "p90_ms", p + ".p90_ms"));
  DSX_ASSIGN(row.noise_pct, rd.OptNum(r, "noise_pct", p + ".noise_pct"));
  DSX_ASSIGN(row.gbps, rd.OptNum(r, "gbps", p + ".gbps"));
  DSX_ASSIGN(row.pct_peak_bw, rd.OptNum(r, "pct_peak_bw", p + ".pct_peak_bw"));
  DSX_ASSIGN(row.tflops, rd.OptNum(r, "tflops", p + ".tflops"));
  DSX_ASSIGN(row.speedup, rd.OptNum(r, "speedup", p + ".speedup"));
  // A row that says ok must say so consistently: every trial passed, within the tolerance.
  if (row.trials < 5 || row.passed != row.trials)
    return rd.Bad(p + ".verification.passed", "equal to verification.trials (at least 5) when status is ok",
                  &ver->at("passed"));
  if (!(row.max_rel_err <= row.tolerance))
    return rd.Bad(p + ".verification.max_rel_err", "<= verification.tolerance for an ok row", &ver->at("max_rel_err"));
  if (!(row.median_ms > 0)) return rd.Bad(p + ".median_ms", "> 0", &r.at("median_ms"));
  return row;
}

}  // namespace

Result<BenchResults> ParseBenchResults(std::string_view text, const std::string& origin) {
  auto parsed = ParseJsonBounded(text);
  if (!parsed.ok()) return Status::Usage("results file '" + origin + "': " + parsed.status().message());
  const json& doc = *parsed;
  Reader rd(origin);
  if (!doc.is_object()) return rd.Bad("(document)", "an object (the output of dsx kernel bench --json)", &doc);
  BenchResults out;
  DSX_ASSIGN(out.task, rd.Str(doc, "task", "task"));
  DSX_ASSIGN(out.status, rd.Str(doc, "status", "status"));
  // impl_sha256 is null when nothing compiled (a rejected or failed run).
  if (auto h = doc.find("impl_sha256"); h != doc.end() && !h->is_null()) {
    if (!h->is_string() || h->get_ref<const std::string&>().size() != 64) return rd.Bad("impl_sha256", "64 hex digits", &*h);
    out.impl_sha256 = h->get<std::string>();
  }
  if (auto v = doc.find("nvrtc_version"); v != doc.end() && v->is_string()) out.nvrtc_version = v->get<std::string>();
  auto dev = doc.find("device");
  if (out.status == "ok") {
    if (dev == doc.end() || !dev->is_object()) return rd.Bad("device", "an object", dev == doc.end() ? nullptr : &*dev);
    DSX_ASSIGN(out.device_name, rd.Str(*dev, "name", "device.name"));
    DSX_ASSIGN(out.device_arch, rd.Str(*dev, "arch", "device.arch"));
    if (auto cc = dev->find("compute_capability"); cc != dev->end() && cc->is_string()) out.device_cc = cc->get<std::string>();
    if (auto dv = dev->find("driver_version"); dv != dev->end() && dv->is_string()) out.driver_version = dv->get<std::string>();
    if (out.impl_sha256.empty()) return rd.Bad("impl_sha256", "64 hex digits when status is ok", nullptr);
  }
  auto rows = doc.find("results");
  if (rows == doc.end() || !rows->is_array())
    return rd.Bad("results", "an array", rows == doc.end() ? nullptr : &*rows);
  if (rows->size() > 10000) return rd.Bad("results", "an array of at most 10000 rows", &*rows);
  for (size_t k = 0; k < rows->size(); ++k) {
    auto row = ParseRow(rd, (*rows)[k], "results[" + std::to_string(k) + "]");
    if (!row.ok()) return row.status();
    out.rows.push_back(std::move(*row));
  }
  if (out.status == "ok" && out.rows.empty()) return rd.Bad("results", "a non-empty array when status is ok", &*rows);
  return out;
}

}  // namespace dsx::kernel::exp
