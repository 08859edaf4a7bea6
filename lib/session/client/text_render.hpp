// TextRenderer: a session's events as a readable chat for a terminal (`dsx session tail
// --text`). Message fragments are joined as they arrive; a header line is printed when the
// output switches to another message (lanes interleave); runs, control requests and their
// outcomes appear as "──" lines. Works on stored events (raw stream reads, no offsets) and on
// wire events alike. Pure: returns the text to print.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::session::client {

class TextRenderer {
 public:
  std::string Feed(const nlohmann::json& event);

  // Renders one chunk of a session's stream (a JSON array of events) and writes it to `fd`.
  // kFailed when the chunk is not a JSON array (not a session).
  dsx::Status WriteChunk(std::string_view json_array, int fd);

 private:
  std::string Line(const std::string& text);  // ensures it starts on a fresh line
  std::string current_;                       // message whose fragments were printed last
  bool at_line_start_ = true;
};

}  // namespace dsx::session::client
