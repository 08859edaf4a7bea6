#include "session/client/run_control.hpp"

namespace dsx::session::client {
namespace {

using nlohmann::json;

// A field of a server answer that may be absent, or not an object at all.
json Field(const json& body, const char* key, json fallback) {
  if (!body.is_object()) return fallback;
  auto it = body.find(key);
  return it != body.end() && it->type() == fallback.type() ? *it : fallback;
}

std::string Text(const json& body, const char* key) { return Field(body, key, "").get<std::string>(); }

}  // namespace

Result<ControlReport> SendControl(SessionClient& sc, Clock& clock, const ControlRequest& q) {
  const std::string verb = q.steer ? "steer" : "cancel";
  const std::string in_session = "cannot " + verb + " in '" + sc.session() + "'";
  std::vector<std::string> runs;
  if (!q.run.empty()) {
    runs.push_back(q.run);
  } else {
    auto info = sc.Info();
    if (!info.ok()) return info.status().Wrap(in_session);
    if (info->status != 200) return info->Refusal(in_session);
    for (const auto& r : Field(info->body, "runs", json::array())) runs.push_back(Text(r, "run"));
    if (runs.empty()) return Status::NotFound("no active run in '" + sc.session() + "'");
    if (q.steer && runs.size() > 1) {
      return Status::Usage("'" + sc.session() + "' has " + std::to_string(runs.size()) +
                           " active runs: name one (dsx session who)");
    }
  }

  ControlReport report;
  std::string from_offset;
  for (const std::string& r : runs) {
    json draft = {{"type", q.steer ? "control.steer" : "control.cancel"}, {"run", r}};
    if (q.steer) draft["data"] = q.data;
    if (!q.reason.empty()) draft["data"]["reason"] = q.reason;
    auto a = sc.Post(draft);
    if (!a.ok()) return a.status().Wrap("cannot " + verb + " run '" + r + "'");
    ControlOutcome p;
    p.run = r;
    if (a->status != 200) {
      p.outcome = "refused";
      p.reason = a->Error();
      report.status = a->Refusal("cannot " + verb + " run '" + r + "'");  // the last one is reported
    } else {
      const json o = Field(a->body, "outcome", json::object());
      p.id = Text(o, "id");
      p.outcome = Field(o, "outcome", "pending").get<std::string>();
      p.reason = Text(o, "reason");
      const std::string offset = Text(a->body, "offset");
      // Follow from just before our first request's answer: the acks come after it.
      if (from_offset.empty() || offset < from_offset) from_offset = offset;
    }
    report.results.push_back(p);
  }

  auto waiting = [&] {
    for (const auto& p : report.results) {
      if (p.outcome == "pending") return true;
    }
    return false;
  };
  const std::int64_t deadline = clock.SteadyMs() + q.wait_ms;
  std::string offset = from_offset;
  while (waiting() && !offset.empty() && clock.SteadyMs() < deadline) {
    auto page = sc.Events(offset);
    if (page.ok() && page->status == 200 && page->body.is_object()) {
      for (const auto& ev : Field(page->body, "events", json::array())) {
        if (Text(ev, "type") != "control.ack") continue;
        for (auto& p : report.results) {
          if (p.id == Text(ev, "id") && p.outcome == "pending") {
            const json d = Field(ev, "data", json::object());
            p.outcome = Text(d, "outcome");
            p.reason = Text(d, "reason");
          }
        }
      }
      offset = Field(page->body, "offset", offset).get<std::string>();
    }
    if (waiting()) clock.SleepMs(100);
  }

  for (const auto& p : report.results) {
    if (!report.status.ok()) break;
    if (p.outcome == "rejected")
      report.status = Status::Conflict(verb + " of run '" + p.run + "' rejected: " + p.reason);
    if (p.outcome == "pending") {
      report.status = Status::Unavailable("no answer to the " + verb + " of run '" + p.run + "' within " +
                                          std::to_string(static_cast<int>(q.wait_ms / 1000)) + " s (request " + p.id +
                                          " stays pending)");
    }
  }
  return report;
}

}  // namespace dsx::session::client
