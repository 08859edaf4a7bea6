// LiveCursor: one reader's position in a session's log, with its lane filter. Each Poll takes
// what is new since the last one (one page), filters it and merges consecutive fragments, so
// a reader that polls rarely (a slow socket) gets fewer, larger events and nothing is queued
// on its behalf: its whole state is an offset. Pages come from SharedPages: readers at the
// same offset share one read, parse and serialization; an unfiltered reader writes the page's
// prebuilt bytes. Not thread-safe: one per connection strand.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "session/live/event.hpp"
#include "session/live/shared_pages.hpp"

namespace dsx::session::live {

class LiveCursor {
 public:
  LiveCursor(SharedPages& pages, StreamHandle stream, std::uint64_t offset, LaneFilter lanes)
      : pages_(pages), stream_(std::move(stream)), offset_(offset), lanes_(std::move(lanes)) {}

  struct Poll {
    int status = 200;  // 200, or 404 (session deleted) / 503 (then error)
    std::string error;
    std::shared_ptr<const EventsPage> page;  // what was read (shared with other readers)
    bool filtered = false;                   // lane filter on: `own` holds this reader's events
    std::vector<LogEvent> own;
    bool more = false;    // not caught up: poll again without waiting
    bool closed = false;  // the session's stream was closed and everything was read

    // This reader's events (merged).
    const std::vector<LogEvent>& events() const { return filtered ? own : page->merged; }
    bool empty() const { return !page || events().empty(); }
  };
  Poll Next();

  std::uint64_t offset() const { return offset_; }
  void Seek(std::uint64_t offset) { offset_ = offset; }
  void SetLanes(LaneFilter lanes) { lanes_ = std::move(lanes); }
  const StreamHandle& stream() const { return stream_; }

 private:
  SharedPages& pages_;
  StreamHandle stream_;
  std::uint64_t offset_;
  LaneFilter lanes_;
};

}  // namespace dsx::session::live
