#include "session/live/compactor.hpp"
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
  return json{{"items", c.Items()}, {"offset", FormatOffset(from)}};
}

}  // namespace dsx::session::live
