#include "session/live/live_cursor.hpp"

namespace dsx::session::live {

LiveCursor::Poll LiveCursor::Next() {
  Poll p;
  EventPage page = ReadEvents(service_, stream_, offset_);
  if (page.status != 200) {
    p.status = page.status;
    p.error = page.error;
    return p;
  }
  for (LogEvent& e : page.events) {
    if (lanes_.Accepts(e.body)) p.events.push_back(std::move(e));
  }
  MergeFragments(p.events);
  offset_ = page.next;
  p.more = !page.up_to_date;
  p.closed = page.closed;
  return p;
}

}  // namespace dsx::session::live
