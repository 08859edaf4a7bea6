#include "session/live/compactor.hpp"
#include "session/live/progress_events.hpp"
#include "session/model/json_input.hpp"

#include "session/model/offset.hpp"

namespace dsx::session::live {
namespace {

std::string Key(const std::string& run, const std::string& msg) { return run + '\n' + msg; }

const std::string* TextField(const json& j) {
  auto d = j.find("data");
  if (d == j.end() || !d->is_object()) return nullptr;
  auto t = d->find("text");
  return t != d->end() && t->is_string() ? &t->get_ref<const std::string&>() : nullptr;
}

}  // namespace

void Compactor::Add(const LogEvent& e) {
  offset_ = e.offset;
  const std::string& type = e.type();
  if (IsProgressEventType(type)) return AddProgressEvent(e);
  if (type == "msg.start" || type == "msg.append" || type == "msg.end") {
    const std::string run = e.Str("run");
    const std::string msg = e.Str("msg");
    const std::string key = Key(run, msg);
    auto it = messages_.find(key);
    if (it == messages_.end()) {
      // The first event of a message (normally msg.start) opens its item.
      json item = {{"type", "msg"}, {"msg", msg}, {"offset", FormatOffset(e.offset)}};
      for (const char* f : {"run", "lane", "from", "ts"}) {
        if (e.body.contains(f)) item[f] = e.body[f];
      }
      json data = json::object();
      if (type == "msg.start") {
        if (auto d = e.body.find("data"); d != e.body.end() && d->is_object()) data = *d;
      }
      data["text"] = "";
      data["state"] = "streaming";
      item["data"] = std::move(data);
      Message m;
      m.slot = items_.size();
      m.run = run;
      items_.push_back(std::move(item));
      it = messages_.emplace(key, m).first;
      open_[run].push_back(key);
    }
    json& item = items_[it->second.slot];
    item["offset"] = FormatOffset(e.offset);
    if (type == "msg.append" && it->second.state == "streaming") {
      if (const std::string* t = TextField(e.body)) item["data"]["text"].get_ref<std::string&>() += *t;
    } else if (type == "msg.end" && it->second.state == "streaming") {
      it->second.state = "done";
      item["data"]["state"] = "done";
    }
    return;
  }
  if (type == "run.end") {
    // Messages left open by the run: done if the run finished normally, else aborted.
    const std::string run = e.Str("run");
    std::string reason;
    if (auto d = e.body.find("data"); d != e.body.end() && d->is_object()) reason = StringOr(*d, "reason", "");
    auto o = open_.find(run);
    if (o != open_.end()) {
      for (const std::string& key : o->second) {
        Message& m = messages_[key];
        if (m.state != "streaming") continue;
        m.state = reason == "done" ? "done" : "aborted";
        items_[m.slot]["data"]["state"] = m.state;
      }
      open_.erase(o);
    }
  }
  json item = e.body;
  item["offset"] = FormatOffset(e.offset);
  items_.push_back(std::move(item));
}

std::vector<json> Compactor::Items() const { return items_; }

void Compactor::AddProgressEvent(const LogEvent& e) {
  // The server checked the shape when the event was posted (CheckProgressData), but a raw admin
  // write may hold anything: skip what does not check out rather than fold it.
  auto d = e.body.find("data");
  if (d == e.body.end() || !CheckProgressData(e.type(), *d).ok()) return;
  const json& data = *d;
  const json run = e.body.contains("run") ? e.body["run"] : json(nullptr);
  const json ts = e.body.contains("ts") ? e.body["ts"] : json(nullptr);
  auto str = [&data](const char* k) { return StringOr(data, k, ""); };
  auto remember = [](std::vector<std::string>& order, std::map<std::string, json>& latest, const std::string& key,
                     json item) {
    if (!latest.count(key)) order.push_back(key);
    latest[key] = std::move(item);
  };
  if (e.type() == "progress") {
    remember(progress_keys_, progress_, str("key"),
             json{{"key", str("key")},
                  {"label", str("label")},
                  {"done", data["done"]},
                  {"total", data.contains("total") ? data["total"] : json(nullptr)},
                  {"unit", str("unit")},
                  {"run", run},
                  {"ts", ts}});
  } else if (e.type() == "table") {
    remember(table_keys_, tables_, str("key"),
             json{{"key", str("key")},
                  {"title", str("title")},
                  {"columns", data["columns"]},
                  {"rows", data["rows"]},
                  {"run", run},
                  {"ts", ts}});
  } else {
    const std::string name = str("name");
    auto it = metrics_.find(name);
    if (it == metrics_.end()) {
      metric_names_.push_back(name);
      it = metrics_.emplace(name, json::array()).first;
    }
    json& points = it->second;
    points.push_back(json::array({data["step"], data["value"]}));
    if (points.size() > kMaxMetricPoints) {
      json thinned = json::array();
      for (std::size_t i = 0; i + 1 < points.size(); i += 2) thinned.push_back(std::move(points[i]));
      thinned.push_back(std::move(points.back()));  // never the newest
      points = std::move(thinned);
    }
  }
}

json Compactor::Progress() const {
  json out = json::array();
  for (const auto& k : progress_keys_) out.push_back(progress_.at(k));
  return out;
}

json Compactor::Metrics() const {
  json out = json::object();
  for (const auto& n : metric_names_) out[n] = metrics_.at(n);
  return out;
}

json Compactor::Tables() const {
  json out = json::array();
  for (const auto& k : table_keys_) out.push_back(tables_.at(k));
  return out;
}

void TextAssembler::AddItem(const json& item) {
  if (StringOr(item, "type", "") != "msg") return;
  if (const std::string* t = TextField(item)) texts_[StringOr(item, "msg", "")] = *t;
}

void TextAssembler::AddEvent(const json& e) {
  const std::string type = StringOr(e, "type", "");
  if (type == "msg.start") {
    texts_.emplace(StringOr(e, "msg", ""), "");
  } else if (type == "msg.append") {
    if (const std::string* t = TextField(e)) texts_[StringOr(e, "msg", "")] += *t;
  }
}

std::string TextAssembler::Text(const std::string& msg) const {
  auto it = texts_.find(msg);
  return it == texts_.end() ? std::string() : it->second;
}

Result<json> BuildView(StreamService& service, const StreamHandle& stream, const LaneFilter& lanes,
                       std::uint64_t* tail) {
  Compactor c;
  std::uint64_t from = 0;
  for (;;) {
    EventPage page = ReadEvents(service, stream, from);
    if (page.status == 404) return Status::NotFound(page.error);
    if (page.status != 200) return Status::Unavailable(page.error);
    for (const LogEvent& e : page.events) {
      if (lanes.Accepts(e.body)) c.Add(e);
    }
    from = page.next;
    if (page.up_to_date || page.events.empty()) break;
  }
  *tail = from;
  return json{{"items", c.Items()},
              {"offset", FormatOffset(from)},
              {"progress", c.Progress()},
              {"metrics", c.Metrics()},
              {"tables", c.Tables()}};
}

}  // namespace dsx::session::live
