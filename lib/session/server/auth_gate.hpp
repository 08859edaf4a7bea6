// The auth check every request passes when the server has a key (docs/protocol/sessions.md
// §7): the bearer token from `Authorization: Bearer …` (or `access_token=` in the query, for
// browsers' EventSource and WebSocket), verified into a Principal. 401 when there is no valid
// token, with the reason; rights (403) are checked by the caller, which knows the operation.
#pragma once

#include <string>
#include <string_view>

#include "session/auth/jwt.hpp"
#include "session/server/router.hpp"

namespace dsx::session::server {

struct AuthResult {
  int status = 200;   // 200 or 401
  std::string error;  // the 401 reason
  auth::Principal principal;
};

// `key` null: open server, everyone is Principal::Open().
// On success with a key, also records the token's expiry on the request (SetTokenExpiry,
// router.hpp) so that a Durable Streams live read behind this gate ends when the token does.
AuthResult Authenticate(const auth::TokenKey* key, Request& request, std::string_view access_token);

// Authenticate without touching the request: the same checks, on a request head (the body
// may not have been read yet). Used before the body is read (CheckBeforeBody).
AuthResult VerifyBearer(const auth::TokenKey* key, const http::request_header<>& head, std::string_view access_token);

// The gate in front of a request's body (HttpSession reads the head first): with a key, a
// request without a valid token is answered 401, and one whose token has no right at all on
// the target (the session id of /v1/session/<id>/…, the stream of /v1/stream/<id>, '*' for
// any other path) 403, before a byte of its body is read or buffered. Only this coarse
// "some right on the id" is checked here; the exact right per operation is checked by the
// route (session_routes.cpp), which runs the full gate again. Open: OPTIONS, /health, /ui.
struct BodyGate {
  int status = 200;            // 200, 401 or 403
  std::string error;           // the reason, as the full gate words it
  bool session_route = false;  // /v1/session/…: the smaller session body limit applies
  // With auth on: preflight, /health and /ui, which anyone may reach without a token. None of
  // them takes a body, so none is read there (limit 0: 413), or an anonymous client could make
  // the server buffer --max-body-bytes per request after all (issue 11, item 6).
  bool open_path = false;
};
BodyGate CheckBeforeBody(const auth::TokenKey* key, const http::request_header<>& head);

// A JSON error response {"error":…,"status":…}; 401 adds WWW-Authenticate.
Response JsonError(const Request& request, int status, const std::string& why);
// A JSON response with CORS headers.
Response JsonResponse(const Request& request, int status, const std::string& body);

}  // namespace dsx::session::server
