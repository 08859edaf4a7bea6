// Incremental parser for text/event-stream: the WHATWG HTML "event stream interpretation" rules,
// the one SSE parser of dsx (session followers, LLM clients, the audit probe).
//
// Feed() takes bytes exactly as they arrive from the socket: a line, a CRLF pair, the BOM or a
// UTF-8 sequence may be split across chunks. The rules:
//  - one UTF-8 BOM is dropped at the start of the stream (only there);
//  - lines end in CRLF, LF or CR;
//  - a line starting with ':' is a comment;
//  - the field name runs to the first ':', one leading space of the value is dropped; a line
//    without ':' is a field with an empty value;
//  - `data` appends value + LF to the data buffer; `event` sets the type; `id` sets the last
//    event id unless the value holds a NUL (and it persists across events); `retry` sets the
//    reconnection time when the value is all ASCII digits; other fields are ignored;
//  - a blank line dispatches: nothing when the data buffer is empty, else the event with its
//    last LF dropped and type "message" when none was set; then data and type reset.
// Bytes are passed through as they are (no UTF-8 validation or replacement). A stream that
// ends without a blank line loses its last event, as the spec says; Finish() is the lenient
// opt-in for servers that close right after their last data line.
//
// Memory is bounded: an unfinished line or event may hold at most max_pending() bytes (default
// kDefaultMaxPending). A hostile or broken server that sends one endless line, or data lines
// without ever a blank line, would otherwise make the client buffer all of it. Past the bound
// the parser stops (overflowed(): Feed returns false and ignores further bytes until Reset) and
// the caller ends the stream with an error; nothing partial is dispatched.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsx::net {

struct SseEvent {
  std::string type = "message";     // `event:` field; "message" when absent or empty
  std::string data;                 // `data:` lines joined with '\n'
  std::string id;                   // the stream's last event id at dispatch (persists across events)
  bool has_own_id = false;          // this event's own lines set the id
  std::optional<int64_t> retry_ms;  // the stream's reconnection time, once a `retry:` set it
};

class SseParser {
 public:
  using Sink = std::function<void(const SseEvent&)>;
  // 16 MiB: far above any event dsx or an LLM API sends (a chat completion chunk is a few KiB;
  // a session catch-up event is at most the server's 4 MiB append limit, base64-encoded).
  static constexpr size_t kDefaultMaxPending = size_t{16} << 20;

  explicit SseParser(Sink sink, size_t max_pending = kDefaultMaxPending)
      : sink_(std::move(sink)), max_pending_(max_pending) {}

  // Parses as many complete lines as `chunk` completes; keeps the rest for the next call.
  // False once the unfinished line or event has grown past max_pending() (see above): the
  // stream must be abandoned; the rest of `chunk` and later chunks are ignored until Reset().
  bool Feed(std::string_view chunk);
  bool overflowed() const { return overflowed_; }
  size_t max_pending() const { return max_pending_; }
  // "an SSE event is larger than 16 MiB": the message callers put in their error.
  std::string OverflowMessage() const;
  // Lenient end of stream: processes an unterminated last line and dispatches a pending event
  // that lacked its blank line. Not spec behaviour (it discards them): call it only where such
  // servers must be accepted. Reset() before feeding it another stream.
  void Finish();
  // Drops the parse state, the last event id, the retry time, the BOM check and the overflow
  // included (after a reconnect the next connection is a new stream; a client that resumes
  // sends the id it kept itself). The counters keep counting.
  void Reset();

  // Bytes of an unfinished line or event currently held (bounded by the caller's limits).
  size_t pending_bytes() const { return bom_matched_ + line_.size() + data_.size() + type_.size(); }
  const std::string& last_event_id() const { return last_event_id_; }
  std::optional<int64_t> retry_ms() const { return retry_ms_; }
  // Counters for diagnostics (the audit probe reports them): lines of each kind, events sent.
  int comments() const { return comments_; }        // ":..." lines
  int field_lines() const { return field_lines_; }  // data / event / id / retry lines
  int other_lines() const { return other_lines_; }  // non-empty lines with an unknown field name
  int events() const { return events_; }

 private:
  void ProcessLine(std::string_view line);
  void Dispatch();

  Sink sink_;
  size_t max_pending_;
  bool overflowed_ = false;
  bool bom_done_ = false;     // the stream start was checked for a BOM
  size_t bom_matched_ = 0;    // BOM bytes seen so far at the stream start (held, not yet in line_)
  bool last_was_cr_ = false;  // a CR ended the previous byte: a following LF belongs to it
  std::string line_;
  std::string type_;
  std::string data_;
  bool own_id_ = false;
  std::string last_event_id_;
  std::optional<int64_t> retry_ms_;
  int comments_ = 0, field_lines_ = 0, other_lines_ = 0, events_ = 0;
};

// Parses a whole body (captured traffic, tests): the events a browser would dispatch.
std::vector<SseEvent> ParseSse(std::string_view body);

}  // namespace dsx::net
