#include "net/sse_parser.hpp"

#include <charconv>

namespace dsx::net {
namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

void SseParser::Reset() {
  overflowed_ = false;
  bom_done_ = false;
  bom_matched_ = 0;
  last_was_cr_ = false;
  line_.clear();
  type_.clear();
  data_.clear();
  own_id_ = false;
  last_event_id_.clear();
  retry_ms_.reset();
}

std::string SseParser::OverflowMessage() const {
  return "an SSE event is larger than " + std::to_string(max_pending_ >> 20) + " MiB (" + std::to_string(max_pending_) +
         " bytes): the stream was abandoned";
}

bool SseParser::Feed(std::string_view chunk) {
  if (overflowed_) return false;
  for (char c : chunk) {
    if (!bom_done_) {
      if (c == kBom[bom_matched_]) {
        if (++bom_matched_ == kBom.size()) {
          bom_done_ = true;
          bom_matched_ = 0;
        }
        continue;
      }
      // Not a BOM after all: the bytes held so far are the start of the first line.
      bom_done_ = true;
      line_.append(kBom.substr(0, bom_matched_));
      bom_matched_ = 0;
    }
    if (last_was_cr_) {
      last_was_cr_ = false;
      if (c == '\n') continue;  // second half of a CRLF already handled at the CR
    }
    if (c == '\r' || c == '\n') {
      last_was_cr_ = (c == '\r');
      ProcessLine(line_);
      line_.clear();
      // data_ grows only here: one check per line bounds an event of endless data lines.
      if (pending_bytes() > max_pending_) break;
      continue;
    }
    line_.push_back(c);
    if (line_.size() > max_pending_) break;
  }
  if (pending_bytes() > max_pending_) {
    overflowed_ = true;
    line_.clear();
    data_.clear();
    type_.clear();
  }
  return !overflowed_;
}

void SseParser::Finish() {
  if (bom_matched_ > 0) line_.append(kBom.substr(0, bom_matched_));
  if (!line_.empty()) ProcessLine(line_);
  line_.clear();
  bom_matched_ = 0;
  last_was_cr_ = false;
  Dispatch();
}

void SseParser::ProcessLine(std::string_view line) {
  if (line.empty()) {
    Dispatch();
    return;
  }
  if (line.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view field = line, value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      last_event_id_.assign(value);
      own_id_ = true;
    }
  } else if (field == "retry") {
    int64_t ms = 0;
    bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string_view::npos;
    // All digits but too large for int64: ignored like any other value that is not a time.
    if (digits && std::from_chars(value.data(), value.data() + value.size(), ms).ec == std::errc()) retry_ms_ = ms;
  } else {
    ++other_lines_;
    return;
  }
  ++field_lines_;
}

void SseParser::Dispatch() {
  if (!data_.empty()) {
    data_.pop_back();  // the LF the last data line appended
    SseEvent ev;
    if (!type_.empty()) ev.type = type_;
    ev.data = std::move(data_);
    ev.id = last_event_id_;
    ev.has_own_id = own_id_;
    ev.retry_ms = retry_ms_;
    ++events_;
    sink_(ev);
  }
  type_.clear();
  data_.clear();
  own_id_ = false;
}

std::vector<SseEvent> ParseSse(std::string_view body) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& ev) { events.push_back(ev); });
  parser.Feed(body);
  return events;
}

}  // namespace dsx::net
