#include "llm/sse.hpp"

namespace dsx::llm {

void SseParser::Feed(std::string_view bytes) {
  for (char c : bytes) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (c == '\n') continue;  // second half of a CRLF split across reads
    }
    if (c == '\r' || c == '\n') {
      last_was_cr_ = (c == '\r');
      std::string line;
      line.swap(buf_);
      Line(line);
      continue;
    }
    buf_.push_back(c);
  }
}

std::string SseParser::Finish() {
  std::string rest;
  rest.swap(buf_);
  if (!rest.empty()) {
    Line(rest);
    rest.clear();
  }
  if (has_data_) Dispatch();
  return rest;
}

void SseParser::Line(std::string_view line) {
  if (line.empty()) {
    if (has_data_) Dispatch();
    pending_.event.clear();
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  }
  // "id" and "retry" are not used by the chat APIs; unknown fields are ignored per the spec.
}

void SseParser::Dispatch() {
  ++events_;
  SseEvent ev = std::move(pending_);
  pending_ = {};
  has_data_ = false;
  handler_(ev);
}

}  // namespace dsx::llm
