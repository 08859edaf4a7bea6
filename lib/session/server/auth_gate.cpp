#include "session/server/auth_gate.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "session/server/query_text.hpp"
#include "session/server/session_routes.hpp"

namespace dsx::session::server {
namespace {

constexpr std::string_view kStreams = "/v1/stream/";
constexpr std::string_view kSessions = "/v1/session/";
constexpr std::string_view kLlmProxy = "/llm/";

bool AnyRight(const auth::Principal& who, std::string_view id) {
  for (auth::Right r : {auth::Right::kRead, auth::Right::kAppend, auth::Right::kRun, auth::Right::kCancelOwn,
                        auth::Right::kCancelAny, auth::Right::kSteer, auth::Right::kPresence, auth::Right::kAdmin}) {
    if (who.Allows(id, r)) return true;
  }
  return false;
}

}  // namespace

AuthResult Authenticate(const auth::TokenKey* key, Request& req, std::string_view access_token) {
  AuthResult r = VerifyBearer(key, req, access_token);
  if (r.status == 200 && key) SetTokenExpiry(req, r.principal.exp_s);
  return r;
}

AuthResult VerifyBearer(const auth::TokenKey* key, const http::request_header<>& req, std::string_view access_token) {
  AuthResult r;
  if (!key) {
    r.principal = auth::Principal::Open();
    return r;
  }
  std::string_view token;
  auto it = req.find(http::field::authorization);
  if (it != req.end()) {
    std::string_view v(it->value().data(), it->value().size());
    if (v.size() < 7 || (v.substr(0, 7) != "Bearer " && v.substr(0, 7) != "bearer ")) {
      r.status = 401;
      r.error = "authorization is not a bearer token";
      return r;
    }
    token = v.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  } else {
    token = access_token;
  }
  if (token.empty()) {
    r.status = 401;
    r.error = "no token: send 'Authorization: Bearer <token>' (mint one with dsx session token)";
    return r;
  }
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto p = key->Verify(token, now);
  if (!p.ok()) {
    r.status = 401;
    r.error = p.status().message();
    return r;
  }
  r.principal = std::move(p).value();
  return r;
}

BodyGate CheckBeforeBody(const auth::TokenKey* key, const http::request_header<>& head) {
  BodyGate g;
  const std::string_view target(head.target().data(), head.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  g.session_route = path.rfind(kSessions, 0) == 0;
  if (!key) return g;
  // As the routes: preflight and /health are open; /ui is served before the gate (ui_routes).
  const std::string_view ui_path = target.substr(0, target.find_first_of("?#"));
  if (head.method() == http::verb::options || path == "/health" || ui_path == "/ui" || ui_path.rfind("/ui/", 0) == 0) {
    g.open_path = true;
    return g;
  }
  const std::optional<std::string> query_token = QueryValue(target, "access_token");
  if (path.rfind(kLlmProxy, 0) == 0) {
    // The LLM proxy (lib/llm/proxy, wired by the app): Authorization belongs to the upstream, so
    // the dsx token rides in X-Dsx-Token (or ?access_token=), and the session in X-Dsx-Session
    // (absent: the proxy creates one, so only the token is checked here). The proxy checks the
    // exact right (run) itself before it parses the body.
    auto it = head.find("X-Dsx-Token");
    std::string token = it != head.end() ? std::string(it->value().data(), it->value().size())
                                         : query_token.value_or(std::string());
    if (token.empty()) {
      g.status = 401;
      g.error = "no dsx token: send 'X-Dsx-Token: <token>' (Authorization goes to the upstream)";
      return g;
    }
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto p = key->Verify(token, now);
    if (!p.ok()) {
      g.status = 401;
      g.error = p.status().message();
      return g;
    }
    auto sid = head.find("X-Dsx-Session");
    if (sid != head.end()) {
      const std::string id(sid->value().data(), sid->value().size());
      if (!AnyRight(*p, id)) {
        g.status = 403;
        g.error = "token for '" + p->sub + "' has no right on '" + id + "'";
      }
    }
    return g;
  }
  AuthResult a = VerifyBearer(key, head, query_token ? *query_token : std::string());
  if (a.status != 200) {
    g.status = a.status;
    g.error = std::move(a.error);
    return g;
  }
  std::string id = "*";  // paths outside /v1/stream/ and /v1/session/: admin on '*' (the route)
  if (path.rfind(kStreams, 0) == 0) {
    id = std::string(path.substr(kStreams.size()));
  } else if (g.session_route) {
    SessionTarget st;
    if (!ParseSessionPath(path, &st)) return g;  // the route answers 400 (body limit: session)
    id = st.id;
  }
  if (!AnyRight(a.principal, id)) {
    g.status = 403;
    g.error = "token for '" + a.principal.sub + "' has no right on '" + id + "'";
  }
  return g;
}

Response JsonResponse(const Request& req, int status, const std::string& body) {
  Response res{static_cast<http::status>(status), req.version()};
  res.keep_alive(req.keep_alive());
  AddCommonHeaders(res);
  res.set(http::field::cache_control, "no-store");
  if (status != 204) {
    res.set(http::field::content_type, "application/json");
    res.body() = body;
    res.body().push_back('\n');
  }
  res.prepare_payload();
  return res;
}

Response JsonError(const Request& req, int status, const std::string& why) {
  // `why` may quote client bytes (paths, ids, offsets): invalid UTF-8 becomes U+FFFD instead of
  // making the strict dump throw (issue 11).
  Response res = JsonResponse(req, status,
                              nlohmann::json{{"error", why}, {"status", status}}.dump(
                                  -1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (status == 401) {
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  return res;
}

}  // namespace dsx::session::server
