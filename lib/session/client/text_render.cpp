#include "session/client/text_render.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "session/wire/event.hpp"

namespace dsx::session::client {
namespace {

using nlohmann::json;
using wire::StringOr;

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

}  // namespace

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

std::string TextRenderer::Line(const std::string& text) {
  std::string out = at_line_start_ ? "" : "\n";
  out += text;
  out += "\n";
  at_line_start_ = true;
  current_.clear();
  return out;
}

std::string TextRenderer::Feed(const json& e) {
  if (!e.is_object()) return "";
  const std::string type = StringOr(e, "type", "");
  const std::string run = StringOr(e, "run", "");
  const json& d = Data(e);
  if (type == "msg.start" || type == "msg.append") {
    const std::string msg = StringOr(e, "msg", "");
    std::string out;
    if (msg != current_) {
      out = at_line_start_ ? "" : "\n";
      out += "[" + Who(e) + (StringOr(e, "lane", "main") == "main" ? "" : " " + StringOr(e, "lane", "")) + "] ";
      current_ = msg;
      at_line_start_ = false;
    }
    if (type == "msg.append" && d.contains("text") && d["text"].is_string()) {
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
  if (type == "run.start")
    return Line("── run " + run + " started by " + Who(e) + " (lane " + StringOr(e, "lane", "main") + ")");
  if (type == "run.end") {
    std::string why = StringOr(d, "reason", "?");
    if (d.contains("error") && d["error"].is_string()) why += ": " + d["error"].get<std::string>();
    return Line("── run " + run + " ended: " + why);
  }
  if (type == "control.cancel")
    return Line("── " + Who(e) + " asks to cancel run " + run + " (" + StringOr(e, "id", "") + ")");
  if (type == "control.steer") {
    const std::string what =
        d.contains("text") && d["text"].is_string() ? d["text"].get<std::string>() : d.value("json", json()).dump();
    return Line("── " + Who(e) + " steers run " + run + ": " + what + " (" + StringOr(e, "id", "") + ")");
  }
  if (type == "control.ack") {
    std::string s = "── " + StringOr(e, "id", "") + " " + StringOr(d, "outcome", "?") + " by " + Who(e);
    if (d.contains("reason") && d["reason"].is_string()) s += ": " + d["reason"].get<std::string>();
    return Line(s);
  }
  if (d.contains("text") && d["text"].is_string()) return Line("[" + Who(e) + "] " + d["text"].get<std::string>());
  return Line("[" + Who(e) + "] " + type + " " + d.dump());
}

}  // namespace dsx::session::client
