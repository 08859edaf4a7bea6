#include "audit/probe/sse_parser.hpp"

#include <charconv>

namespace dsx::audit::probe {

void SseParser::Feed(std::string_view bytes, std::vector<SseEvent>* out) {
  for (char c : bytes) {
    if (last_was_cr_ && c == '\n') {  // the LF of a CRLF pair: the line already ended
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\r' || c == '\n') {
      std::string line;
      line.swap(line_);
      Line(line, out);
    } else {
      line_.push_back(c);
    }
  }
}

void SseParser::Line(std::string_view line, std::vector<SseEvent>* out) {
  if (line.empty()) {  // dispatch
    if (have_data_ || current_.id || !current_.event.empty()) {
      if (have_data_) {
        current_.last_event_id = last_event_id_;
        out->push_back(std::move(current_));
      }
    }
    current_ = SseEvent{};
    have_data_ = false;
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line, value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (have_data_) current_.data.push_back('\n');
    current_.data.append(value);
    have_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      current_.id = std::string(value);
      last_event_id_ = std::string(value);
    }
  } else if (field == "retry") {
    int ms = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && p == value.data() + value.size()) current_.retry_ms = ms;
  } else {
    ++other_lines_;
    return;
  }
  ++field_lines_;
}

std::vector<SseEvent> ParseSse(std::string_view body) {
  SseParser parser;
  std::vector<SseEvent> events;
  parser.Feed(body, &events);
  return events;
}

}  // namespace dsx::audit::probe
