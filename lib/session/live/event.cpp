#include "session/live/event.hpp"

#include "session/live/progress_events.hpp"
#include "session/model/json_input.hpp"
#include "session/model/json_mode.hpp"
#include "session/model/offset.hpp"

namespace dsx::session::live {

std::string StreamPathFor(std::string_view session_id) { return "/v1/stream/" + std::string(session_id); }

json From::ToJson() const {
  json j = {{"sub", sub}};
  if (!device.empty()) j["device"] = device;
  return j;
}

const std::string& LogEvent::type() const {
  static const std::string kEmpty;
  auto it = body.find("type");
  return it != body.end() && it->is_string() ? it->get_ref<const std::string&>() : kEmpty;
}

std::string LogEvent::Str(const char* field) const { return wire::StringOr(body, field); }

json LogEvent::Wire() const {
  json j = body.is_object() ? body : json{{"type", "raw"}, {"data", body}};
  j["offset"] = FormatOffset(offset);
  return j;
}

Result<json> NormalizeDraft(const json& draft) {
  if (!draft.is_object()) return Status::Failed("an event must be a JSON object");
  json out = json::object();
  for (auto it = draft.begin(); it != draft.end(); ++it) {
    const std::string& k = it.key();
    if (k == "offset" || k == "ts" || k == "from") continue;  // server-owned: replaced
    if (k == "type" || k == "id" || k == "run" || k == "msg" || k == "lane") {
      if (!it->is_string()) return Status::Failed("event field '" + k + "' must be a string");
      const std::string& v = it->get_ref<const std::string&>();
      if (v.empty() || v.size() > kMaxNameBytes) return Status::Failed("event field '" + k + "' must be 1..200 bytes");
      out[k] = v;
    } else if (k == "data") {
      if (!it->is_object()) return Status::Failed("event field 'data' must be an object");
      out[k] = *it;
    } else {
      return Status::Failed("unknown event field '" + k + "'");
    }
  }
  if (!out.contains("type")) return Status::Failed("event has no 'type'");
  if (!out.contains("data")) out["data"] = json::object();
  if (out["type"] == "run.start") {
    // Read by CheckDraft (session_state.cpp) with typed accessors that throw on a wrong type.
    JsonFields data(out["data"], "event field 'data'", "data.");
    (void)data.Bool("takeover", false);
    (void)data.OptInt("lease_ms");
    if (!data.ok()) return Status::Failed("event " + data.error());
  }
  // Progress, metric and table events are drawn by every viewer: their shape is checked here,
  // so a malformed one is refused (400) and never stored.
  if (const std::string& type = out["type"].get_ref<const std::string&>(); IsProgressEventType(type)) {
    DSX_RETURN_IF_ERROR(CheckProgressData(type, out["data"]));
  }
  return out;
}

json Stamp(json draft, const From& from, std::int64_t ts_ms) {
  draft["ts"] = ts_ms;
  draft["from"] = from.ToJson();
  draft.erase("offset");
  return draft;
}

EventPage ReadEvents(StreamService& service, const StreamHandle& stream, std::uint64_t from) {
  EventPage page;
  ReadReply rr = service.ReadFrom(stream, from);
  if (rr.reply.status != 200) {
    page.status = rr.reply.status;
    page.error = rr.reply.error;
    return page;
  }
  page.next = rr.next;
  page.up_to_date = rr.up_to_date;
  page.closed = rr.closed_at_end;
  if (rr.messages == 0) return page;
  json arr = json::parse(rr.body, nullptr, /*allow_exceptions=*/false);
  if (!arr.is_array()) {
    page.status = 503;
    page.error = "session log is not a JSON stream";
    return page;
  }
  // Each message's end offset, walking back from the end of the page: the last message ends
  // at rr.next, and each message is stored as its bytes in the page (the stream keeps JSON
  // messages as written, json_mode.hpp; events the hub writes are StoredBytes, but a raw write
  // by an admin may have any spacing or key order).
  const auto spans = SplitValidJsonArray(rr.body);
  if (spans.size() != arr.size()) {
    page.status = 503;
    page.error = "session log page does not split into its messages";
    return page;
  }
  page.events.resize(arr.size());
  std::uint64_t end = rr.next;
  for (std::size_t i = arr.size(); i-- > 0;) {
    page.events[i].offset = end;
    end -= spans[i].size();
    page.events[i].body = std::move(arr[i]);
  }
  return page;
}

LaneFilter LaneFilter::Parse(std::string_view list) {
  LaneFilter f;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    if (!item.empty()) f.lanes.emplace_back(item);
  }
  return f;
}

bool LaneFilter::Accepts(const json& body) const {
  if (lanes.empty()) return true;
  auto it = body.find("lane");
  if (it == body.end() || !it->is_string()) return true;
  for (const auto& l : lanes) {
    if (l == it->get_ref<const std::string&>()) return true;
  }
  return false;
}

void MergeFragments(std::vector<LogEvent>& events) {
  if (events.size() < 2) return;
  std::vector<LogEvent> out;
  out.reserve(events.size());
  auto same_message = [](const LogEvent& a, const LogEvent& b) {
    return a.Str("msg") == b.Str("msg") && a.Str("run") == b.Str("run") && a.Str("lane") == b.Str("lane");
  };
  auto text_of = [](const LogEvent& e) -> const json* {
    auto d = e.body.find("data");
    if (d == e.body.end() || !d->is_object()) return nullptr;
    auto t = d->find("text");
    return t != d->end() && t->is_string() ? &*t : nullptr;
  };
  for (auto& e : events) {
    if (!out.empty() && e.type() == "msg.append" && out.back().type() == "msg.append" && same_message(out.back(), e)) {
      const json* a = text_of(out.back());
      const json* b = text_of(e);
      if (a && b) {
        std::string merged = a->get<std::string>() + b->get<std::string>();
        out.back().body["data"]["text"] = std::move(merged);
        out.back().body["ts"] = e.body.value("ts", json());
        out.back().offset = e.offset;
        continue;
      }
    }
    out.push_back(std::move(e));
  }
  events = std::move(out);
}

}  // namespace dsx::session::live
