#include "session/live/live_cursor.hpp"

#include "session/model/offset.hpp"

namespace dsx::session::live {

LiveCursor::Poll LiveCursor::Next() {
  Poll p;
  p.page = pages_.Read(stream_, offset_);
  if (p.page->status != 200) {
    p.status = p.page->status;
    p.error = p.page->error;
    return p;
  }
  if (!lanes_.lanes.empty()) {
    p.filtered = true;
    for (const LogEvent& e : p.page->events) {
      if (lanes_.Accepts(e.body)) p.own.push_back(e);
    }
    MergeFragments(p.own);
  }
  offset_ = p.page->next;
  // The page may have been built before later appends (or the closure): ask for the tail now.
  const StreamService::TailState now = pages_.service().Peek(stream_);
  if (now.gone) {  // deleted since: deliver what was read; the next poll reads the 404
    p.more = true;
    return p;
  }
  // Past the tail: no event ends there, so the client did not get it from this session (a
  // made-up offset, or one from another session); "up to date" would hide its mistake and
  // later skip events. The tail never moves back, so this is decided as of the read.
  if (offset_ > now.tail) {
    p.status = 400;
    p.error = "offset " + FormatOffset(offset_) + " is past the end of the session log";
    p.page = nullptr;
    return p;
  }
  p.more = offset_ < now.tail;
  p.closed = now.closed && !p.more;
  return p;
}

}  // namespace dsx::session::live
