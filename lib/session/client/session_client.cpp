#include "session/client/session_client.hpp"

#include <algorithm>

#include "net/http_status.hpp"
#include "net/sse_parser.hpp"
#include "session/client/server_list.hpp"
#include "session/client/stream_ref.hpp"

namespace dsx::session::client {

std::string Answer::Error() const {
  if (body.is_object() && body.contains("error") && body["error"].is_string()) return body["error"].get<std::string>();
  return "HTTP " + std::to_string(status);
}

Status Answer::Refusal(const std::string& what) const {
  Status s = net::StatusFromHttp(status, what + ": " + Error());
  return s.ok() ? Status::Failed(what + ": unexpected HTTP " + std::to_string(status)) : s;
}

SessionClient::SessionClient(net::Transport& transport, std::string server, std::string session, std::string token,
                             Clock& clock)
    : transport_(transport), clock_(clock), session_(std::move(session)), token_(std::move(token)) {
  auto list = ParseServerList(server);
  if (list.ok() && !list->empty()) {
    servers_ = std::move(list).value();
  } else {
    if (server.empty()) server = kDefaultServer;
    while (!server.empty() && server.back() == '/') server.pop_back();
    servers_.push_back(std::move(server));
  }
}

std::string SessionClient::Url(const std::string& suffix) const {
  return servers_[active_] + "/v1/session/" + EncodePath(session_) + suffix;
}

net::HttpRequest SessionClient::NextServer(const net::HttpRequest& req) {
  const std::string& from = servers_[active_];
  active_ = (active_ + 1) % servers_.size();
  net::HttpRequest out = req;
  if (out.url.compare(0, from.size(), from) == 0) out.url = servers_[active_] + out.url.substr(from.size());
  return out;
}

net::HttpRequest SessionClient::Request(std::string method, const std::string& suffix) const {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = Url(suffix);
  req.timeout_ms = 30000;
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  return req;
}

Result<Answer> SessionClient::Exchange(const net::HttpRequest& request, bool idempotent) {
  net::HttpRequest req = request;
  net::Exchange ex = transport_.Send(req);
  for (std::size_t tried = 1; servers_.size() > 1; ++tried) {
    const int st = ex.ok() ? ex.response.status : 0;
    const bool outage = !ex.ok() || st == 502 || st == 503 || st == 504;
    if (!outage) break;
    const std::string failed_on = servers_[active_];
    const bool resend = tried < servers_.size() && (idempotent || ex.ok() || !ex.maybe_delivered);
    req = NextServer(req);  // the next request goes to the next server in any case
    if (!resend) {
      if (!ex.ok()) return net::StatusFromFailedExchange(ex, failed_on);
      break;
    }
    ex = transport_.Send(req);
  }
  if (!ex.ok()) return net::StatusFromFailedExchange(ex, servers_[active_]);
  Answer a;
  a.status = ex.response.status;
  if (!ex.response.body.empty()) a.body = json::parse(ex.response.body, nullptr, false);
  if (a.body.is_discarded()) a.body = json();
  return a;
}

Result<Answer> SessionClient::Create() { return Exchange(Request("PUT", "")); }
Result<Answer> SessionClient::Info() { return Exchange(Request("GET", "")); }
Result<Answer> SessionClient::Presence() { return Exchange(Request("GET", "/presence")); }

Result<Answer> SessionClient::Events(const std::string& offset) {
  net::HttpRequest req = Request("GET", "/events?offset=" + EncodeQueryValue(offset));
  req.timeout_ms = 10000;
  return Exchange(req);
}

Result<Answer> SessionClient::Post(const json& draft, Producer* producer, long retry_for_ms) {
  net::HttpRequest req = Request("POST", "/events");
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = draft.dump(-1, ' ', false, json::error_handler_t::replace);
  if (producer) {
    req.headers.emplace_back("Producer-Id", producer->id);
    req.headers.emplace_back("Producer-Epoch", std::to_string(producer->epoch));
    req.headers.emplace_back("Producer-Seq", std::to_string(producer->seq));
  }
  const std::int64_t deadline = clock_.SteadyMs() + retry_for_ms;
  long delay = 100;
  for (;;) {
    req.url = Url("/events");  // the current server: an outage may have moved the client on
    auto a = Exchange(req, /*idempotent=*/producer != nullptr);
    // Retry only what is safe: with a producer anything transient (the server dedups the
    // seq); without one only requests that never reached the server.
    const bool transient = !a.ok() || a->status == 502 || a->status == 503 || a->status == 504;
    if (!transient || !producer || clock_.SteadyMs() + delay > deadline) {
      // Only an accepted write (or the 204 of a retry that had landed) uses the seq up: a
      // refusal (400/403/409: the run was cancelled, a stale writer...) stored nothing, and
      // skipping its seq would make the next write a "producer sequence gap".
      if (a.ok() && producer && a->status >= 200 && a->status < 300) ++producer->seq;
      return a;
    }
    clock_.SleepMs(delay);
    delay = std::min<long>(delay * 2, 2000);
  }
}

Result<Answer> SessionClient::Heartbeat(const std::string& run, const std::string& state) {
  net::HttpRequest req = Request("POST", "/runs/" + EncodePath(run) + "/heartbeat");
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
  std::size_t first_failures = 0;  // before the first answer: each server is tried once
  while (!done && !(stop && stop())) {
    std::string query = "?live=sse&offset=" + EncodeQueryValue(offset);
    if (compacted && first) query += "&mode=compacted";
    if (!lanes.empty()) query += "&lanes=" + EncodeQueryValue(lanes);
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
          fatal = net::StatusFromHttp(st, j.value("error", st == 404 ? "session gone" : "refused"));
          done = true;
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
      if (!parser.Feed(chunk)) {  // a hostile endless event: do not buffer it, do not retry it
        fatal = Status::Failed(parser.OverflowMessage());
        done = true;
      }
      return !done && !(stop && stop());
    };
    net::Exchange ex = transport_.Stream(req, handler);
    if (!fatal.ok()) return fatal;
    if (done || (stop && stop())) return Status::Ok();
    if (ex.ok() && status != 0 && status != 200 && status < 500) {
      const std::string why = "HTTP " + std::to_string(status);
      if (status == 404) return net::StatusFromHttp(status, "no session '" + session_ + "'");
      if (status == 401 || status == 403) return net::StatusFromHttp(status, "refused (" + why + ")");
      return net::StatusFromHttp(status, why);
    }
    if (ok_head) {
      first = false;
      outage_start = 0;
    }
    // No answer, a broken connection (a node killed mid-stream) or a 5xx: the next node.
    const bool outage = !ex.ok() || (!ok_head && status >= 500);
    const std::string failed_on = servers_[active_];
    if (outage && servers_.size() > 1) active_ = (active_ + 1) % servers_.size();  // resume on the next
    if (first && !ok_head && !ex.ok()) {
      if (++first_failures < servers_.size()) continue;
      return net::StatusFromFailedExchange(ex, failed_on);
    }
    if (outage_start == 0) outage_start = clock_.SteadyMs();
    if (retry_for_ms > 0 && clock_.SteadyMs() - outage_start > retry_for_ms) {
      return Status::Unavailable("connection lost for more than " + std::to_string(retry_for_ms / 1000) + " s");
    }
    if (!last_id.empty()) first = false;
    clock_.SleepMs(300);
  }
  return Status::Ok();
}

}  // namespace dsx::session::client
