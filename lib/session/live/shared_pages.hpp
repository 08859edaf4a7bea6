// SharedPages: a session log read once per offset and shared by every live reader there
// (WebSocket and SSE), already parsed, merged and serialized. See PageCache for why it is
// safe; this file says what a page holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "session/live/event.hpp"
#include "session/model/page_cache.hpp"

namespace dsx::session::live {

struct EventsPage {
  int status = 200;  // 200, or 404 / 503 (then `error`)
  std::string error;
  std::uint64_t next = 0;        // resume offset after this page
  bool closed = false;           // as read: the stream was closed and this is its end
  std::vector<LogEvent> events;  // as stored (for lane-filtered readers, who filter and merge)
  std::vector<LogEvent> merged;  // MergeFragments(events): what an unfiltered reader gets
  // The unfiltered reader's bytes, serialized once:
  std::string ws_frame;  // {"op":"events","events":[...],"offset":"<next>"}
  std::string sse_text;  // per merged event: "id: <offset>\ndata: <wire>\n\n"
};

class SharedPages {
 public:
  explicit SharedPages(StreamService& service) : service_(service) {}

  // Everything from `from` up to the tail (one read page). Pages without events are built
  // fresh each time and never cached.
  std::shared_ptr<const EventsPage> Read(const StreamHandle& stream, std::uint64_t from);

  StreamService& service() { return service_; }
  std::uint64_t hits() const { return cache_.hits(); }
  std::uint64_t misses() const { return cache_.misses(); }

 private:
  StreamService& service_;
  PageCache<EventsPage> cache_;
};

// The wire bytes of `events` (already filtered/merged) in the two live framings.
std::string WsEventsFrame(const std::vector<LogEvent>& events, std::uint64_t next);
std::string SseEventsText(const std::vector<LogEvent>& events);

}  // namespace dsx::session::live
