// Incremental parser for text/event-stream (WHATWG HTML "server-sent events" rules).
//
// Feed() takes bytes exactly as they arrive from the socket: a line, a CRLF pair or a UTF-8
// sequence may be split across chunks. Lines end in CRLF, LF or CR; `data:` lines of one
// event are joined with '\n'; one leading space after the colon is dropped; comment lines
// (":...") and unknown fields are ignored; an event is dispatched at a blank line and only if
// it had data (as browsers do). Durable Streams sends `event: data` and `event: control`.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace dsx::net {

struct SseEvent {
  std::string type = "message";  // `event:` field; "message" when absent
  std::string data;
  std::string id;
};

class SseParser {
 public:
  using Sink = std::function<void(const SseEvent&)>;
  explicit SseParser(Sink sink) : sink_(std::move(sink)) {}

  // Parses as many complete lines as `chunk` completes; keeps the rest for the next call.
  void Feed(std::string_view chunk);
  // Drops partial state (after a reconnect the next connection starts clean).
  void Reset();
  // Bytes of an unfinished line or event currently held (bounded by the caller's limits).
  size_t pending_bytes() const { return line_.size() + data_.size(); }

 private:
  void ProcessLine(std::string_view line);
  void Dispatch();

  Sink sink_;
  std::string line_;
  bool last_was_cr_ = false;  // a CR ended the previous chunk: a following LF belongs to it
  std::string type_;
  std::string data_;
  bool has_data_ = false;
  std::string id_;
};

}  // namespace dsx::net
