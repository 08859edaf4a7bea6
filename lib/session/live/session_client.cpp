#include "session/live/session_client.hpp"

#include <chrono>
#include <thread>

#include "net/sse_parser.hpp"
#include "session/client/stream_ref.hpp"

namespace dsx::session::live {
namespace {

std::int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string Answer::Error() const {
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return "HTTP " + std::to_string(status);
}

SessionClient::SessionClient(net::Transport& transport, std::string server, std::string session, std::string token)
    : transport_(transport), server_(std::move(server)), session_(std::move(session)), token_(std::move(token)) {
  if (server_.empty()) server_ = client::kDefaultServer;
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

std::string SessionClient::Url(const std::string& suffix) const {
  return server_ + "/v1/session/" + client::EncodePath(session_) + suffix;
}

net::HttpRequest SessionClient::Request(std::string method, const std::string& suffix) const {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = Url(suffix);
  req.timeout_ms = 30000;
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  return req;
}

Result<Answer> SessionClient::Exchange(const net::HttpRequest& req) {
  net::Exchange ex = transport_.Send(req);
  if (!ex.ok()) return Status::Unavailable(ex.error.message() + " (" + server_ + ")");
  Answer a;
  a.status = ex.response.status;
  if (!ex.response.body.empty()) a.body = json::parse(ex.response.body, nullptr, false);
  if (a.body.is_discarded()) a.body = json();
  return a;
}

Result<Answer> SessionClient::Create() { return Exchange(Request("PUT", "")); }
Result<Answer> SessionClient::Info() { return Exchange(Request("GET", "")); }
Result<Answer> SessionClient::Presence() { return Exchange(Request("GET", "/presence")); }

Result<Answer> SessionClient::Post(const json& draft, Producer* producer, long retry_for_ms) {
  net::HttpRequest req = Request("POST", "/events");
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = draft.dump(-1, ' ', false, json::error_handler_t::replace);
  if (producer) {
    req.headers.emplace_back("Producer-Id", producer->id);
    req.headers.emplace_back("Producer-Epoch", std::to_string(producer->epoch));
    req.headers.emplace_back("Producer-Seq", std::to_string(producer->seq));
  }
  const std::int64_t deadline = SteadyMs() + retry_for_ms;
  long delay = 100;
  for (;;) {
    auto a = Exchange(req);
    // Retry only what is safe: with a producer anything transient (the server dedups the
    // seq); without one only requests that never reached the server.
    const bool transient = !a.ok() || a->status == 502 || a->status == 503 || a->status == 504;
    if (!transient || !producer || SteadyMs() + delay > deadline) {
      // Only an accepted write (or the 204 of a retry that had landed) uses the seq up: a
      // refusal (400/403/409: the run was cancelled, a stale writer...) stored nothing, and
      // skipping its seq would make the next write a "producer sequence gap".
      if (a.ok() && producer && a->status >= 200 && a->status < 300) ++producer->seq;
      return a;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    delay = std::min<long>(delay * 2, 2000);
  }
}

Result<Answer> SessionClient::Heartbeat(const std::string& run, const std::string& state) {
  net::HttpRequest req = Request("POST", "/runs/" + client::EncodePath(run) + "/heartbeat");
  req.timeout_ms = 10000;
  if (!state.empty()) {
    req.headers.emplace_back("Content-Type", "application/json");
    req.body = json{{"state", state}}.dump();
  }
  return Exchange(req);
}

Status SessionClient::Follow(const std::string& offset, bool compacted, const std::string& lanes,
                             const std::function<bool(const json&)>& on_event, const std::function<bool()>& stop,
                             long retry_for_ms) {
  std::string last_id;
  bool first = true;
  bool done = false;
  Status fatal;
  std::int64_t outage_start = 0;
  while (!done && !(stop && stop())) {
    std::string query = "?live=sse&offset=" + client::EncodeQueryValue(offset);
    if (compacted && first) query += "&mode=compacted";
    if (!lanes.empty()) query += "&lanes=" + client::EncodeQueryValue(lanes);
    net::HttpRequest req = Request("GET", "/events" + query);
    req.timeout_ms = 0;
    req.headers.emplace_back("Accept", "text/event-stream");
    if (!last_id.empty()) req.headers.emplace_back("Last-Event-ID", last_id);
    bool ok_head = false;
    net::SseParser parser([&](const net::SseEvent& ev) {
      if (done) return;
      if (!ev.id.empty()) last_id = ev.id;
      json j = json::parse(ev.data, nullptr, false);
      if (j.is_discarded()) return;
      if (ev.type == "snapshot") {
        j = json{{"type", "snapshot"}, {"view", std::move(j)}};
      } else if (ev.type == "error") {
        const int st = j.value("status", 0);
        if (st == 401 || st == 403 || st == 404) {
          fatal = st == 404 ? Status::NotFound(j.value("error", "session gone"))
                            : Status::Conflict(j.value("error", "refused"));
          done = true;
          return;
        }
        return;
      }
      if (!on_event(j)) done = true;
    });
    net::StreamHandler handler;
    int status = 0;
    std::string body_err;
    handler.on_headers = [&](const net::HttpResponse& head) {
      status = head.status;
      ok_head = head.status == 200;
      return ok_head;
    };
    handler.on_body = [&](std::string_view chunk) {
      parser.Feed(chunk);
      return !done && !(stop && stop());
    };
    net::Exchange ex = transport_.Stream(req, handler);
    if (!fatal.ok()) return fatal;
    if (done || (stop && stop())) return Status::Ok();
    if (ex.ok() && status != 0 && status != 200) {
      Answer a;
      a.status = status;
      const std::string why = "HTTP " + std::to_string(status);
      if (status == 404) return Status::NotFound("no session '" + session_ + "'");
      if (status == 401 || status == 403) return Status::Conflict("refused (" + why + ")");
      if (status < 500) return Status::Failed(why);
    }
    if (ok_head) {
      first = false;
      outage_start = 0;
    }
    if (first && !ok_head && !ex.ok()) return Status::Unavailable(ex.error.message() + " (" + server_ + ")");
    if (outage_start == 0) outage_start = SteadyMs();
    if (retry_for_ms > 0 && SteadyMs() - outage_start > retry_for_ms) {
      return Status::Unavailable("connection lost for more than " + std::to_string(retry_for_ms / 1000) + " s");
    }
    if (!last_id.empty()) first = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return Status::Ok();
}

}  // namespace dsx::session::live
