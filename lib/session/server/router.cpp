// Route: HTTP request -> StreamService call -> HTTP response (Durable Streams protocol).
#include "session/server/router.hpp"
#include "core/clock.hpp"
#include "session/server/ui_routes.hpp"

#include <atomic>
#include <exception>
#include <limits>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "session/model/offset.hpp"
#include "session/model/protocol_values.hpp"
#include "session/live/event.hpp"
#include "session/server/auth_gate.hpp"
#include "session/server/session_routes.hpp"

namespace dsx::session::server {
namespace {

using namespace std::string_literals;

constexpr std::string_view kExposeHeaders =
    "Stream-Next-Offset, Stream-Cursor, Stream-Up-To-Date, Stream-Closed, Stream-TTL, "
    "Stream-Expires-At, Producer-Epoch, Producer-Seq, Producer-Expected-Seq, "
    "Producer-Received-Seq, ETag, Location, Content-Type, stream-sse-data-encoding";
// Internal request field: the verified token's expiry (see SetTokenExpiry in router.hpp).
constexpr std::string_view kTokenExpiryField = "Dsx-Internal-Token-Exp";

constexpr std::string_view kAllowHeaders =
    "Content-Type, Stream-TTL, Stream-Expires-At, Stream-Closed, Stream-Seq, Producer-Id, "
    "Producer-Epoch, Producer-Seq, Stream-Forked-From, Stream-Fork-Offset, "
    "Stream-Fork-Sub-Offset, If-None-Match, Authorization, Cache-Control";

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = FromHex(s[i + 1]);
      const int lo = FromHex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i] == '+' ? ' ' : s[i]);
  }
  return out;
}

struct Query {
  std::vector<std::pair<std::string, std::string>> params;
  int Count(std::string_view key) const {
    int n = 0;
    for (const auto& [k, v] : params) n += k == key;
    return n;
  }
  const std::string* Get(std::string_view key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

void SplitTarget(std::string_view target, std::string* path, Query* query) {
  const auto q = target.find('?');
  *path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    query->params.emplace_back(PercentDecode(part.substr(0, eq)),
                               eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1)));
  }
}

std::optional<std::string_view> Header(const Request& req, std::string_view name) {
  auto it = req.find(boost::beast::string_view(name.data(), name.size()));
  if (it == req.end()) return std::nullopt;
  auto v = it->value();
  return std::string_view(v.data(), v.size());
}

Response Make(const Request& req, http::status status) {
  Response res{status, req.version()};
  res.keep_alive(req.keep_alive());
  AddCommonHeaders(res);
  return res;
}

void SetBody(Response& res, std::string body, std::string_view content_type) {
  res.set(http::field::content_type, boost::beast::string_view(content_type.data(), content_type.size()));
  res.body() = std::move(body);
  res.prepare_payload();
}

void SetNum(Response& res, std::string_view name, std::uint64_t v) {
  res.set(boost::beast::string_view(name.data(), name.size()), std::to_string(v));
}

// Response for a service Reply (PUT/POST/DELETE/HEAD and errors).
Response FromReply(const Request& req, const Reply& r, bool head = false) {
  Response res = Make(req, static_cast<http::status>(r.status));
  if (r.status >= 400) {
    if (r.closed_header) res.set("Stream-Closed", "true");
    if (r.next_offset) res.set("Stream-Next-Offset", FormatOffset(*r.next_offset));
    if (r.producer_epoch) SetNum(res, "Producer-Epoch", *r.producer_epoch);
    if (r.expected_seq) SetNum(res, "Producer-Expected-Seq", *r.expected_seq);
    if (r.received_seq) SetNum(res, "Producer-Received-Seq", *r.received_seq);
    if (head) {
      res.content_length(0);
    } else {
      SetBody(res, r.error + "\n", "text/plain");
    }
    return res;
  }
  if (r.has_info) {
    res.set("Stream-Next-Offset", FormatOffset(r.next_offset.value_or(r.info.tail)));
    if (r.info.closed || r.closed_header) res.set("Stream-Closed", "true");
  } else if (r.next_offset) {
    res.set("Stream-Next-Offset", FormatOffset(*r.next_offset));
  }
  if (r.closed_header) res.set("Stream-Closed", "true");
  if (r.producer_epoch) SetNum(res, "Producer-Epoch", *r.producer_epoch);
  if (r.producer_seq) SetNum(res, "Producer-Seq", *r.producer_seq);
  if (r.status != 204 && r.has_info && !r.info.content_type.empty()) {
    res.set(http::field::content_type, r.info.content_type);
  }
  if (r.status != 204 && !head) res.content_length(0);
  return res;
}

Response BadRequest(const Request& req, const std::string& why) {
  Reply r;
  r.status = 400;
  r.error = why;
  return FromReply(req, r, req.method() == http::verb::head);
}

void HandlePut(StreamService& svc, Request&& req, const std::string& path, RouteDone done) {
  CreateArgs a;
  a.path = path;
  if (auto ct = Header(req, "Content-Type"); ct && !ct->empty()) {
    if (NormalizeContentType(*ct).find('/') != std::string::npos) a.content_type = std::string(*ct);
  }
  auto ttl = Header(req, "Stream-TTL");
  auto exp = Header(req, "Stream-Expires-At");
  if (ttl && exp)
    return done({RouteOutcome::Kind::kResponse, BadRequest(req, "Stream-TTL and Stream-Expires-At are exclusive"), {}});
  if (ttl) {
    a.ttl_seconds = ParseStrictUint(*ttl);
    if (!a.ttl_seconds) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Stream-TTL"), {}});
  }
  if (exp) {
    a.expires_at_ms = ParseRfc3339Ms(*exp);
    if (!a.expires_at_ms)
      return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Stream-Expires-At"), {}});
    a.expires_at = std::string(*exp);
  }
  if (auto c = Header(req, "Stream-Closed")) a.closed = EqualsIgnoreCase(*c, "true");
  auto from = Header(req, "Stream-Forked-From");
  auto off = Header(req, "Stream-Fork-Offset");
  auto sub = Header(req, "Stream-Fork-Sub-Offset");
  if ((off || sub) && !from) {
    return done({RouteOutcome::Kind::kResponse, BadRequest(req, "fork headers need Stream-Forked-From"), {}});
  }
  if (from) {
    std::string_view f = *from;
    if (f.rfind("http://", 0) == 0 || f.rfind("https://", 0) == 0) {
      const auto slash = f.find('/', f.find("//") + 2);
      f = slash == std::string_view::npos ? std::string_view("/") : f.substr(slash);
    }
    if (f.empty() || f.front() != '/') {
      return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Stream-Forked-From"), {}});
    }
    a.fork_from = std::string(f);
    if (off) {
      a.fork_offset = ParseConcreteOffset(*off);
      if (!a.fork_offset)
        return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Stream-Fork-Offset"), {}});
    }
    if (sub) {
      auto v = ParseStrictUint(*sub);
      if (!v) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Stream-Fork-Sub-Offset"), {}});
      a.fork_sub_offset = *v;
    }
  }
  a.body = std::move(req.body());
  std::string location;
  if (auto host = Header(req, "Host")) location = "http://" + std::string(*host) + path;
  auto shared_req = std::make_shared<Request>(std::move(req));
  svc.Create(std::move(a), [shared_req, location, done = std::move(done)](Reply r) {
    Response res = FromReply(*shared_req, r);
    if (r.status == 201 && !location.empty()) res.set(http::field::location, location);
    done({RouteOutcome::Kind::kResponse, std::move(res), {}});
  });
}

void HandlePost(StreamService& svc, Request&& req, const std::string& path, RouteDone done) {
  AppendArgs a;
  a.path = path;
  auto pid = Header(req, "Producer-Id");
  auto pep = Header(req, "Producer-Epoch");
  auto pseq = Header(req, "Producer-Seq");
  if (pid || pep || pseq) {
    if (!pid || !pep || !pseq || pid->empty()) {
      return done({RouteOutcome::Kind::kResponse,
                   BadRequest(req, "Producer-Id, Producer-Epoch and Producer-Seq go together"),
                   {}});
    }
    auto e = ParseDigits(*pep);
    auto q = ParseDigits(*pseq);
    if (!e || !q)
      return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid Producer-Epoch or Producer-Seq"), {}});
    a.producer = ProducerArgs{std::string(*pid), *e, *q};
  }
  if (auto c = Header(req, "Stream-Closed")) a.close = EqualsIgnoreCase(*c, "true");
  if (auto ct = Header(req, "Content-Type"); ct && !ct->empty()) a.content_type = std::string(*ct);
  if (auto seq = Header(req, "Stream-Seq")) a.stream_seq = std::string(*seq);
  a.body = std::move(req.body());
  auto shared_req = std::make_shared<Request>(std::move(req));
  shared_req->body().clear();
  svc.Append(std::move(a), [shared_req, done = std::move(done)](Reply r) {
    done({RouteOutcome::Kind::kResponse, FromReply(*shared_req, r), {}});
  });
}

std::string ETagFor(std::uint64_t from, const ReadReply& rr) {
  return "\"" + FormatOffset(from) + ":" + FormatOffset(rr.next) + (rr.closed_at_end ? ":c\"" : "\"");
}

void SetReadHeaders(Response& res, const ReadReply& rr) {
  res.set(http::field::content_type, rr.reply.info.content_type);
  res.set("Stream-Next-Offset", FormatOffset(rr.next));
  if (rr.up_to_date) res.set("Stream-Up-To-Date", "true");
  if (rr.closed_at_end) res.set("Stream-Closed", "true");
}

void HandleGet(StreamService& svc, const Request& req, const std::string& path, const Query& q, RouteDone done) {
  const std::string* live_mode = q.Get("live");
  const int offsets = q.Count("offset");
  if (offsets > 1) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "more than one offset"), {}});
  OffsetParam offset;
  if (offsets == 1) {
    auto parsed = ParseOffset(*q.Get("offset"));
    if (!parsed) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid offset"), {}});
    offset = *parsed;
  }
  bool long_poll = false, sse = false;
  if (live_mode) {
    long_poll = *live_mode == "long-poll";
    sse = *live_mode == "sse";
    if (!long_poll && !sse) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid live mode"), {}});
    if (offsets == 0) return done({RouteOutcome::Kind::kResponse, BadRequest(req, "live reads need an offset"), {}});
  }
  ReadReply rr = svc.Read(path, offset);
  if (rr.reply.status != 200) return done({RouteOutcome::Kind::kResponse, FromReply(req, rr.reply), {}});

  if (long_poll || sse) {
    LiveRead live;
    live.stream = rr.stream;
    live.offset = offset.kind == OffsetParam::Kind::kNow  ? rr.next
                  : offset.kind == OffsetParam::Kind::kAt ? offset.position
                                                          : 0;
    if (const std::string* c = q.Get("cursor")) live.cursor = ParseDigits(*c);
    live.content_type = rr.reply.info.content_type;
    live.json = rr.json;
    live.base64 = SseNeedsBase64(live.content_type);
    live.version = req.version();
    live.keep_alive = req.keep_alive();
    live.token_exp_s = TokenExpiry(req);
    if (sse) return done({RouteOutcome::Kind::kSse, {}, std::move(live)});
    if (rr.messages > 0 || rr.closed_at_end) {
      // Data (or EOF) now: answer at once, from this read.
      Response res = Make(req, rr.messages > 0 ? http::status::ok : http::status::no_content);
      SetReadHeaders(res, rr);
      if (!rr.closed_at_end) SetNum(res, "Stream-Cursor", NextCursor(NowMs(), live.cursor));
      res.set(http::field::cache_control, "no-store");
      if (rr.messages > 0) {
        res.body() = std::move(rr.body);
        res.prepare_payload();
      }
      return done({RouteOutcome::Kind::kResponse, std::move(res), {}});
    }
    live.offset = rr.next;
    return done({RouteOutcome::Kind::kLongPoll, {}, std::move(live)});
  }

  Response res = Make(req, http::status::ok);
  SetReadHeaders(res, rr);
  if (offset.kind == OffsetParam::Kind::kNow) {
    res.set(http::field::cache_control, "no-store");
  } else {
    const std::string etag = ETagFor(offset.kind == OffsetParam::Kind::kAt ? offset.position : 0, rr);
    if (auto inm = Header(req, "If-None-Match"); inm && *inm == etag) {
      Response nm = Make(req, http::status::not_modified);
      nm.set(http::field::etag, etag);
      SetReadHeaders(nm, rr);
      return done({RouteOutcome::Kind::kResponse, std::move(nm), {}});
    }
    res.set(http::field::etag, etag);
    res.set(http::field::cache_control, rr.up_to_date ? "no-cache" : "public, max-age=60, stale-while-revalidate=300");
  }
  res.body() = std::move(rr.body);
  res.prepare_payload();
  done({RouteOutcome::Kind::kResponse, std::move(res), {}});
}

Response HeadResponse(StreamService& svc, const Request& req, const std::string& path) {
  Reply r = svc.Head(path);
  if (r.status != 200) return FromReply(req, r, /*head=*/true);
  Response res = Make(req, http::status::ok);
  res.set(http::field::content_type, r.info.content_type);
  res.set("Stream-Next-Offset", FormatOffset(r.info.tail));
  if (r.info.closed) res.set("Stream-Closed", "true");
  if (r.info.ttl_seconds) SetNum(res, "Stream-TTL", *r.info.ttl_seconds);
  if (r.info.expires_at) res.set("Stream-Expires-At", *r.info.expires_at);
  res.set(http::field::cache_control, "no-store");
  res.content_length(0);
  return res;
}

}  // namespace

void AddCommonHeaders(Response& res) {
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Cross-Origin-Resource-Policy", "cross-origin");
  res.set(http::field::access_control_allow_origin, "*");
  res.set(http::field::access_control_expose_headers,
          boost::beast::string_view(kExposeHeaders.data(), kExposeHeaders.size()));
}

Response ErrorResponse(const Request& req, http::status status, const std::string& why) {
  Reply r;
  r.status = static_cast<int>(status);
  r.error = why;
  Response res = FromReply(req, r, req.method() == http::verb::head);
  return res;
}

void SetTokenExpiry(Request& req, std::int64_t exp_s) {
  const boost::beast::string_view name(kTokenExpiryField.data(), kTokenExpiryField.size());
  if (exp_s > 0) {
    req.set(name, std::to_string(exp_s));
  } else {
    req.erase(name);
  }
}

std::int64_t TokenExpiry(const Request& req) {
  auto v = Header(req, kTokenExpiryField);
  if (!v) return 0;
  auto d = ParseDigits(*v);
  if (!d || *d > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return 0;
  return static_cast<std::int64_t>(*d);
}

std::optional<std::chrono::steady_clock::time_point> TokenDeadline(std::int64_t exp_s,
                                                                   std::chrono::system_clock::time_point system_now,
                                                                   std::chrono::steady_clock::time_point steady_now) {
  using std::chrono::milliseconds;
  if (exp_s <= 0) return std::nullopt;
  const std::int64_t now_ms = std::chrono::duration_cast<milliseconds>(system_now.time_since_epoch()).count();
  constexpr std::int64_t kFarS = 366LL * 24 * 3600;  // no connection lives that long: no timer
  if (exp_s > now_ms / 1000 + kFarS) return std::nullopt;
  return steady_now + milliseconds(exp_s * 1000 - now_ms);  // in the past when already expired
}

Response TokenExpiredResponse(const LiveRead& live) {
  Request dummy;
  dummy.version(live.version);
  dummy.keep_alive(live.keep_alive);
  return JsonError(dummy, 401, "token expired");
}

namespace {

// The stream a stream-route request touches, for StreamService::Sync on a shared store; nothing
// on a store of its own, and for the rest (UI, health, metrics). The session routes sync their
// session's stream themselves, after their rights check (session_routes.cpp).
std::optional<std::string> StreamToSync(StreamService& svc, const Request& req) {
  if (!svc.Shared()) return std::nullopt;
  const std::string_view target(req.target().data(), req.target().size());
  if (!target.starts_with("/v1/stream/")) return std::nullopt;
  std::string path;
  Query q;
  SplitTarget(target, &path, &q);
  // An append to a raw stream this server holds skips the round trip: the store refuses an
  // append decided on a stale view (version check), and the refusals a stale view can get
  // wrong are decided again after a fetch (stream_append.cpp).
  if (req.method() == http::verb::post && svc.Holds(path)) return std::nullopt;
  return path;
}

void RouteStreams(StreamService& svc, const RouterOptions& options, Request&& req, RouteDone done);

void RouteUnguarded(StreamService& svc, const RouterOptions& options, Request&& req, RouteDone done) {
  if (ServeUi(req, done)) return;  // /ui/: public web UI files, before auth (ui_routes.hpp)
  // Only the auth gate may say how long the token lasts: drop what a client sent.
  req.erase(boost::beast::string_view(kTokenExpiryField.data(), kTokenExpiryField.size()));
  if (options.intercept && options.intercept(req, done)) return;  // auth + /v1/session/ (session_routes)
  // Admitted to the stream routes (by the gate, or no gate): on a shared store, the stream first.
  if (std::optional<std::string> sync = StreamToSync(svc, req)) {
    auto held = std::make_shared<Request>(std::move(req));
    return SyncThen(svc, *sync, *held, std::move(done), [&svc, &options, held](RouteDone d) {
      RouteStreams(svc, options, std::move(*held), std::move(d));
    });
  }
  RouteStreams(svc, options, std::move(req), std::move(done));
}

void RouteStreams(StreamService& svc, const RouterOptions& options, Request&& req, RouteDone done) {
  std::string path;
  Query q;
  SplitTarget(std::string_view(req.target().data(), req.target().size()), &path, &q);
  if (path.empty() || path.front() != '/') {
    return done({RouteOutcome::Kind::kResponse, BadRequest(req, "invalid request target"), {}});
  }
  const http::verb method = req.method();
  if (method == http::verb::options) {
    Response res = Make(req, http::status::no_content);
    res.set(http::field::access_control_allow_methods, "GET, POST, PUT, DELETE, HEAD, OPTIONS");
    res.set(http::field::access_control_allow_headers,
            boost::beast::string_view(kAllowHeaders.data(), kAllowHeaders.size()));
    res.set(http::field::access_control_max_age, "86400");
    return done({RouteOutcome::Kind::kResponse, std::move(res), {}});
  }
  if (path == "/health" && (method == http::verb::get || method == http::verb::head)) {
    // Unhealthy while a shared store is unreachable: a load balancer moves clients to a server
    // that can see the other servers' writes.
    const Status store = svc.StoreHealth();
    Response res = Make(req, store.ok() ? http::status::ok : http::status::service_unavailable);
    res.set(http::field::cache_control, "no-store");
    SetBody(res, store.ok() ? std::string("ok\n") : "store unreachable: " + store.message() + "\n", "text/plain");
    return done({RouteOutcome::Kind::kResponse, std::move(res), {}});
  }
  if (path == "/metrics" && method == http::verb::get && options.metrics_text) {
    Response res = Make(req, http::status::ok);
    res.set(http::field::cache_control, "no-store");
    SetBody(res, options.metrics_text(), "text/plain; version=0.0.4");
    return done({RouteOutcome::Kind::kResponse, std::move(res), {}});
  }
  switch (method) {
    case http::verb::put: return HandlePut(svc, std::move(req), path, std::move(done));
    case http::verb::post: return HandlePost(svc, std::move(req), path, std::move(done));
    case http::verb::get: return HandleGet(svc, req, path, q, std::move(done));
    case http::verb::head: return done({RouteOutcome::Kind::kResponse, HeadResponse(svc, req, path), {}});
    case http::verb::delete_: {
      auto shared_req = std::make_shared<Request>(std::move(req));
      return svc.Delete(path, [shared_req, done = std::move(done)](Reply r) {
        done({RouteOutcome::Kind::kResponse, FromReply(*shared_req, r), {}});
      });
    }
    default: {
      Response res = ErrorResponse(req, http::status::method_not_allowed, "method not allowed");
      res.set(http::field::allow, "GET, POST, PUT, DELETE, HEAD, OPTIONS");
      return done({RouteOutcome::Kind::kResponse, std::move(res), {}});
    }
  }
}

// `done` at most once, whoever calls first: the handler, or Route's catch after a throw.
struct Answer {
  std::atomic<bool> given{false};
  RouteDone done;
};

}  // namespace

namespace {

// Routes with the last line of defence (issue 11): an exception out of any handler (the session
// routes, the UI, the stream routes; std::bad_alloc included) becomes a 500 and a log line,
// never std::terminate. Handlers validate their input first; this is for the bugs left.
void RouteGuarded(StreamService& svc, const RouterOptions& options, Request&& req, std::shared_ptr<Answer> answer) {
  const unsigned version = req.version();
  const http::verb method = req.method();
  const std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));  // the query may hold a token: not logged
  auto fail = [&](const char* why) noexcept {
    try {
      log::Error("request failed", {{"method", std::string(http::to_string(method))}, {"path", path}, {"why", why}});
      if (answer->given.exchange(true)) return;  // already answered: the throw came later
      Request dummy;
      dummy.version(version);
      dummy.keep_alive(false);
      answer->done({RouteOutcome::Kind::kResponse,
                    ErrorResponse(dummy, http::status::internal_server_error, "internal error"),
                    {}});
    } catch (...) {
      // Out of memory even for the 500: the connection ends without an answer.
    }
  };
  try {
    RouteUnguarded(svc, options, std::move(req), [answer](RouteOutcome o) {
      if (!answer->given.exchange(true)) answer->done(std::move(o));
    });
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("unknown exception");
  }
}

}  // namespace

void Route(StreamService& svc, const RouterOptions& options, Request&& req, RouteDone done) {
  auto answer = std::make_shared<Answer>();
  answer->done = std::move(done);
  RouteGuarded(svc, options, std::move(req), std::move(answer));
}

void SyncThen(StreamService& svc, const std::string& stream, const Request& req, RouteDone done,
              std::function<void(RouteDone)> next) {
  if (!svc.Shared()) return next(std::move(done));
  const unsigned version = req.version();
  const http::verb method = req.method();
  const std::string_view target(req.target().data(), req.target().size());
  std::string path(target.substr(0, target.find('?')));  // the query may hold a token: not logged
  svc.Sync(stream, [version, method, path = std::move(path), done = std::move(done), next = std::move(next)]() mutable {
    // On the store's thread nothing above would catch a throw (std::terminate). `done` answers
    // at most once, so a handler that answered before it threw is left as it is.
    auto fail = [&](const char* why) noexcept {
      try {
        log::Error("request failed", {{"method", std::string(http::to_string(method))}, {"path", path}, {"why", why}});
        Request dummy;
        dummy.version(version);
        dummy.keep_alive(false);
        done({RouteOutcome::Kind::kResponse, ErrorResponse(dummy, http::status::internal_server_error, "internal error"),
              {}});
      } catch (...) {
      }
    };
    try {
      next(done);
    } catch (const std::exception& e) {
      fail(e.what());
    } catch (...) {
      fail("unknown exception");
    }
  });
}

Response LongPollResponse(StreamService& svc, LiveRead& live, bool timed_out) {
  (void)timed_out;
  ReadReply rr = svc.ReadFrom(live.stream, live.offset);
  Request dummy;
  dummy.version(live.version);
  dummy.keep_alive(live.keep_alive);
  if (rr.reply.status != 200) return FromReply(dummy, rr.reply);
  Response res = Make(dummy, rr.messages > 0 ? http::status::ok : http::status::no_content);
  SetReadHeaders(res, rr);
  if (rr.messages == 0) res.set("Stream-Up-To-Date", "true");
  if (!rr.closed_at_end) SetNum(res, "Stream-Cursor", NextCursor(NowMs(), live.cursor));
  res.set(http::field::cache_control, "no-store");
  if (rr.messages > 0) {
    res.body() = std::move(rr.body);
    res.prepare_payload();
  } else {
    res.erase(http::field::content_type);
  }
  return res;
}

}  // namespace dsx::session::server
