// An incremental Server-Sent Events parser (WHATWG HTML "Server-sent events", §9.2.6):
// feed bytes as they arrive, get complete events out. Lines end in LF, CRLF or CR; a line
// starting with ':' is a comment; fields data/event/id/retry; an event is dispatched at a
// blank line. Unknown fields are ignored, as browsers do. Bytes that never form an event
// (garbage behind a text/event-stream header) are counted so the probe can say so.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsx::audit::probe {

struct SseEvent {
  std::string event;  // "" = default "message"
  std::string data;   // data lines joined with '\n'
  std::optional<std::string> id;  // the id: field of THIS event, if it had one
  std::string last_event_id;      // the stream's last event id after this event
  std::optional<int> retry_ms;
};

class SseParser {
 public:
  // Parse more bytes; complete events are appended to `out`.
  void Feed(std::string_view bytes, std::vector<SseEvent>* out);
  const std::string& last_event_id() const { return last_event_id_; }
  int comments() const { return comments_; }           // ": ping" lines seen
  int field_lines() const { return field_lines_; }     // lines that were a known field
  int other_lines() const { return other_lines_; }     // non-empty lines with an unknown field
  size_t pending_bytes() const { return line_.size(); }

 private:
  void Line(std::string_view line, std::vector<SseEvent>* out);
  std::string line_;  // partial line carried between Feed calls
  bool last_was_cr_ = false;
  bool have_data_ = false;
  SseEvent current_;
  std::string last_event_id_;
  int comments_ = 0, field_lines_ = 0, other_lines_ = 0;
};

// Parse a whole body at once (tests, captured traffic).
std::vector<SseEvent> ParseSse(std::string_view body);

}  // namespace dsx::audit::probe
