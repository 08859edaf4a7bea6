// How `dsx session tail` prints chunks:
//   kRaw   bytes as stored; for JSON streams one message per line (compact JSON)
//   kJsonl one JSON message per line; only for JSON streams (pipes into jq)
//   kJson  one record per chunk and line: {"offset": <next offset>, "data": ...} where data is
//          the array of messages (JSON streams), a string (text and valid UTF-8), or base64
//          with "encoding": "base64" (anything else)
//   kEnvelope  JSON streams only: one line per message, {"offset":"O","data":<message>}, O the
//          offset right after that message (pass it to --from to resume after it). Per-message
//          offsets are computed from the chunk's next offset and the messages' stored bytes when
//          the server's offsets are dsx's "<16 digits>_<16 digits>" byte positions (checked
//          against the chunk's start offset when it is one); otherwise only a chunk's last
//          message gets an offset and the others "offset": null.
// Output goes to a file descriptor with write(2) as each chunk arrives (no stdio buffering),
// so a pipe reader sees live data at once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"
#include "session/client/follower.hpp"

namespace dsx::session::client {

enum class TailFormat { kRaw, kJsonl, kJson, kEnvelope };

class TailOutput {
 public:
  TailOutput(int fd, TailFormat format, std::string content_type_hint = "")
      : fd_(fd), format_(format), content_type_(std::move(content_type_hint)) {}

  // Formats and writes one chunk; `content_type` is the stream's.
  Status Write(const Chunk& chunk, const std::string& content_type);

  // The reader on the other side went away (EPIPE): the caller stops quietly.
  bool broken_pipe() const { return broken_pipe_; }

  // Pure formatting, exposed for tests.
  static Result<std::string> Format(const Chunk& chunk, TailFormat format, const std::string& content_type);

  // The offset after each message of a JSON chunk (see kEnvelope); "" where it cannot be known.
  static std::vector<std::string> MessageOffsets(const Chunk& chunk, const std::vector<std::string_view>& messages);

 private:
  Status WriteAll(const std::string& bytes);
  int fd_;
  TailFormat format_;
  std::string content_type_;
  bool broken_pipe_ = false;
};

using ::dsx::IsValidUtf8;  // core/utf8.hpp

}  // namespace dsx::session::client
