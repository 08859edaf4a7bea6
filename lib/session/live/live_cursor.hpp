// LiveCursor: one reader's position in a session's log, with its lane filter. Each Poll reads
// what is new since the last one (one page), filters it and merges consecutive fragments, so
// a reader that polls rarely (a slow socket) gets fewer, larger events and nothing is queued
// on its behalf: its whole state is an offset. Not thread-safe: one per connection strand.
#pragma once

#include <cstdint>
#include <vector>

#include "session/live/event.hpp"

namespace dsx::session::live {

class LiveCursor {
 public:
  LiveCursor(StreamService& service, StreamHandle stream, std::uint64_t offset, LaneFilter lanes)
      : service_(service), stream_(std::move(stream)), offset_(offset), lanes_(std::move(lanes)) {}

  struct Poll {
    int status = 200;          // 200, or 404 (session deleted) / 503 (then error)
    std::string error;
    std::vector<LogEvent> events;
    bool more = false;         // not caught up: poll again without waiting
    bool closed = false;       // the session's stream was closed and everything was read
  };
  Poll Next();

  std::uint64_t offset() const { return offset_; }
  void Seek(std::uint64_t offset) { offset_ = offset; }
  void SetLanes(LaneFilter lanes) { lanes_ = std::move(lanes); }
  const StreamHandle& stream() const { return stream_; }

 private:
  StreamService& service_;
  StreamHandle stream_;
  std::uint64_t offset_;
  LaneFilter lanes_;
};

}  // namespace dsx::session::live
