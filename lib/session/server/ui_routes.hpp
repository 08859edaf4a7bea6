// The web UI routes: GET/HEAD /ui/<session> answers the UI page (web/index.html) and
// /ui/<file> the embedded client files (dsx-session.js, app.js, style.css), with content
// types, strong ETags (If-None-Match -> 304) and a strict Content-Security-Policy.
//
// These files are public and hold nothing about any session: the page reads its token from
// the URL fragment (#token=..., never sent to a server or logged) and every data request it
// makes (/v1/session/<id>/ws, .../events, .../view) goes through the auth gate like any other
// client. So the UI is served before the auth gate (router.cpp) and works with auth on.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "session/server/router.hpp"

namespace dsx::session::server {

// The session id the page at /ui/<rest> shows (the same decoding as web/app.js), or nullopt
// when it is not a valid session id (a '.', '..' or empty segment after decoding, control
// characters, a malformed escape): then /ui/<rest> is 400. "" for /ui/ itself.
std::optional<std::string> UiSessionId(std::string_view rest);

// Takes /ui and /ui/...: answers through `done` and returns true. Other paths: false.
bool ServeUi(const Request& request, RouteDone& done);

}  // namespace dsx::session::server
