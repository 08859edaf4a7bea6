// Query strings as the auth gate reads them: split at the first '?', parameters at '&', key
// and value at the first '=', each percent-decoded ('+' is a space; a '%' not followed by two
// hex digits stays as it is); the last value of a key wins. This is the decoding the session
// routes apply to `access_token` (session_routes.cpp), so what authenticates and what is
// redacted from logs are the same parameter.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dsx::session::server {

std::string DecodeQueryComponent(std::string_view text);

// The decoded value of the last parameter whose decoded key is `key`; nullopt if none.
std::optional<std::string> QueryValue(std::string_view target, std::string_view key);

// The request target for a log line: the value of every parameter whose *decoded* key is
// access_token (`access_token`, `access%5Ftoken`, `%61ccess_token`, …) becomes REDACTED;
// the rest is kept as sent.
std::string RedactTarget(std::string_view target);

}  // namespace dsx::session::server
