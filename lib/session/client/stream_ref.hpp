// Naming streams: a path like `chat/42` (relative to a server) or a full URL.
//
// `chat/42` with server `http://127.0.0.1:4437` names `http://127.0.0.1:4437/v1/stream/chat/42`;
// `http://host:port/any/path` names itself. Offsets and query values are percent-encoded here
// so the rest of the client never builds URLs by hand.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace dsx::session::client {

inline constexpr const char* kDefaultServer = "http://127.0.0.1:4437";
inline constexpr const char* kStreamPrefix = "/v1/stream/";

struct StreamRef {
  std::string url;   // absolute URL of the stream, no query string
  std::string name;  // what the user typed, for messages ("chat/42" or the URL)
};

// Resolves `name` against `server` (empty: kDefaultServer). Errors (kUsage): empty name, a
// name with a query/fragment, `.`/`..` segments, empty segments, control characters, or a
// server that is not an http(s) URL.
Result<StreamRef> ResolveStream(std::string_view name, std::string_view server);

// The live-session URLs of a stream on a dsx server (docs/protocol/sessions.md, section 4; the
// web page is served at /ui/<session id>): a JSON stream `chat/42` is session `chat/42`.
struct SessionUrls {
  std::string session;  // SERVER/v1/session/<id>: info (runs, presence)
  std::string events;   // SERVER/v1/session/<id>/events: events with offsets, SSE
  std::string view;     // SERVER/v1/session/<id>/view: the compacted view
  std::string web;      // SERVER/ui/<id>: the web page
};

// From a stream URL ".../v1/stream/<id>" (as ResolveStream makes it); nullopt when the URL does
// not name a stream under /v1/stream/ (another server's layout).
std::optional<SessionUrls> SessionUrlsFor(std::string_view stream_url);

// Percent-encodes everything but RFC 3986 unreserved characters (for query values).
std::string EncodeQueryValue(std::string_view value);

// Percent-encodes a path segment list, keeping '/' separators and unreserved characters.
std::string EncodePath(std::string_view path);

// True for `-1`, `now` and `<digits>_<digits>`-style opaque offsets without reserved characters.
// The client accepts any offset the server gave; this checks user input (`--from`).
bool IsValidOffsetArg(std::string_view offset);

}  // namespace dsx::session::client
