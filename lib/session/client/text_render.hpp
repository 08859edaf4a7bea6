// TextRenderer: a session's events as a readable chat for a terminal (`dsx session tail
// --text`). Message fragments are joined as they arrive; a header line names who speaks when
// the output switches to another message (lanes interleave): an agent's reply is labelled with
// the agent (its run's data.agent, data.model or command, else the run's starter), a message
// with another role (a person's) with its sender. Runs, control requests and their outcomes
// appear as "──" lines, dimmed on a colour terminal. Progress, metric and table events
// (docs/protocol/sessions.md, section 3) are drawn: a bar redrawn in place on a terminal (a line
// "label: done/total unit" otherwise), "name step=S value=V", a table in aligned columns.
// Works on stored events (raw stream reads, no offsets) and on wire events alike. Pure: returns
// the text to print.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::session::client {

struct TextStyle {
  bool tty = false;    // stdout is a terminal (not TERM=dumb): progress bars redraw in place
  bool color = false;  // escapes allowed (a terminal, NO_COLOR unset, TERM not dumb)
  int bar_width = 30;  // characters between the brackets of a progress bar

  // The style for `fd` from isatty(3), NO_COLOR and TERM (https://no-color.org).
  static TextStyle ForFd(int fd);
};

class TextRenderer {
 public:
  explicit TextRenderer(TextStyle style = {}) : style_(style) {}

  std::string Feed(const nlohmann::json& event);

  // Renders one chunk of a session's stream (a JSON array of events) and writes it to `fd`.
  // kFailed when the chunk is not a JSON array (not a session).
  dsx::Status WriteChunk(std::string_view json_array, int fd);

 private:
  std::string Line(const std::string& text, bool control = false);  // ensures it starts on a fresh line
  std::string EndBar();                                            // ends an open progress bar's line
  std::string Progress(const nlohmann::json& data);
  std::string Table(const nlohmann::json& data);
  std::string Speaker(const nlohmann::json& event, const std::string& msg) const;

  TextStyle style_;
  std::string current_;  // message whose fragments were printed last
  bool at_line_start_ = true;
  bool bar_open_ = false;  // a progress bar is the current (unfinished) line, redrawn in place
  std::string bar_key_;
  std::map<std::string, std::string> agents_;  // run -> the agent's label (from run.start)
  std::map<std::string, std::string> roles_;   // msg -> data.role of its msg.start
};

}  // namespace dsx::session::client
