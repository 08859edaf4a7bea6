// The session event envelope on the server's side (docs/protocol/sessions.md, sections 1-3):
// drafts from clients, server stamping, and reading events back with their offsets. The format
// both sides share (names, limits, ids, stored bytes) is session/wire/event.hpp.
//
// Stored form: one JSON message per event in the session's JSON stream, written by the hub as
// StoredBytes (nlohmann dump, compact, keys sorted) and kept as written by the stream, without
// `offset`. Wire form: the stored object plus "offset" (the stream position after the event).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "session/model/stream_service.hpp"
#include "session/wire/event.hpp"

namespace dsx::session::live {

using nlohmann::json;

using wire::kDefaultLane;
using wire::kMaxDraftBytes;
using wire::kMaxNameBytes;
using wire::kServerSub;
using wire::RandomId;
using wire::StoredBytes;

// "/v1/stream/<id>": the stream that holds session <id>'s log.
std::string StreamPathFor(std::string_view session_id);

// Who an event is from: stamped by the server from the verified principal.
struct From {
  std::string sub;
  std::string device;  // "" when the token has none
  json ToJson() const;
};

// A stored event and its offset (position after it in the stream).
struct LogEvent {
  std::uint64_t offset = 0;
  json body;  // ts, from, type, [id, run, msg, lane], data

  const std::string& type() const;
  std::string Str(const char* field) const;  // "" when absent or not a string
  json Wire() const;                         // body + "offset"
};

// Validate a client draft: an object with a string `type`, optional string `id`, `run`,
// `msg`, `lane`, object `data`; `offset`, `ts`, `from` are dropped; anything else is refused.
// The data fields the server reads are typed too: `run.start`'s `data.takeover` must be a
// boolean and `data.lease_ms` an integer (session_state.cpp reads them).
// Returns the normalized draft (data defaults to {}). Errors are kFailed (HTTP 400).
Result<json> NormalizeDraft(const json& draft);

// Adds ts and from (replacing any). The result is what gets stored.
json Stamp(json draft, const From& from, std::int64_t ts_ms);

// One page of a session's log from `from`, with each event's offset.
struct EventPage {
  int status = 200;  // 200, or 404 / 503 (then `error`)
  std::string error;
  std::vector<LogEvent> events;
  std::uint64_t next = 0;   // resume offset after this page
  bool up_to_date = false;  // reached the durable tail
  bool closed = false;      // the stream is closed and this is its end
};
EventPage ReadEvents(StreamService& service, const StreamHandle& stream, std::uint64_t from);

// Readers' lane filter: empty = everything; otherwise events whose `lane` is listed, plus
// events that have no lane.
struct LaneFilter {
  std::vector<std::string> lanes;
  static LaneFilter Parse(std::string_view comma_list);
  bool Accepts(const json& body) const;
};

// Slow-reader conflation: consecutive msg.append events of the same message (same run, msg,
// lane) become one whose text is the concatenation and whose offset is the last one's.
// Lossless: the text a reader assembles is unchanged.
void MergeFragments(std::vector<LogEvent>& events);

}  // namespace dsx::session::live
