#include "session/server/auth_gate.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

namespace dsx::session::server {

AuthResult Authenticate(const auth::TokenKey* key, Request& req, std::string_view access_token) {
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
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto p = key->Verify(token, now);
  if (!p.ok()) {
    r.status = 401;
    r.error = p.status().message();
    return r;
  }
  r.principal = std::move(p).value();
  SetTokenExpiry(req, r.principal.exp_s);
  return r;
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
  Response res = JsonResponse(req, status, nlohmann::json{{"error", why}, {"status", status}}.dump());
  if (status == 401) {
    res.set(http::field::www_authenticate, "Bearer error=\"invalid_token\"");
  }
  return res;
}

}  // namespace dsx::session::server
