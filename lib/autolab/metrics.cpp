// MetricStream (JSON lines and regex over an experiment's stdout) and ReadMetricFile.
#include "autolab/metrics.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/json_limits.hpp"

namespace dsx::autolab {
namespace {

using nlohmann::json;

// Python's json module writes these bare; standard JSON has no such tokens. They are rewritten
// into marker strings before a second parse so a NaN metric is seen as NaN, not as a log line.
// (Split literal: "\x01dsx" would read as the hex escape \x01d.)
constexpr std::string_view kMarker =
    "\x01"
    "dsx-nonfinite:";
constexpr std::string_view kNonFinite[] = {"-Infinity", "Infinity", "NaN"};

// Replaces NaN / Infinity / -Infinity outside JSON strings with "<marker><token>" strings.
// Returns nullopt when there is nothing to replace (the line is simply not JSON).
std::optional<std::string> MarkNonFinite(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 32);
  bool in_string = false, replaced = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < in.size()) {
        out += in[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool hit = false;
    for (std::string_view token : kNonFinite) {
      if (in.substr(i, token.size()) == token) {
        out += '"';
        out += "\\u0001dsx-nonfinite:";  // kMarker, JSON-escaped
        out += token;
        out += '"';
        i += token.size() - 1;
        hit = replaced = true;
        break;
      }
    }
    if (!hit) out += c;
  }
  if (!replaced) return std::nullopt;
  return out;
}

// Parses a JSON text, accepting Python's bare non-finite tokens. Discarded json on failure.
json ParseLenient(std::string_view text) {
  json j = ParseJsonOrDiscarded(text);
  if (!j.is_discarded()) return j;
  if (auto marked = MarkNonFinite(text)) return ParseJsonOrDiscarded(*marked);
  return j;
}

// Why a JSON value is not a usable metric; empty when it is a finite number.
std::string Unusable(const json& v) {
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return "";
  }
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.rfind(kMarker, 0) == 0) return s.substr(kMarker.size());
    return "a string (" + v.dump() + "), not a number";
  }
  return std::string(v.type_name()) + ", not a number";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

MetricStream MetricStream::Json(std::string metric, std::string step_key) {
  MetricStream m;
  m.metric_ = std::move(metric);
  m.step_key_ = std::move(step_key);
  return m;
}

Result<MetricStream> MetricStream::Regex(std::string metric, const std::string& pattern) {
  MetricStream m;
  m.metric_ = std::move(metric);
  m.max_line_ = kMaxRegexLine;
  try {
    m.regex_.emplace(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return Status::Usage("metric regex " + Quote(pattern) + " is not a valid regular expression: " + e.what());
  }
  if (m.regex_->mark_count() != 1) {
    return Status::Usage("metric regex " + Quote(pattern) + " must have exactly one capture group (the number), has " +
                         std::to_string(m.regex_->mark_count()));
  }
  return m;
}

void MetricStream::Feed(std::string_view bytes) {
  if (finished_) return;
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view piece = bytes.substr(0, nl);
    if (!skipping_) {
      if (partial_.size() + piece.size() > max_line_) {
        skipping_ = true;
        ++skipped_long_lines_;
        std::string().swap(partial_);  // give the memory back now, not at the next newline
      } else {
        partial_.append(piece);
      }
    }
    if (nl == std::string_view::npos) break;
    ++line_no_;
    if (!skipping_) Line(partial_);
    partial_.clear();
    skipping_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

void MetricStream::Finish() {
  if (finished_) return;
  if (!skipping_ && !partial_.empty()) {
    ++line_no_;
    Line(partial_);
  }
  std::string().swap(partial_);
  finished_ = true;
}

void MetricStream::Line(std::string_view line) {
  if (regex_) {
    RegexLine(line);
  } else {
    JsonLine(line);
  }
}

void MetricStream::JsonLine(std::string_view raw) {
  const std::string_view line = Trim(raw);
  // Cheap filters first: most lines are logs.
  if (line.empty() || line.front() != '{') return;
  if (line.find(metric_) == std::string_view::npos) return;
  const json j = ParseLenient(line);
  if (j.is_discarded() && near_miss_.empty()) {
    // Mentions the metric, looks like an object, is not JSON: most likely print(dict) with single
    // quotes. Kept so "printed no metric" can say what went wrong.
    near_miss_ = "line " + std::to_string(line_no_) +
                 " looks like one but is not JSON: " + std::string(line.substr(0, 60)) +
                 (line.size() > 60 ? "..." : "");
  }
  if (!j.is_object()) return;
  const auto it = j.find(metric_);
  if (it == j.end()) return;

  std::optional<std::int64_t> step;
  if (const auto s = j.find(step_key_); s != j.end()) {
    if (s->is_number_integer()) {
      step = s->get<std::int64_t>();
    } else if (s->is_number_float()) {
      const double d = s->get<double>();  // 10.0 from a script that keeps steps in floats
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) step = static_cast<std::int64_t>(d);
    }
  }
  if (const std::string why = Unusable(*it); !why.empty()) {
    Garbage(why, step);
    return;
  }
  const double v = it->get<double>();
  last_ = v;
  if (step) curve_.emplace_back(*step, v);
}

void MetricStream::RegexLine(std::string_view line) {
  std::cmatch last;
  bool found = false;
  for (std::cregex_iterator m(line.data(), line.data() + line.size(), *regex_), end; m != end; ++m) {
    last = *m;
    found = true;
  }
  if (!found || !last[1].matched) return;
  const std::string text(Trim(std::string_view(last[1].first, last[1].length())));
  errno = 0;
  char* end = nullptr;
  const double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size()) {
    Garbage("'" + text + "', not a number", std::nullopt);
    return;
  }
  if (std::isnan(v)) return Garbage("NaN", std::nullopt);
  if (std::isinf(v)) return Garbage(v > 0 ? "Infinity" : "-Infinity", std::nullopt);
  last_ = v;
}

void MetricStream::Garbage(const std::string& what, std::optional<std::int64_t> step) {
  if (!garbage_reason_.empty()) return;  // the first one is the cause; later ones are consequences
  garbage_reason_ = "metric " + Quote(metric_) + " was " + what;
  garbage_reason_ += step ? " at step " + std::to_string(*step) : " on output line " + std::to_string(line_no_);
}

MetricOutcome MetricStream::Outcome() const {
  MetricOutcome out;
  out.curve = curve_;
  if (!garbage_reason_.empty()) {
    out.kind = MetricKind::kGarbage;
    out.reason = garbage_reason_;
    return out;
  }
  if (last_) {
    out.kind = MetricKind::kOk;
    out.value = last_;
    return out;
  }
  out.kind = MetricKind::kMissing;
  out.reason = regex_ ? "printed no line matching the regex for metric " + Quote(metric_)
                      : "printed no metric " + Quote(metric_);
  if (!near_miss_.empty()) out.reason += " (" + near_miss_ + ")";
  if (skipped_long_lines_ > 0) {
    out.reason += " (" + std::to_string(skipped_long_lines_) + " line(s) over " + std::to_string(max_line_ >> 10) +
                  " KiB were skipped)";
  }
  return out;
}

Result<double> ReadMetricFile(const std::filesystem::path& path, const std::string& metric) {
  const std::string file = Quote(path.string());
  auto text = fs::ReadFile(path, kMaxMetricFileBytes);
  if (!text.ok()) return text.status().Wrap("results file");
  if (JsonDepth(*text) > kMaxJsonDepth) {
    return Status::Failed("results file " + file + " nests JSON deeper than " + std::to_string(kMaxJsonDepth) +
                          " levels");
  }
  json j;
  try {
    j = json::parse(*text);
  } catch (const json::parse_error& e) {
    j = ParseLenient(*text);  // Python's NaN / Infinity tokens
    if (j.is_discarded()) return Status::Failed("results file " + file + " is not valid JSON: " + e.what());
  }
  if (!j.is_object()) {
    return Status::Failed("results file " + file + " holds a JSON " + j.type_name() + ", not an object");
  }
  const auto it = j.find(metric);
  if (it == j.end()) {
    std::string keys;
    for (const auto& [k, v] : j.items()) keys += (keys.empty() ? "" : ", ") + k;
    return Status::Failed("results file " + file + " has no key " + Quote(metric) +
                          " (keys: " + (keys.empty() ? "none" : keys) + ")");
  }
  if (const std::string why = Unusable(*it); !why.empty()) {
    return Status::Failed("results file " + file + ": key " + Quote(metric) + " is " + why);
  }
  return it->get<double>();
}

}  // namespace dsx::autolab
