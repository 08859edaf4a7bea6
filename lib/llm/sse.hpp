// Incremental parser for Server-Sent Events (the WHATWG "event stream" format) as used by the
// OpenAI and Anthropic streaming APIs. Bytes arrive in arbitrary pieces (a network read can end in
// the middle of a line, a UTF-8 sequence or a CRLF pair); the parser buffers until a blank line
// completes an event.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace dsx::llm {

struct SseEvent {
  std::string event;  // "event:" field; empty means the default type "message"
  std::string data;   // "data:" lines joined with '\n'
};

class SseParser {
 public:
  using Handler = std::function<void(const SseEvent&)>;
  explicit SseParser(Handler handler) : handler_(std::move(handler)) {}

  // Feed the next bytes; calls the handler once per complete event. Lines end in LF, CRLF or CR.
  void Feed(std::string_view bytes);
  // At end of stream: dispatches a final event that lacked its blank line (lenient, as servers
  // that close right after the last "data:" line exist). Returns the bytes left unparsed (a
  // partial line), empty when the stream ended cleanly.
  std::string Finish();

  size_t events() const { return events_; }

 private:
  void Line(std::string_view line);
  void Dispatch();

  Handler handler_;
  std::string buf_;        // bytes of the current, incomplete line
  bool last_was_cr_ = false;
  SseEvent pending_;
  bool has_data_ = false;
  size_t events_ = 0;
};

}  // namespace dsx::llm
