#include "session/server/session_routes.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

#include "session/live/compactor.hpp"
#include "session/live/live_cursor.hpp"
#include "session/model/json_input.hpp"
#include "session/model/offset.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/live_sse_session.hpp"
#include "session/server/query_text.hpp"
#include "session/server/websocket_session.hpp"

namespace dsx::session::server {
namespace {

using auth::Right;
using nlohmann::json;
constexpr std::string_view kPrefix = "/v1/session/";
constexpr std::string_view kStreams = "/v1/stream/";

struct Target {
  std::string path;
  std::map<std::string, std::string> query;  // last value wins
  std::string Get(const std::string& k, const std::string& fallback = "") const {
    auto it = query.find(k);
    return it == query.end() ? fallback : it->second;
  }
};

Target Split(std::string_view t) {
  Target out;
  const auto q = t.find('?');
  out.path = std::string(t.substr(0, q));
  if (q == std::string_view::npos) return out;
  std::string_view rest = t.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = part.find('=');
    // The same decoding as the body gate and the log redaction (query_text.hpp).
    out.query[DecodeQueryComponent(part.substr(0, eq))] =
        eq == std::string_view::npos ? "" : DecodeQueryComponent(part.substr(eq + 1));
  }
  return out;
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 1024 || id.front() == '/' || id.back() == '/') return false;
  std::size_t start = 0;
  while (start <= id.size()) {
    const auto slash = id.find('/', start);
    std::string_view seg = id.substr(start, slash == std::string_view::npos ? id.npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char c : seg) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

std::string HeaderValue(const Request& req, http::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string() : std::string(it->value());
}

std::string HeaderValue(const Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  return it == req.end() ? std::string() : std::string(it->value());
}

RouteOutcome Respond(Response res) {
  RouteOutcome o;
  o.kind = RouteOutcome::Kind::kResponse;
  o.response = std::move(res);
  return o;
}

// True when the token holds any right on session `id`: every session endpoint needs one.
bool AnyRight(const auth::Principal& who, const std::string& id) {
  for (Right r : {Right::kRead, Right::kAppend, Right::kRun, Right::kCancelOwn, Right::kCancelAny, Right::kSteer,
                  Right::kPresence, Right::kAdmin})
    if (who.Allows(id, r)) return true;
  return false;
}

// The rights some event type needs (docs/protocol/sessions.md section 7); `cancel_any` and
// `admin` imply one of them. A token with none of them cannot post any event.
bool MayPostEvents(const auth::Principal& who, const std::string& id) {
  for (Right r : {Right::kAppend, Right::kRun, Right::kCancelOwn, Right::kSteer}) {
    if (who.Allows(id, r)) return true;
  }
  return false;
}

// A JSON error answer. The reason may quote client bytes (a path, an id, a query value) and a
// JSON body must be UTF-8: invalid sequences become U+FFFD (a strict dump would throw).
RouteOutcome Fail(const Request& req, int status, const std::string& why) {
  const std::string quoted = json(why).dump(-1, ' ', false, json::error_handler_t::replace);
  return Respond(JsonError(req, status, json::parse(quoted).get<std::string>()));
}

RouteOutcome FromHub(const Request& req, const live::HubReply& r) {
  return Respond(
      JsonResponse(req, r.status, r.status == 204 ? "" : r.body.dump(-1, ' ', false, json::error_handler_t::replace)));
}

// Parses ?offset= (and Last-Event-ID, which wins) into a position; `now` needs the tail.
bool ResolveOffset(const std::string& text, const StreamHandle& stream, live::SessionHub& hub, std::uint64_t* out) {
  auto p = ParseOffset(text.empty() ? "-1" : text);
  if (!p) return false;
  if (p->kind == OffsetParam::Kind::kStart) {
    *out = 0;
  } else if (p->kind == OffsetParam::Kind::kAt) {
    *out = p->position;
  } else {
    *out = hub.service().ReadFrom(stream, 0).reply.info.tail;
  }
  return true;
}

struct Handler {
  std::shared_ptr<const SessionRoutesConfig> cfg;

  bool operator()(Request& req, RouteDone& done) const {
    Target t = Split(std::string_view(req.target().data(), req.target().size()));
    const http::verb method = req.method();
    if (method == http::verb::options || t.path == "/health") return false;  // open: preflight, health
    AuthResult a = Authenticate(cfg->key, req, t.Get("access_token"));
    if (a.status != 200) {
      done(Fail(req, a.status, a.error));
      return true;
    }
    const auth::Principal& who = a.principal;
    if (t.path.rfind(kStreams, 0) == 0) {
      // Raw Durable Streams: reads need `read`; writes skip stamping, so they are `admin`.
      const std::string id = t.path.substr(kStreams.size());
      const bool read = method == http::verb::get || method == http::verb::head;
      const Right need = read ? Right::kRead : Right::kAdmin;
      if (!who.Allows(id, need)) {
        done(Fail(req, 403, who.Lacks(id, need) + (read ? "" : " (raw stream writes need admin)")));
        return true;
      }
      return false;
    }
    if (t.path.rfind(kPrefix, 0) != 0) {
      // /metrics, and streams the router serves outside /v1/stream/ (any path is a stream to
      // it): they belong to no session id a right could name, so default deny — only a token
      // with admin on every session ('*') reaches them.
      if (!who.Allows("*", Right::kAdmin)) {
        done(Fail(req, 403, who.Lacks("*", Right::kAdmin) + " (paths outside /v1/stream/ and /v1/session/)"));
        return true;
      }
      return false;
    }
    SessionTarget st;
    if (!ParseSessionPath(t.path, &st)) {
      done(Fail(req, 400, "invalid session path '" + t.path + "'"));
      return true;
    }
    // On a shared store the session's stream is brought up to date first, once the token is known
    // to hold some right on this session (each endpoint checks its exact right in Session): a
    // request with none is refused without a store round trip.
    if (!cfg->hub->service().Shared() || !AnyRight(who, st.id)) {
      Session(req, t, st, who, done);
      return true;
    }
    auto held = std::make_shared<Request>(std::move(req));
    SyncThen(cfg->hub->service(), live::StreamPathFor(st.id), *held, done,
             [self = *this, held, t, st, who](RouteDone d) { self.Session(*held, t, st, who, d); });
    return true;
  }

  void Session(Request& req, const Target& t, const SessionTarget& st, const auth::Principal& who,
               RouteDone& done) const {
    live::SessionHub& hub = *cfg->hub;
    const http::verb m = req.method();
    auto shared_req = std::make_shared<Request>(std::move(req));
    auto reply_async = [shared_req, done](live::HubReply r) { done(FromHub(*shared_req, r)); };
    const Request& rq = *shared_req;
    auto deny = [&](Right r) {
      if (who.Allows(st.id, r)) return false;
      done(Fail(rq, 403, who.Lacks(st.id, r)));
      return true;
    };

    if (st.endpoint.empty()) {
      if (m == http::verb::put) {
        if (!who.Allows(st.id, Right::kAppend) && !who.Allows(st.id, Right::kRun)) {
          return done(Fail(rq, 403, who.Lacks(st.id, Right::kAppend)));
        }
        return hub.Create(st.id, reply_async);
      }
      if (m == http::verb::get) {
        if (deny(Right::kRead)) return;
        return done(FromHub(rq, hub.Info(st.id)));
      }
      return done(Fail(rq, 405, "method not allowed: PUT or GET"));
    }
    if (st.endpoint == "events" && m == http::verb::post) {
      // The exact right depends on each event's type (the hub checks it); a token with no right
      // that lets it post any event is refused before its body is parsed.
      if (!MayPostEvents(who, st.id)) {
        return done(Fail(rq, 403, who.Lacks(st.id, Right::kAppend) + " (or any right to post events)"));
      }
      auto body = ParseClientJson(rq.body());
      if (!body.ok()) return done(Fail(rq, 400, "invalid event body: " + body.status().message()));
      std::optional<ProducerArgs> producer;
      const std::string pid = HeaderValue(rq, "Producer-Id"), pep = HeaderValue(rq, "Producer-Epoch"),
                        pseq = HeaderValue(rq, "Producer-Seq");
      if (!pid.empty() || !pep.empty() || !pseq.empty()) {
        auto e = ParseDigits(pep);
        auto q = ParseDigits(pseq);
        if (pid.empty() || !e || !q) {
          return done(Fail(rq, 400, "Producer-Id, Producer-Epoch and Producer-Seq go together"));
        }
        producer = ProducerArgs{pid, *e, *q};
      }
      return hub.Submit(st.id, who, *body, std::move(producer), reply_async);
    }
    if (st.endpoint == "heartbeat" && m == http::verb::post) {
      if (deny(Right::kRun)) return;  // before the body is parsed
      std::string state;
      if (!rq.body().empty()) {
        auto body = ParseClientJson(rq.body());
        if (!body.ok()) return done(Fail(rq, 400, "invalid heartbeat body: " + body.status().message()));
        JsonFields f(*body, "heartbeat body");
        state = f.String("state", "");
        if (!f.ok()) return done(Fail(rq, 400, f.error()));
      }
      return done(FromHub(rq, hub.Heartbeat(st.id, who, st.run, state)));
    }
    if (st.endpoint == "presence") {
      if (m == http::verb::get) {
        if (deny(Right::kRead)) return;
        live::HubReply r;
        r.body = {{"members", hub.PresenceList(st.id)}};
        return done(FromHub(rq, r));
      }
      if (m == http::verb::post) {
        if (deny(Right::kPresence)) return;
        auto body = ParseClientJson(rq.body().empty() ? "{}" : rq.body());
        if (!body.ok()) return done(Fail(rq, 400, "invalid presence body: " + body.status().message()));
        JsonFields f(*body, "presence body");
        const std::string kind = f.String("kind", "client");
        const std::string state = f.String("state", "online");
        (void)f.OptString("device");  // documented; the token's device is what counts
        if (!f.ok()) return done(Fail(rq, 400, f.error()));
        if (kind.size() > live::kMaxNameBytes || state.size() > live::kMaxNameBytes) {
          return done(Fail(rq, 400, "presence kind and state must be at most 200 bytes"));
        }
        hub.PresenceSet(st.id, "post:" + who.sub + "/" + who.device, who, kind, state, hub.options().presence_ttl_ms);
        live::HubReply r;
        r.status = 204;
        return done(FromHub(rq, r));
      }
    }
    if (m != http::verb::get) return done(Fail(rq, 405, "method not allowed"));
    if (deny(Right::kRead)) return;
    live::HubReply err;
    StreamHandle stream = hub.Stream(st.id, &err);
    if (!stream) return done(FromHub(rq, err));
    const live::LaneFilter lanes = live::LaneFilter::Parse(t.Get("lanes"));

    if (st.endpoint == "view") {
      std::uint64_t tail = 0;
      auto view = live::BuildView(hub.service(), stream, lanes, &tail);
      if (!view.ok()) return done(Fail(rq, 503, view.status().message()));
      (*view)["runs"] = hub.Runs(st.id).body.value("runs", json::array());
      live::HubReply r;
      r.body = std::move(*view);
      return done(FromHub(rq, r));
    }
    if (st.endpoint == "ws") {
      if (!boost::beast::websocket::is_upgrade(rq)) {
        return done(Fail(rq, 426, "WebSocket upgrade required"));
      }
      WebSocketParams p;
      p.session = st.id;
      p.stream = stream;
      p.principal = who;
      p.key = cfg->key;
      p.keepalive = cfg->keepalive;
      p.write_timeout = cfg->write_timeout;
      RouteOutcome o;
      o.kind = RouteOutcome::Kind::kTakeover;
      live::SessionHub* hp = &hub;
      o.takeover = [hp, p = std::move(p), shared_req](TcpStream&& s, boost::beast::flat_buffer&&) mutable {
        std::make_shared<WebSocketSession>(std::move(s), *hp, std::move(p))->Run(std::move(*shared_req));
      };
      return done(std::move(o));
    }
    if (st.endpoint != "events") return done(Fail(rq, 404, "no such endpoint"));
    std::string offset_text = t.Get("offset", "-1");
    if (std::string last = HeaderValue(rq, "Last-Event-ID"); !last.empty()) offset_text = last;
    std::uint64_t offset = 0;
    if (!ResolveOffset(offset_text, stream, hub, &offset)) {
      return done(Fail(rq, 400, "invalid offset '" + offset_text + "'"));
    }
    const bool sse =
        t.Get("live") == "sse" || HeaderValue(rq, http::field::accept).find("text/event-stream") != std::string::npos;
    if (sse) {
      LiveSseParams p;
      p.session = st.id;
      p.stream = stream;
      p.offset = offset;
      p.lanes = lanes;
      p.compacted = t.Get("mode") == "compacted" && HeaderValue(rq, "Last-Event-ID").empty();
      p.presence = t.Get("presence") == "1";
      p.principal = who;
      p.keepalive = cfg->keepalive;
      p.write_timeout = cfg->write_timeout;
      RouteOutcome o;
      o.kind = RouteOutcome::Kind::kTakeover;
      live::SessionHub* hp = &hub;
      o.takeover = [hp, p = std::move(p)](TcpStream&& s, boost::beast::flat_buffer&&) mutable {
        std::make_shared<LiveSseSession>(std::move(s), *hp, std::move(p))->Run();
      };
      return done(std::move(o));
    }
    live::LiveCursor cursor(hub.pages(), stream, offset, lanes);
    auto poll = cursor.Next();
    if (poll.status != 200) return done(Fail(rq, poll.status, poll.error));
    json events = json::array();
    for (const auto& e : poll.events()) events.push_back(e.Wire());
    live::HubReply r;
    r.body = {{"events", std::move(events)}, {"offset", FormatOffset(cursor.offset())}, {"up_to_date", !poll.more}};
    done(FromHub(rq, r));
  }
};

}  // namespace

bool ParseSessionPath(std::string_view path, SessionTarget* out) {
  if (path.rfind(kPrefix, 0) != 0) return false;
  std::string_view rest = path.substr(kPrefix.size());
  *out = SessionTarget{};
  auto ends = [&](std::string_view suffix) {
    return rest.size() > suffix.size() && rest.substr(rest.size() - suffix.size()) == suffix;
  };
  for (std::string_view ep : {"events", "view", "presence", "ws"}) {
    const std::string suffix = "/" + std::string(ep);
    if (ends(suffix)) {
      out->endpoint = std::string(ep);
      rest.remove_suffix(suffix.size());
      return ValidId(rest) && (out->id = std::string(rest), true);
    }
  }
  if (ends("/heartbeat")) {
    std::string_view head = rest.substr(0, rest.size() - std::string_view("/heartbeat").size());
    const auto runs = head.rfind("/runs/");
    if (runs == std::string_view::npos) return false;
    out->endpoint = "heartbeat";
    out->run = std::string(head.substr(runs + 6));
    if (out->run.empty() || out->run.find('/') != std::string::npos) return false;
    rest = head.substr(0, runs);
  }
  if (!ValidId(rest)) return false;
  out->id = std::string(rest);
  return true;
}

Intercept MakeSessionIntercept(std::shared_ptr<const SessionRoutesConfig> config) { return Handler{std::move(config)}; }

}  // namespace dsx::session::server
