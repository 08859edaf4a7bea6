#include "session/client/text_render.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "session/wire/event.hpp"

namespace dsx::session::client {
namespace {

using nlohmann::json;
using wire::StringOr;

constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";

std::string Who(const json& e) {
  if (!e.contains("from") || !e["from"].is_object()) return "?";
  std::string s = StringOr(e["from"], "sub", "?");
  const std::string d = StringOr(e["from"], "device", "");
  return d.empty() ? s : s + "@" + d;
}

const json& Data(const json& e) {
  static const json kEmpty = json::object();
  return e.contains("data") && e["data"].is_object() ? e["data"] : kEmpty;
}

// The agent's name for its replies: what the run says it is (data.agent, the proxied model, the
// command's file name), else the principal that started it.
std::string AgentLabel(const json& run_start) {
  const json& d = Data(run_start);
  for (const char* k : {"agent", "model"}) {
    if (std::string v = StringOr(d, k, ""); !v.empty()) return v;
  }
  std::string cmd = StringOr(d, "command", "");
  if (const auto space = cmd.find(' '); space != std::string::npos) cmd.resize(space);  // a job's command line
  if (const auto slash = cmd.rfind('/'); slash != std::string::npos) cmd.erase(0, slash + 1);
  return cmd.empty() ? Who(run_start) : cmd;
}

// A number as people write it: 3, 0.25, 1e-05 (JSON's own spelling).
std::string Num(const json& v) {
  if (!v.is_number()) return v.is_null() ? "" : v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  }
  return v.dump();
}

std::string Cell(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : Num(v); }

// Display width: code points (no wide-character tables; close enough for column alignment).
std::size_t Width(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

TextStyle TextStyle::ForFd(int fd) {
  TextStyle s;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  // TERM=dumb cannot erase a line: bars are printed as lines there, like without a terminal.
  s.tty = ::isatty(fd) == 1 && !(term && std::strcmp(term, "dumb") == 0);
  s.color = s.tty && !(no_color && *no_color);
  return s;
}

dsx::Status TextRenderer::WriteChunk(std::string_view data, int fd) {
  json arr = json::parse(data, nullptr, false);
  if (!arr.is_array()) return dsx::Status::Failed("--text needs a session (a JSON stream)");
  std::string out;
  for (const auto& e : arr) out += Feed(e);
  std::string_view rest = out;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return dsx::Status::Failed(std::string("cannot write output: ") + std::strerror(errno));
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  return dsx::Status::Ok();
}

std::string TextRenderer::EndBar() {
  if (!bar_open_) return "";
  bar_open_ = false;
  at_line_start_ = true;
  return "\n";
}

std::string TextRenderer::Line(const std::string& text, bool control) {
  std::string out = EndBar();
  if (!at_line_start_) out += "\n";
  out += control && style_.color ? kDim + text + kReset : text;
  out += "\n";
  at_line_start_ = true;
  current_.clear();
  return out;
}

std::string TextRenderer::Speaker(const json& e, const std::string& msg) const {
  auto role = roles_.find(msg);
  const bool reply = role == roles_.end() || role->second.empty() || role->second == "assistant";
  auto agent = agents_.find(StringOr(e, "run", ""));
  if (reply && agent != agents_.end()) return agent->second;
  return Who(e);
}

std::string TextRenderer::Progress(const json& d) {
  const std::string key = StringOr(d, "key", "");
  std::string label = StringOr(d, "label", "");
  if (label.empty()) label = key.empty() ? "progress" : key;
  const std::string unit = StringOr(d, "unit", "");
  const double done = d["done"].get<double>();
  const bool has_total = d.contains("total") && d["total"].is_number();
  std::string count = Num(d["done"]) + (has_total ? "/" + Num(d["total"]) : "") + (unit.empty() ? "" : " " + unit);
  if (!style_.tty) return Line(label + ": " + count);
  // A terminal: one line per bar, redrawn in place while it is the last thing printed.
  std::string out;
  if (bar_open_ && bar_key_ == key) {
    out = "\r\x1b[2K";
  } else {
    out = EndBar();
    if (!at_line_start_) out += "\n";
  }
  std::string line = label + " ";
  bool finished = false;
  if (has_total) {
    const double total = d["total"].get<double>();
    const double frac = std::clamp(done / total, 0.0, 1.0);
    const int filled = static_cast<int>(frac * style_.bar_width);
    line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(style_.bar_width - filled), '-') + "] " + count + " " +
            std::to_string(static_cast<int>(frac * 100)) + "%";
    finished = done >= total;
  } else {
    line += count;
  }
  out += line;
  current_.clear();
  at_line_start_ = false;
  bar_open_ = true;
  bar_key_ = key;
  if (finished) out += EndBar();
  return out;
}

std::string TextRenderer::Table(const json& d) {
  const json& columns = d["columns"];
  std::vector<std::vector<std::string>> cells;
  cells.emplace_back();
  for (const auto& c : columns) cells.back().push_back(Cell(c));
  for (const auto& row : d["rows"]) {
    cells.emplace_back();
    for (const auto& c : row) cells.back().push_back(Cell(c));
  }
  std::vector<std::size_t> width(columns.size(), 0);
  for (const auto& r : cells) {
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], Width(r[i]));
  }
  std::string text;
  if (std::string title = StringOr(d, "title", ""); !title.empty()) text += title + "\n";
  auto row_text = [&](const std::vector<std::string>& r) {
    std::string line;
    for (std::size_t i = 0; i < r.size() && i < width.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - Width(r[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  for (std::size_t r = 0; r < cells.size(); ++r) {
    text += row_text(cells[r]);
    if (r == 0) {
      std::vector<std::string> rule;
      for (std::size_t w : width) rule.push_back(std::string(w, '-'));
      text += row_text(rule);
    }
  }
  text.pop_back();  // Line adds the last newline
  return Line(text);
}

std::string TextRenderer::Feed(const json& e) {
  if (!e.is_object()) return "";
  const std::string type = StringOr(e, "type", "");
  const std::string run = StringOr(e, "run", "");
  const json& d = Data(e);
  if (type == "msg.start" || type == "msg.append") {
    const std::string msg = StringOr(e, "msg", "");
    if (type == "msg.start") roles_[msg] = StringOr(d, "role", "");
    std::string out;
    if (msg != current_) {
      out = EndBar();
      out += at_line_start_ ? "" : "\n";
      out += "[" + Speaker(e, msg) + (StringOr(e, "lane", "main") == "main" ? "" : " " + StringOr(e, "lane", "")) +
             "] ";
      current_ = msg;
      at_line_start_ = false;
    }
    if (type == "msg.append" && d.contains("text") && d["text"].is_string()) {
      out += EndBar();
      const std::string& t = d["text"].get_ref<const std::string&>();
      out += t;
      if (!t.empty()) at_line_start_ = t.back() == '\n';
    }
    return out;
  }
  if (type == "msg.end") {
    if (StringOr(e, "msg", "") == current_ && !at_line_start_) {
      at_line_start_ = true;
      current_.clear();
      return "\n";
    }
    return "";
  }
  if (type == "run.start") {
    agents_[run] = AgentLabel(e);
    return Line("── run " + run + " started by " + Who(e) + " (lane " + StringOr(e, "lane", "main") + ")", true);
  }
  if (type == "run.end") {
    std::string why = StringOr(d, "reason", "?");
    if (d.contains("error") && d["error"].is_string()) why += ": " + d["error"].get<std::string>();
    if (d.contains("interrupted") && d["interrupted"].is_string()) why += " (" + d["interrupted"].get<std::string>() + ")";
    return Line("── run " + run + " ended: " + why, true);
  }
  if (type == "control.cancel")
    return Line("── " + Who(e) + " asks to cancel run " + run + " (" + StringOr(e, "id", "") + ")", true);
  if (type == "control.steer") {
    const std::string what =
        d.contains("text") && d["text"].is_string() ? d["text"].get<std::string>() : d.value("json", json()).dump();
    return Line("── " + Who(e) + " steers run " + run + ": " + what + " (" + StringOr(e, "id", "") + ")", true);
  }
  if (type == "control.ack") {
    std::string s = "── " + StringOr(e, "id", "") + " " + StringOr(d, "outcome", "?") + " by " + Who(e);
    if (d.contains("reason") && d["reason"].is_string()) s += ": " + d["reason"].get<std::string>();
    return Line(s, true);
  }
  // Progress, metric and table: drawn when their shape is the protocol's (the server checks it;
  // a raw write may hold anything, which then prints like any other event).
  if (type == "progress" && d.contains("done") && d["done"].is_number()) return Progress(d);
  if (type == "metric" && d.contains("name") && d["name"].is_string() && d.contains("value") && d["value"].is_number()) {
    return Line(d["name"].get<std::string>() + " step=" + Num(d.value("step", json())) + " value=" + Num(d["value"]));
  }
  if (type == "table" && d.contains("columns") && d["columns"].is_array() && d.contains("rows") &&
      d["rows"].is_array()) {
    return Table(d);
  }
  if (d.contains("text") && d["text"].is_string()) return Line("[" + Who(e) + "] " + d["text"].get<std::string>());
  if (!e.contains("from")) {
    // Written through the plain stream (e.g. kernel gen's gen.* events): no envelope, its fields
    // at the top level. A dimmed line with them, bounded, rather than "[?] gen.start {}".
    json fields = json::object();
    for (const auto& [k, v] : e.items()) {
      if (k != "type") fields[k] = v;
    }
    std::string text = fields.dump(-1, ' ', false, json::error_handler_t::replace);
    constexpr std::size_t kMaxRawLine = 200;
    if (text.size() > kMaxRawLine) {
      std::size_t cut = kMaxRawLine;
      while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
      text = text.substr(0, cut) + "…";
    }
    return Line("── " + (type.empty() ? std::string("event") : type) + " " + text, true);
  }
  return Line("[" + Who(e) + "] " + type + " " + d.dump());
}

}  // namespace dsx::session::client
