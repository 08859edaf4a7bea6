// SSE framing for live reads (`live=sse`): each batch of data is one `event: data` followed
// by one `event: control`, both in a single HTTP chunk (one write).
//
//   event: data            data lines: `data:` + one line of payload (no space after the
//   data:<line>            colon); text is split on CRLF, CR and LF; JSON streams send one
//   <blank>                JSON array per event; other types one base64 line.
//   event: control
//   data:{"streamNextOffset":"...","streamCursor":"...","upToDate":true}
//   <blank>
//
// When the read's bearer token runs out, the response ends with one `event: error` whose data
// is {"status":401,"error":"token expired"} and the chunked terminator (SseTokenExpired): a
// clean end a client can tell from a drop (which lacks the terminator) and from the
// stream's own end (`streamClosed`). It resumes from the last control event's offset with a
// fresh token.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "session/model/offset.hpp"
#include "session/model/protocol_values.hpp"
#include "session/server/router.hpp"

namespace dsx::session::server {
namespace {

void Base64(std::string& out, std::string_view in) {
  static constexpr char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  out.reserve(out.size() + (in.size() + 2) / 3 * 4);
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out.push_back(kTable[(v >> 18) & 63]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(kTable[(v >> 6) & 63]);
    out.push_back(kTable[v & 63]);
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out.push_back(kTable[(v >> 18) & 63]);
    out.push_back(kTable[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kTable[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
}

void DataEvent(std::string& out, const LiveRead& live, std::string_view payload) {
  out += "event: data\n";
  if (live.base64) {
    out += "data:";
    Base64(out, payload);
    out += '\n';
  } else {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= payload.size(); ++i) {
      if (i == payload.size() || payload[i] == '\n' || payload[i] == '\r') {
        out += "data:";
        out.append(payload.substr(start, i - start));
        out += '\n';
        if (i < payload.size() && payload[i] == '\r' && i + 1 < payload.size() && payload[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
  }
  out += '\n';
}

void ControlEvent(std::string& out, LiveRead& live, std::uint64_t next, bool up_to_date, bool closed) {
  out += "event: control\ndata:{\"streamNextOffset\":\"";
  out += FormatOffset(next);
  out += '"';
  if (!closed) {
    const std::uint64_t cursor = NextCursor(NowMs(), live.cursor);
    live.cursor = cursor;
    out += ",\"streamCursor\":\"";
    out += std::to_string(cursor);
    out += '"';
  }
  if (up_to_date) out += ",\"upToDate\":true";
  if (closed) out += ",\"streamClosed\":true";
  out += "}\n\n";
}

std::string ChunkSizeLine(std::size_t size) {
  char line[32];
  const int n = std::snprintf(line, sizeof line, "%zx\r\n", size);
  return std::string(line, static_cast<std::size_t>(n));
}

std::string Chunk(const std::string& events, bool last) {
  std::string out;
  out.reserve(events.size() + 48);
  if (!events.empty()) {
    out += ChunkSizeLine(events.size());
    out += events;
    out += "\r\n";
  }
  if (last) out += "0\r\n\r\n";
  return out;
}

std::pair<std::shared_ptr<const SseDataPage>, std::size_t> ReadPage(StreamService& service, const LiveRead& live) {
  auto page = std::make_shared<SseDataPage>();
  ReadReply rr = service.ReadFrom(live.stream, live.offset);
  page->status = rr.reply.status;
  if (rr.reply.status != 200) page->error = rr.reply.error;
  page->next = rr.next;
  if (rr.reply.status == 200 && rr.messages > 0) DataEvent(page->events, live, rr.body);
  // Bytes held (0: not cached): only pages with data are worth sharing.
  const std::size_t bytes =
      page->status == 200 && !page->events.empty() ? page->events.size() + sizeof(SseDataPage) : 0;
  return {std::move(page), bytes};
}

}  // namespace

std::string SseHead(const LiveRead& live) {
  std::string h = live.version == 10 ? "HTTP/1.0 200 OK\r\n" : "HTTP/1.1 200 OK\r\n";
  h += "Content-Type: text/event-stream\r\n"
       "Cache-Control: no-cache\r\n"
       // The connection ends with the stream (closed stream, error, peer gone): say so, or a
       // client pool may reuse it for its next request just as we close it.
       "Connection: close\r\n"
       "Transfer-Encoding: chunked\r\n"
       "X-Content-Type-Options: nosniff\r\n"
       "Cross-Origin-Resource-Policy: cross-origin\r\n"
       "Access-Control-Allow-Origin: *\r\n"
       "Access-Control-Expose-Headers: Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, "
       "Stream-Closed, stream-sse-data-encoding\r\n";
  if (live.base64) h += "stream-sse-data-encoding: base64\r\n";
  h += "\r\n";
  return h;
}

SseChunk SseNext(StreamService& service, SsePageCache* pages, LiveRead& live, bool* done, bool* more) {
  *done = false;
  *more = false;
  SseChunk c;
  auto build = [&] { return ReadPage(service, live); };
  std::shared_ptr<const SseDataPage> page =
      pages ? pages->Get(live.stream, live.offset, live.base64 ? 1 : 0, build) : build().first;
  if (page->status != 200) {  // deleted or expired under us: end the response
    *done = true;
    // A store outage is worth telling (the reader retries, elsewhere if it can); a stream
    // deleted under us just ends, as the Durable Streams protocol has it.
    const std::string why = page->status == 503 ? "event: error\ndata:" +
                                                      nlohmann::json{{"status", 503}, {"error", page->error}}.dump(
                                                          -1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                                      "\n\n"
                                                : std::string();
    c.tail = Chunk(why, true);
    return c;
  }
  live.offset = page->next;
  // A shared page may predate later appends or the closure: the control event says what is
  // true now.
  const StreamService::TailState now = service.Peek(live.stream);
  const bool up_to_date = now.gone || page->next >= now.tail;
  const bool closed = !now.gone && now.closed && up_to_date;
  *more = !up_to_date || now.gone;  // gone: the next read answers 404 and ends the response
  std::string control;
  ControlEvent(control, live, page->next, up_to_date, closed);
  *done = closed;
  c.head = ChunkSizeLine(page->events.size() + control.size());
  if (!page->events.empty()) c.data = std::move(page);
  c.tail = std::move(control);
  c.tail += "\r\n";
  if (closed) c.tail += "0\r\n\r\n";
  return c;
}

std::string SseNextChunk(StreamService& service, LiveRead& live, bool* done, bool* more) {
  SseChunk c = SseNext(service, nullptr, live, done, more);
  std::string out = std::move(c.head);
  if (c.data) out += c.data->events;
  out += c.tail;
  return out;
}

std::string SseTokenExpired() {
  return Chunk("event: error\ndata:{\"status\":401,\"error\":\"token expired\"}\n\n", /*last=*/true);
}

std::string SseKeepAlive(LiveRead& live) {
  std::string events;
  ControlEvent(events, live, live.offset, /*up_to_date=*/true, /*closed=*/false);
  return Chunk(events, false);
}

}  // namespace dsx::session::server
