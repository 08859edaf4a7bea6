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
  int status = 200;         // 200 or 401
  std::string error;        // the 401 reason
  auth::Principal principal;
};

// `key` null: open server, everyone is Principal::Open().
// On success with a key, also records the token's expiry on the request (SetTokenExpiry,
// router.hpp) so that a Durable Streams live read behind this gate ends when the token does.
AuthResult Authenticate(const auth::TokenKey* key, Request& request, std::string_view access_token);

// A JSON error response {"error":…,"status":…}; 401 adds WWW-Authenticate.
Response JsonError(const Request& request, int status, const std::string& why);
// A JSON response with CORS headers.
Response JsonResponse(const Request& request, int status, const std::string& body);

}  // namespace dsx::session::server
