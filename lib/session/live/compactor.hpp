// The compacted view (docs/protocol/sessions.md, section 10): a session's log folded so a late
// joiner gets every finished message whole and each in-flight one as its text so far, then
// continues live from the view's offset. Also the text assembler that both a replaying and a
// compacted reader use, so "same final text either way" is testable as a property.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "session/live/event.hpp"

namespace dsx::session::live {

// Folds events in log order. Feed every event of the log (from the start) with Add, then
// Items() gives the view. Events must come with their offsets.
class Compactor {
 public:
  void Add(const LogEvent& event);
  // The view's items, in order of first appearance (a message sits where its msg.start was).
  std::vector<json> Items() const;
  std::uint64_t offset() const { return offset_; }
  // Progress, metric and table events (progress_events.hpp) are folded here instead of into
  // Items(), so a late joiner gets the state of every bar, chart and table at once:
  //   Progress(): [{"key","label","done","total","unit","run","ts"}...]  latest per key
  //   Metrics():  {"<name>": [[step, value]...]}  in log order, at most kMaxMetricPoints per name
  //   Tables():   [{"key","title","columns","rows","run","ts"}...]       latest per key
  // (keys in order of their first event; absent optional fields are null, label/unit/title "").
  json Progress() const;
  json Metrics() const;
  json Tables() const;

  // Points kept per metric name. Past it the older points are thinned (every other one is
  // dropped, the newest is always kept), so a chart keeps its shape over a long run.
  static constexpr std::size_t kMaxMetricPoints = 10000;

 private:
  void AddProgressEvent(const LogEvent& event);
  struct Message {
    std::size_t slot = 0;  // index in items_
    std::string run;
    std::string state = "streaming";
  };
  std::vector<json> items_;
  std::map<std::string, Message> messages_;               // by run + '\n' + msg
  std::map<std::string, std::vector<std::string>> open_;  // run -> open message keys
  std::uint64_t offset_ = 0;
  std::vector<std::string> progress_keys_, table_keys_;  // first-appearance order
  std::map<std::string, json> progress_, tables_;        // latest per key
  std::vector<std::string> metric_names_;
  std::map<std::string, json> metrics_;  // name -> [[step, value]...]
};

// Assembles message texts from either a compacted view's items or raw/live events (msg.start,
// msg.append, msg.end), keyed by message id. What a chat UI would show.
class TextAssembler {
 public:
  void AddItem(const json& item);    // a compacted-view item
  void AddEvent(const json& event);  // a wire event (msg.* used, others ignored)
  const std::map<std::string, std::string>& texts() const { return texts_; }
  std::string Text(const std::string& msg) const;

 private:
  std::map<std::string, std::string> texts_;
};

// Reads the whole log of `stream` (lane-filtered) and folds it: {"items":[…],"offset":"T"}.
// `*tail` gets T (where live reading continues). 404/503 as a Status on failure.
Result<json> BuildView(StreamService& service, const StreamHandle& stream, const LaneFilter& lanes,
                       std::uint64_t* tail);

}  // namespace dsx::session::live
