#include "session/client/stream_client.hpp"

#include <algorithm>
#include <cctype>

#include "net/http_status.hpp"

namespace dsx::session::client {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A short, printable excerpt of an error body for messages.
std::string Excerpt(std::string_view body) {
  std::string out;
  for (unsigned char c : body.substr(0, 200)) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out.push_back(' ');
    } else if (c >= 0x20 && c != 0x7f) {
      out.push_back(static_cast<char>(c));
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string WithBody(std::string what, const net::HttpResponse& r) {
  std::string ex = Excerpt(r.body);
  return ex.empty() ? what : what + " (" + ex + ")";
}

std::string Origin(const std::string& url) {
  size_t scheme = url.find("://");
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return slash == std::string::npos ? url : url.substr(0, slash);
}

StreamInfo InfoFromHeaders(const net::HttpResponse& r) {
  StreamInfo info;
  info.content_type = r.Header("Content-Type");
  info.next_offset = r.Header("Stream-Next-Offset");
  info.closed = net::EqualsIgnoreCase(r.Header("Stream-Closed"), "true");
  info.ttl = r.Header("Stream-TTL");
  info.expires_at = r.Header("Stream-Expires-At");
  return info;
}

}  // namespace

std::string NormalizeContentType(std::string_view content_type) {
  std::string_view s = content_type.substr(0, content_type.find(';'));
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return Lower(s);
}

bool IsJsonContentType(std::string_view content_type) {
  return NormalizeContentType(content_type) == "application/json";
}

namespace {

// The stream endpoints' "why" for a refused request; the code is net::StatusFromHttp's.
std::string RefusalMessage(const net::HttpResponse& r) {
  const int s = r.status;
  if (s == 404) return "stream not found";
  if (s == 410) return "stream was deleted";
  if (s == 409) {
    if (r.Has("Producer-Expected-Seq")) {
      return "producer sequence conflict: server expected seq " + r.Header("Producer-Expected-Seq") + ", got " +
             r.Header("Producer-Received-Seq");
    }
    if (net::EqualsIgnoreCase(r.Header("Stream-Closed"), "true")) return "stream is closed";
    return WithBody("conflict (HTTP 409)", r);
  }
  if (s == 403) {
    if (r.Has("Producer-Epoch")) return "producer fenced: the server has a newer epoch " + r.Header("Producer-Epoch");
    return WithBody("forbidden (HTTP 403)", r);
  }
  if (s == 401) return "unauthorized (HTTP 401): check --token or DSX_TOKEN";
  if (s == 413) return "request body too large for the server (HTTP 413)";
  if (s == 502 || s == 503 || s == 504) return WithBody("server unavailable (HTTP " + std::to_string(s) + ")", r);
  if (s == 400) return WithBody("bad request (HTTP 400)", r);
  return WithBody("unexpected HTTP status " + std::to_string(s), r);
}

}  // namespace

Status StatusFromResponse(const net::HttpResponse& r) {
  // A 2xx that the caller did not expect is still not a success for it.
  if (r.status >= 200 && r.status < 300) return Status::Failed(RefusalMessage(r));
  return net::StatusFromHttp(r.status, RefusalMessage(r));
}

StreamClient::StreamClient(net::Transport& transport, StreamRef ref, std::string token)
    : transport_(transport), token_(std::move(token)) {
  refs_.push_back(std::move(ref));
}

StreamClient::StreamClient(net::Transport& transport, std::vector<StreamRef> refs, std::string token)
    : transport_(transport), refs_(std::move(refs)), token_(std::move(token)) {
  if (refs_.empty()) refs_.push_back(StreamRef{});
}

std::string StreamClient::server() const { return Origin(ref().url); }

template <typename Build, typename RetryOk>
net::Exchange StreamClient::SendOnAny(const Build& build, const RetryOk& retry_ok) {
  net::Exchange ex = transport_.Send(build());
  for (std::size_t tried = 1; tried < refs_.size() && retry_ok(ex); ++tried) {
    UseServer(active_ + 1);
    ex = transport_.Send(build());
  }
  return ex;
}

namespace {

bool Unavailable5xx(const net::Exchange& ex) {
  const int s = ex.response.status;
  return ex.ok() && (s == 502 || s == 503 || s == 504);
}
// Safe to send again to another server for an idempotent request: no answer, or 502/503/504.
bool AnyOutage(const net::Exchange& ex) { return !ex.ok() || Unavailable5xx(ex); }
// For a request that must not be applied twice: it never left, or the server refused it whole.
bool NeverApplied(const net::Exchange& ex) { return (!ex.ok() && !ex.maybe_delivered) || Unavailable5xx(ex); }

}  // namespace

net::HttpRequest StreamClient::MakeRequest(std::string method, const std::string& query) const {
  net::HttpRequest req;
  req.method = std::move(method);
  req.url = ref().url;
  if (!query.empty()) req.url += "?" + query;
  if (!token_.empty()) req.headers.emplace_back("Authorization", "Bearer " + token_);
  return req;
}

Status StreamClient::TransportError(const net::Exchange& exchange) const {
  return net::StatusFromFailedExchange(exchange, Origin(ref().url));
}

Result<StreamInfo> StreamClient::Head() {
  net::Exchange ex = SendOnAny(
      [&] {
        net::HttpRequest req = MakeRequest("HEAD");
        req.timeout_ms = 30000;
        return req;
      },
      AnyOutage);
  if (!ex.ok()) return TransportError(ex);
  if (ex.response.status != 200) return StatusFromResponse(ex.response);
  return InfoFromHeaders(ex.response);
}

Result<CreateResult> StreamClient::Create(const CreateOptions& options) {
  // PUT is idempotent (the same settings again: 200), so any outage may be retried elsewhere.
  net::Exchange ex = SendOnAny(
      [&] {
        net::HttpRequest req = MakeRequest("PUT");
        req.timeout_ms = 30000;
        if (!options.content_type.empty()) req.headers.emplace_back("Content-Type", options.content_type);
        if (options.ttl_seconds) req.headers.emplace_back("Stream-TTL", std::to_string(*options.ttl_seconds));
        if (!options.expires_at.empty()) req.headers.emplace_back("Stream-Expires-At", options.expires_at);
        return req;
      },
      AnyOutage);
  if (!ex.ok()) return TransportError(ex);
  const int s = ex.response.status;
  if (s == 409) {
    return Status::Conflict("stream exists with different settings (content type, TTL or closed state)");
  }
  if (s != 200 && s != 201) return StatusFromResponse(ex.response);
  CreateResult out;
  out.created = (s == 201);
  out.info = InfoFromHeaders(ex.response);
  if (out.info.content_type.empty()) out.info.content_type = options.content_type;
  return out;
}

Status StreamClient::Delete() {
  net::Exchange ex = SendOnAny(
      [&] {
        net::HttpRequest req = MakeRequest("DELETE");
        req.timeout_ms = 30000;
        return req;
      },
      NeverApplied);
  if (!ex.ok()) return TransportError(ex);
  if (ex.response.status != 200 && ex.response.status != 204) return StatusFromResponse(ex.response);
  return Status::Ok();
}

Result<ReadResult> StreamClient::Read(const std::string& offset, ReadMode mode, const std::string& cursor,
                                      long timeout_ms) {
  std::string query = "offset=" + EncodeQueryValue(offset);
  if (mode == ReadMode::kLongPoll) {
    query += "&live=long-poll";
    if (!cursor.empty()) query += "&cursor=" + EncodeQueryValue(cursor);
  }
  net::HttpRequest req = MakeRequest("GET", query);
  req.timeout_ms = timeout_ms;
  net::Exchange ex = transport_.Send(req);
  if (!ex.ok()) return TransportError(ex);
  const net::HttpResponse& r = ex.response;
  // 400 to a read: the server refused the offset (the only input a read carries besides the
  // cursor it handed out itself), e.g. `tail --from garbage`: a usage error (exit 2).
  if (r.status == 400) return Status::Usage("offset '" + offset + "' refused: " + StatusFromResponse(r).message());
  if (r.status != 200 && r.status != 204) return StatusFromResponse(r);
  ReadResult out;
  out.http_status = r.status;
  out.body = r.body;
  out.content_type = r.Header("Content-Type");
  out.next_offset = r.Header("Stream-Next-Offset");
  out.cursor = r.Header("Stream-Cursor");
  out.up_to_date = net::EqualsIgnoreCase(r.Header("Stream-Up-To-Date"), "true");
  out.closed = net::EqualsIgnoreCase(r.Header("Stream-Closed"), "true");
  if (out.next_offset.empty()) return Status::Failed("server response has no Stream-Next-Offset header");
  return out;
}

}  // namespace dsx::session::client
