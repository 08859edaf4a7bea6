#include "audit/probe/fetch.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "net/curl_transport.hpp"

namespace dsx::audit::probe {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A limit in whole milliseconds, at least 1 (0 would mean "the transport's default").
long Ms(double seconds) { return std::max(1L, std::lround(seconds * 1000)); }

void TakeHead(const net::HttpResponse& head, HttpResponse* out) {
  out->status = head.status;
  out->headers.clear();
  for (const auto& [k, v] : head.headers) out->headers.emplace_back(Lower(k), v);
}

}  // namespace

const char* HttpOutcomeName(HttpOutcome o) {
  switch (o) {
    case HttpOutcome::kComplete: return "complete";
    case HttpOutcome::kAborted:
    case HttpOutcome::kCancelled: return "dropped";
    case HttpOutcome::kConnectFailed: return "connect failed";
    case HttpOutcome::kTimeoutConnect: return "connect timed out";
    case HttpOutcome::kTimeoutFirstByte: return "no response in time";
    case HttpOutcome::kTimeoutIdle: return "stream stalled";
    case HttpOutcome::kTimeoutTotal: return "read time limit reached";
    case HttpOutcome::kError: return "transfer error";
  }
  return "transfer error";
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

HttpResponse Fetch(net::Transport& transport, const RequestSpec& request, const HttpLimits& limits,
                   const BodyFn& on_body, const std::atomic<bool>* abort) {
  net::HttpRequest req;
  req.method = request.method;
  req.url = request.url;
  req.headers = request.headers;
  req.body = request.body;
  req.connect_timeout_ms = Ms(limits.connect_s);
  req.first_byte_timeout_ms = Ms(limits.first_byte_s);
  req.idle_timeout_ms = Ms(limits.idle_s);
  req.timeout_ms = Ms(limits.total_s);
  req.cancel = abort;

  HttpResponse response;
  net::StreamHandler handler;
  handler.on_headers = [&](const net::HttpResponse& head) {
    TakeHead(head, &response);
    return true;
  };
  handler.on_body = [&](std::string_view chunk) {
    response.body.append(chunk);
    return !on_body || on_body(chunk, response);
  };
  net::Exchange ex = transport.Stream(req, handler);
  if (ex.response.status > 0) TakeHead(ex.response, &response);
  response.outcome = ex.outcome == net::Outcome::kCancelled ? net::Outcome::kAborted : ex.outcome;
  if (response.outcome != HttpOutcome::kComplete && response.outcome != HttpOutcome::kAborted)
    response.error = ex.error.message();
  response.first_byte_s = ex.first_byte_ms / 1000;
  response.elapsed_s = ex.elapsed_ms / 1000;
  return response;
}

HttpResponse Fetch(const RequestSpec& request, const HttpLimits& limits, const BodyFn& on_body,
                   const std::atomic<bool>* abort) {
  net::CurlTransport::Options options;
  options.user_agent = "dsx-audit-probe/1";
  net::CurlTransport transport(options);
  return Fetch(transport, request, limits, on_body, abort);
}

}  // namespace dsx::audit::probe
