// JSON mode for `publish`: stdin is JSON Lines, one message per line. Lines are validated as
// they complete; validated messages are handed out as JSON-array append bodies (the server
// flattens exactly one array level, so a message that is itself an array stays one message).
// Blank lines are skipped. A line that is not valid JSON is an error naming its line number
// and column; nothing from that line on is ever handed out.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::session::client {

class JsonLines {
 public:
  // Adds input bytes; validates every line they complete.
  Status Feed(std::string_view bytes);
  // End of input: validates a last line that has no newline.
  Status Finish();

  // Messages validated and not yet taken.
  size_t pending_messages() const { return messages_.size(); }
  // Takes validated messages as one JSON array body of at most ~max_bytes (always at least
  // one message when any is pending); `count` gets the number taken. "" when none pending.
  std::string TakeBatch(size_t max_bytes, size_t* count);

  size_t lines_seen() const { return line_no_; }

 private:
  Status AddLine(std::string_view line);

  std::string partial_;                // bytes of the current, unfinished line
  std::vector<std::string> messages_;  // validated message texts, trimmed, as written
  size_t taken_ = 0;                   // messages_[0, taken_) already handed out
  size_t line_no_ = 0;
  bool failed_ = false;
};

}  // namespace dsx::session::client
