// SessionClient: the /v1/session/ endpoints from the client side (used by `dsx session run`,
// `cancel`, `steer`, `who`). Speaks through a net::Transport (libcurl in the CLI, scripted in
// tests) and paces its retries by a dsx::Clock (a ManualClock in tests). One per thread, like
// the transport. The token goes out as `Authorization: Bearer` and never appears in messages.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "net/transport.hpp"

namespace dsx::session::client {

using nlohmann::json;

struct Answer {
  int status = 0;  // HTTP status
  json body;       // parsed JSON body (null if none)
  // "error" from the body, or "HTTP <status>".
  std::string Error() const;
  // This answer as a refusal of `what`: "<what>: <Error()>" with net::StatusFromHttp's code
  // (kFailed for a 2xx the caller did not expect). Never OK.
  Status Refusal(const std::string& what) const;
};

struct Producer {
  std::string id;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;  // next seq to send
};

// `server` may list several nodes of one store, separated by commas (server_list.hpp): requests
// go to one of them; a request that gets no answer or 502/503/504 moves the client to the next.
// Idempotent requests (PUT, GET, heartbeat) are then sent once to each other node at once; an
// event POST only when it cannot have been applied (never left, or 502/503/504), and its
// producer retries go to the current node. Follow resumes on the next node after its
// Last-Event-ID. A list that does not parse is taken as one URL (as before lists existed).
class SessionClient {
 public:
  SessionClient(net::Transport& transport, std::string server, std::string session, std::string token,
                Clock& clock = Clock::System());

  // PUT /v1/session/<id>: 201 or 200.
  Result<Answer> Create();
  // GET /v1/session/<id>.
  Result<Answer> Info();
  // POST …/events. With a producer: exactly-once retries (same seq re-sent after transport
  // failures for up to `retry_for_ms`); the seq advances after a 2xx answer only (a refused
  // write stored nothing and leaves its seq free).
  Result<Answer> Post(const json& draft, Producer* producer = nullptr, long retry_for_ms = 0);
  // POST …/runs/<run>/heartbeat.
  Result<Answer> Heartbeat(const std::string& run, const std::string& state);
  // GET …/presence.
  Result<Answer> Presence();
  // GET …/events?offset=<offset>: one catch-up page, {"events":[...],"offset":...}.
  Result<Answer> Events(const std::string& offset);
  // Follows …/events as SSE from `offset` ("-1", "now", an offset), reconnecting (with
  // Last-Event-ID) after drops until `on_event` returns false or `stop()` is true. `on_event`
  // gets each wire event; snapshot items arrive with "type":"snapshot" wrapped as
  // {"type":"snapshot","view":{…}}. Returns OK when stopped by the callback.
  Status Follow(const std::string& offset, bool compacted, const std::string& lanes,
                const std::function<bool(const json&)>& on_event, const std::function<bool()>& stop,
                long retry_for_ms = 0);

  const std::string& session() const { return session_; }
  // On the current server.
  std::string Url(const std::string& suffix) const;
  const std::string& server() const { return servers_[active_]; }

 private:
  net::HttpRequest Request(std::string method, const std::string& suffix) const;
  // `idempotent`: after an outage, send it to each other server at once.
  Result<Answer> Exchange(const net::HttpRequest& req, bool idempotent = true);
  // Moves to the next server; returns `req` re-addressed to it.
  net::HttpRequest NextServer(const net::HttpRequest& req);

  net::Transport& transport_;
  Clock& clock_;
  std::vector<std::string> servers_;
  std::size_t active_ = 0;
  std::string session_;
  std::string token_;
};

}  // namespace dsx::session::client
