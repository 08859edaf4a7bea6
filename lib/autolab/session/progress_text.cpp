// ProgressText (progress_text.hpp): AutoLab events as lines a person reads.
#include "autolab/session/progress_text.hpp"

#include <cmath>
#include <cstdio>
#include <string_view>

namespace dsx::autolab {
namespace {

using nlohmann::json;

const json& Field(const json& e, const char* key) {
  static const json kNull;
  if (!e.is_object()) return kNull;
  auto it = e.find(key);
  return it == e.end() ? kNull : *it;
}

std::string Str(const json& e, const char* key) {
  const json& v = Field(e, key);
  return v.is_string() ? v.get<std::string>() : "";
}

// A scalar as a person reads it: numbers with up to 6 significant digits, strings as they are.
std::string Value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", d);
    return buf;
  }
  if (v.is_null()) return "null";
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

// {"lr":0.01,"width":64} -> "lr=0.01 width=64" (keys sorted, as nlohmann keeps them).
std::string Pairs(const json& obj) {
  std::string out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!out.empty()) out += ' ';
    out += it.key() + "=" + Value(it.value());
  }
  return out;
}

// One line, no control characters (a reason may carry a child's multi-line stderr), at most
// kMaxLineBytes, never cut inside a UTF-8 sequence.
std::string Clean(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (s.size() <= kMaxLineBytes) return s;
  std::size_t n = kMaxLineBytes - 3;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n) + "...";
}

}  // namespace

std::string ProgressText::Line(const json& e) {
  const std::string type = Str(e, "type");
  std::string out;
  if (type == "autolab.run") {
    const json& objective = Field(e, "objective");
    if (objective.is_string() && !objective.get<std::string>().empty()) {
      metric_ = objective.get<std::string>();
    } else if (!Str(objective, "metric").empty()) {
      metric_ = Str(objective, "metric");
    } else if (!Str(e, "metric").empty()) {
      metric_ = Str(e, "metric");
    }
    out = "run " + Str(e, "run") + " " + Str(e, "state");
    std::string extra;
    if (!Str(e, "plan").empty()) extra = "plan " + Str(e, "plan");
    if (const std::string b = Pairs(Field(e, "budget")); !b.empty())
      extra += (extra.empty() ? "" : "; ") + ("budget " + b);
    if (!extra.empty()) out += " (" + extra + ")";
    if (!Str(e, "reason").empty()) out += ": " + Str(e, "reason");
  } else if (type == "autolab.experiment") {
    out = Str(e, "id") + " " + Str(e, "state");
    if (const json& m = Field(e, "metric"); m.is_number()) {
      out += " " + metric_ + "=" + Value(m);
    } else if (m.is_object()) {
      out += " " + Pairs(m);
    }
    std::string cfg = Pairs(Field(e, "params"));
    if (const json& seed = Field(e, "seed"); seed.is_number())
      cfg += (cfg.empty() ? "" : " ") + ("seed=" + Value(seed));
    if (!cfg.empty()) out += " (" + cfg + ")";
    if (!Str(e, "reason").empty()) out += ": " + Str(e, "reason");
    if (!Str(e, "hypothesis").empty()) out += "; hypothesis: " + Str(e, "hypothesis");
  } else if (type == "autolab.metric") {
    out = Str(e, "id");
    if (const json& step = Field(e, "step"); !step.is_null()) out += " step " + Value(step);
    const std::string name = !Str(e, "name").empty() ? Str(e, "name") : metric_;
    out += ": " + name + "=" + Value(Field(e, "value"));
  } else if (type == "autolab.promoted") {
    out = Str(e, "id") + " promoted";
    if (const json& mean = Field(e, "mean"); mean.is_number()) {
      out += ": " + metric_ + " mean " + Value(mean);
      const json& ci = Field(e, "ci");
      if (ci.is_array() && ci.size() == 2) out += " [" + Value(ci[0]) + ", " + Value(ci[1]) + "]";
    }
    const json& config = Field(e, "config");
    if (config.is_object() && !config.empty()) {
      out += " (" + Pairs(config) + ")";
    } else if (config.is_string() && !config.get<std::string>().empty()) {
      out += " (" + config.get<std::string>() + ")";
    }
    if (!Str(e, "reason").empty()) out += ": " + Str(e, "reason");
  } else if (type == "autolab.report") {
    out = "report written: " + Str(e, "path");
  } else if (type == "progress") {  // the session protocol's own (docs/protocol/sessions.md)
    out = (Str(e, "label").empty() ? std::string("progress") : Str(e, "label")) + ": " + Value(Field(e, "done"));
    if (const json& total = Field(e, "total"); total.is_number()) out += "/" + Value(total);
    if (!Str(e, "unit").empty()) out += " " + Str(e, "unit");
  } else if (type == "metric") {
    out = Str(e, "name") + " at " + Value(Field(e, "step")) + ": " + Value(Field(e, "value"));
  } else {
    json rest = e.is_object() ? e : json::object();
    rest.erase("type");
    out = type + " " + rest.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return Clean(std::move(out));
}

}  // namespace dsx::autolab
