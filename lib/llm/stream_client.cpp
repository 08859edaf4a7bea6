#include "llm/stream_client.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "net/curl_transport.hpp"
#include "net/sse_parser.hpp"

namespace dsx::llm::internal {

std::string Excerpt(const std::string& data) {
  std::string s = data.substr(0, 160);
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return "'" + s + (data.size() > 160 ? "...'" : "'");
}

StreamingClient::StreamingClient(ClientConfig config) : config_(std::move(config)) {
  if (!config_.sleep) {
    config_.sleep = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
  }
}

std::string StreamingClient::Url() const {
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // OPENAI_BASE_URL conventionally ends in "/v1" (the SDKs' form); accept both spellings.
  std::string path = Path();
  if (base.size() >= 3 && base.compare(base.size() - 3, 3, "/v1") == 0 && path.starts_with("/v1/"))
    path = path.substr(3);
  return base + path;
}

net::Exchange StreamingClient::Post(const net::HttpRequest& request, const net::StreamHandler& handler) {
  if (config_.transport) return config_.transport->Stream(request, handler);
  net::CurlTransport transport;  // per call: CurlTransport is one-per-thread, a client need not be
  return transport.Stream(request, handler);
}

namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;

// A limit in seconds as HttpRequest milliseconds (0 here: none, whatever the transport's default).
long LimitMs(long seconds) { return seconds > 0 ? seconds * 1000 : -1; }

bool Retryable(long status) {
  return status == 408 || status == 409 || status == 429 || status == 529 || status >= 500;
}

double Backoff(const RetryPolicy& p, int attempt) {
  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  double d = p.base_delay_s * std::pow(2.0, attempt - 1) * jitter(rng);
  return std::min(d, p.max_delay_s);
}

}  // namespace

Result<ChatReply> StreamingClient::Chat(const ChatRequest& in, const TokenCallback& on_token) {
  ChatRequest request = in;
  if (request.model.empty()) request.model = config_.model;
  const std::string url = Url();
  const std::string body = Body(request);
  const std::string what = std::string(ProviderName(config_.provider)) + " request to '" + url + "'";
  const RetryPolicy& policy = config_.retry;
  net::HttpRequest http;
  http.method = "POST";
  http.url = url;
  http.headers = Headers();
  http.headers.emplace_back("User-Agent", "dsx-llm/1");
  http.body = body;
  http.connect_timeout_ms = LimitMs(config_.http.connect_timeout_s);
  // A model may think for a while before its first byte as well as between tokens.
  http.first_byte_timeout_ms = LimitMs(config_.http.idle_timeout_s);
  http.idle_timeout_ms = LimitMs(config_.http.idle_timeout_s);
  http.timeout_ms = LimitMs(config_.http.total_timeout_s);

  for (int attempt = 1;; ++attempt) {
    ChatReply reply;
    reply.attempts = attempt;
    bool text_seen = false;
    TokenCallback counted = [&](std::string_view piece) {
      text_seen = true;
      if (on_token) on_token(piece);
    };
    auto decoder = NewDecoder();
    Status stream_status;
    net::SseParser parser([&](const SseEvent& ev) {
      if (stream_status.ok()) stream_status = decoder->OnEvent(ev, reply, counted);
    });
    // A server that ignored "stream": true answers with one JSON document; SSE never starts
    // with '{' (every line begins with a field name or ':'), so the first byte tells them apart.
    bool whole_json = false;
    bool sniffed = false;
    std::string raw;
    long status = 0;
    std::string error_body;  // a non-2xx reply's body, capped
    net::StreamHandler handler;
    handler.on_headers = [&](const net::HttpResponse& head) {
      status = head.status;
      return true;
    };
    handler.on_body = [&](std::string_view piece) {
      if (status < 200 || status >= 300) {
        if (error_body.size() < kErrorBodyCap) error_body.append(piece.substr(0, kErrorBodyCap - error_body.size()));
        return true;
      }
      if (!sniffed) {
        size_t i = piece.find_first_not_of(" \t\r\n");
        if (i == std::string_view::npos) return true;  // only whitespace so far: decide later
        sniffed = true;
        whole_json = piece[i] == '{';
      }
      if (whole_json) {
        raw.append(piece);
        return raw.size() < (64u << 20);
      }
      if (!parser.Feed(piece) && stream_status.ok()) stream_status = Status::Failed(parser.OverflowMessage());
      return stream_status.ok();
    };
    net::Exchange posted = Post(http, handler);
    Status failure;
    double wait = -1;
    bool retry = false;
    if (!posted.ok()) {
      // The transport's message names no header, so the key cannot be in it.
      failure = Status::Unavailable("cannot reach '" + url + "': " + posted.error.message()).Wrap(what + " failed");
      retry = !text_seen;
    } else {
      const net::HttpResponse& r = posted.response;
      if (r.status >= 200 && r.status < 300) {
        if (posted.outcome == net::Outcome::kAborted || !stream_status.ok()) {
          failure = Status(stream_status.code(), what + ": " + Scrub(stream_status.message(), config_.api_key));
          retry = stream_status.code() == Code::kUnavailable && !text_seen;
        } else {
          Status end;
          if (whole_json) {
            end = decoder->OnWholeJson(raw, reply, counted);
          } else {
            parser.Finish();  // lenient: some servers close right after the last data line
            end = stream_status.ok() ? decoder->OnEnd(reply) : stream_status;
          }
          if (end.ok()) return reply;
          failure = Status(end.code(), what + ": " + Scrub(end.message(), config_.api_key));
          retry = !text_seen && end.code() == Code::kUnavailable;
        }
      } else {
        std::string msg = Scrub(ErrorMessageFromBody(error_body), config_.api_key);
        std::string head = what + " failed: HTTP " + std::to_string(r.status) + ": " + msg;
        if (r.status == 401 || r.status == 403) {
          return Status::Conflict(head + " (check " + KeyVariable() + ")");
        }
        if (r.status == 404) return Status::NotFound(head + " (check the model name and base URL)");
        if (!Retryable(r.status)) return Status::Failed(head);
        failure = Status::Unavailable(head);
        retry = true;
        if (r.Has("retry-after-ms")) wait = ParseRetryAfter(r.Header("retry-after-ms")) / 1000.0;
        if (wait < 0 && r.Has("retry-after")) wait = ParseRetryAfter(r.Header("retry-after"));
        if (wait > policy.max_delay_s) {
          return Status::Unavailable(head + " (server asks to retry after " + std::to_string(static_cast<long>(wait)) +
                                     " s)");
        }
      }
    }
    if (!retry || attempt >= policy.max_attempts) {
      if (retry) {
        return Status(failure.code(), failure.message() + " (gave up after " + std::to_string(attempt) + " attempts)");
      }
      return failure;
    }
    config_.sleep(wait >= 0 ? wait : Backoff(policy, attempt));
  }
}

}  // namespace dsx::llm::internal
