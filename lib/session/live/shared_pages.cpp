#include "session/live/shared_pages.hpp"

#include "session/model/offset.hpp"

namespace dsx::session::live {
namespace {

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

std::string WsEventsFrame(const std::vector<LogEvent>& events, std::uint64_t next) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (i) out += ',';
    out += Dump(events[i].Wire());
  }
  out += R"(],"offset":")";
  out += FormatOffset(next);
  out += R"(","op":"events"})";
  return out;
}

std::string SseEventsText(const std::vector<LogEvent>& events) {
  std::string out;
  for (const auto& e : events) {
    out += "id: ";
    out += FormatOffset(e.offset);
    out += "\ndata: ";
    out += Dump(e.Wire());  // JSON dumps have no raw newlines
    out += "\n\n";
  }
  return out;
}

std::shared_ptr<const EventsPage> SharedPages::Read(const StreamHandle& stream, std::uint64_t from) {
  return cache_.Get(stream, from, /*variant=*/0, [&] {
    EventPage read = ReadEvents(service_, stream, from);
    auto page = std::make_shared<EventsPage>();
    page->status = read.status;
    page->error = std::move(read.error);
    page->next = read.next;
    page->closed = read.closed;
    page->events = std::move(read.events);
    page->merged = page->events;
    MergeFragments(page->merged);
    page->ws_frame = WsEventsFrame(page->merged, page->next);
    page->sse_text = SseEventsText(page->merged);
    // Memory it holds, roughly: the two texts, plus the parsed events (twice: as stored and
    // merged) at about their text size plus node overhead. 0: not cached.
    std::size_t bytes = 0;
    if (page->status == 200 && !page->events.empty()) {
      const std::size_t text = page->ws_frame.size() + page->sse_text.size();
      bytes = text + 2 * page->ws_frame.size() + 512 * page->events.size();
    }
    return std::pair<std::shared_ptr<const EventsPage>, std::size_t>(std::move(page), bytes);
  });
}

}  // namespace dsx::session::live
