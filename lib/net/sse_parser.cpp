#include "net/sse_parser.hpp"

namespace dsx::net {

void SseParser::Reset() {
  line_.clear();
  last_was_cr_ = false;
  type_.clear();
  data_.clear();
  has_data_ = false;
  id_.clear();
}

void SseParser::Feed(std::string_view chunk) {
  for (char c : chunk) {
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (c == '\n') continue;  // second half of a CRLF already handled at the CR
    }
    if (c == '\r' || c == '\n') {
      last_was_cr_ = (c == '\r');
      ProcessLine(line_);
      line_.clear();
      continue;
    }
    line_.push_back(c);
  }
}

void SseParser::ProcessLine(std::string_view line) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  std::string_view field = line, value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    type_.assign(value);
  } else if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // "retry" and unknown fields: ignored (reconnect timing is the follower's policy).
}

void SseParser::Dispatch() {
  if (has_data_) {
    SseEvent ev;
    ev.type = type_.empty() ? "message" : type_;
    ev.data = std::move(data_);
    ev.id = id_;
    sink_(ev);
  }
  type_.clear();
  data_.clear();
  has_data_ = false;
}

}  // namespace dsx::net
