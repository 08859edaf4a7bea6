// A blocking HTTP POST over libcurl whose response body is streamed to a callback (for SSE).
// Only what the chat clients need: JSON request body, extra headers, status and headers back.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::llm {

struct HttpOptions {
  long connect_timeout_s = 10;  // TCP + TLS handshake
  long idle_timeout_s = 120;    // abort when no byte arrives for this long (models think slowly)
  long total_timeout_s = 0;     // 0: no limit on the whole exchange (a long generation is fine)
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; last value wins
  std::string error_body;                       // body of a non-2xx reply, capped at 64 KiB
};

// Called with each piece of a 2xx body as it arrives; return false to abort the transfer.
using BodySink = std::function<bool(std::string_view)>;

// POST `body` to `url`. Transport failures (DNS, refused, TLS, timeout) are Unavailable with curl's
// reason; HTTP errors are not Status errors here: the caller reads `status`. An abort by `sink`
// returns OK with `aborted` set. `headers` are "Name: value" lines and may hold secrets: they are
// never logged or put in messages.
struct HttpResult {
  HttpResponse response;
  bool aborted = false;
};
Result<HttpResult> HttpPost(const std::string& url, const std::vector<std::string>& headers,
                            const std::string& body, const BodySink& sink,
                            const HttpOptions& options);
// The same with another method ("PUT"); the body is sent as is.
Result<HttpResult> HttpSend(const std::string& method, const std::string& url,
                            const std::vector<std::string>& headers, const std::string& body,
                            const BodySink& sink, const HttpOptions& options);

}  // namespace dsx::llm
