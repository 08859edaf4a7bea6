// Reading a dsx session's control.ack out of an SSE body the probe received from the app under
// test (untrusted bytes). Header-only (nlohmann only) so the fuzz target tests/fuzz/
// fuzz_audit_text.cpp can build it without the probe's network code.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dsx::audit::probe {

// The outcome of the FIRST control.ack event in `body` (SSE: events separated by a blank line,
// each event's "data:" lines joined with '\n'; "\r\n" accepted): its data.outcome ("applied",
// "rejected", ...), "without an outcome" when it has none (or not a string), "" when no event is
// a control.ack. Never throws; malformed events are skipped.
inline std::string FirstControlAckOutcome(std::string_view body) {
  std::string data;
  bool has_data = false;
  auto finish = [&]() -> std::string {
    std::string out;
    if (has_data && data.find("control.ack") != std::string::npos) {
      auto j = nlohmann::json::parse(data, nullptr, false);
      if (j.is_object() && j.contains("type") && j["type"].is_string() && j["type"].get<std::string>() == "control.ack") {
        const auto* d = j.contains("data") && j["data"].is_object() ? &j["data"] : nullptr;
        bool named = d && d->contains("outcome") && (*d)["outcome"].is_string() && !(*d)["outcome"].get<std::string>().empty();
        out = named ? (*d)["outcome"].get<std::string>() : std::string("without an outcome");
      }
    }
    data.clear();
    has_data = false;
    return out;
  };
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (std::string out = finish(); !out.empty()) return out;
    } else if (line.substr(0, 5) == "data:") {
      std::string_view v = line.substr(5);
      if (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      if (has_data) data += '\n';
      data.append(v);
      has_data = true;
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return finish();  // a last event without its blank line: the stream was cut, read it anyway
}

}  // namespace dsx::audit::probe
