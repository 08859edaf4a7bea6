#include "net/curl_transport.hpp"
#include "net/curl_common.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>

namespace dsx::net {
namespace {

using Steady = std::chrono::steady_clock;

// How long one wait for socket activity may last: the bound on how late a cancel or one of
// our own limits is noticed.
constexpr long kPollMs = 100;

using curl_detail::ConnectFailure;
using curl_detail::Describe;
using curl_detail::GlobalInitOnce;
using curl_detail::Limits;
using curl_detail::MsSince;
using curl_detail::NeverDelivered;
using curl_detail::Pick;
using curl_detail::Trim;

// Per-transfer state shared with the libcurl callbacks.
struct Transfer {
  HttpResponse head;                       // status + headers of the final response
  std::string* body = nullptr;             // buffered mode
  const StreamHandler* handler = nullptr;  // streaming mode
  const std::atomic<bool>* cancel = nullptr;
  Steady::time_point start = Steady::now();
  Steady::time_point last_byte = start;  // or the moment the connection was ready
  double first_byte_ms = 0;
  bool connected = false;
  bool got_status = false;
  bool aborted_by_handler = false;
  bool cancelled = false;

  bool CancelRequested() {
    if (cancel && cancel->load(std::memory_order_relaxed)) cancelled = true;
    return cancelled;
  }
};

int OnConnected(void* user, char*, char*, int, int) {
  auto* t = static_cast<Transfer*>(user);
  t->connected = true;
  t->last_byte = Steady::now();
  return CURL_PREREQFUNC_OK;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_byte = Steady::now();
  if (t->CancelRequested()) return 0;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: interim responses (100 Continue) and their headers are discarded.
    if (!t->got_status) t->first_byte_ms = MsSince(t->start);
    t->got_status = true;
    t->head.headers.clear();
    size_t sp = line.find(' ');
    t->head.status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return n;
  }
  std::string trimmed = Trim(line);
  if (trimmed.empty()) {
    if (t->head.status >= 200 && t->handler && t->handler->on_headers && !t->handler->on_headers(t->head)) {
      t->aborted_by_handler = true;
      return 0;
    }
    return n;
  }
  size_t colon = trimmed.find(':');
  if (colon != std::string::npos) {
    t->head.headers.emplace_back(Trim(std::string_view(trimmed).substr(0, colon)),
                                 Trim(std::string_view(trimmed).substr(colon + 1)));
  }
  return n;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  t->last_byte = Steady::now();
  if (t->body) {
    t->body->append(data, n);  // kept even when cancelled: the caller sees what arrived
    return t->CancelRequested() ? 0 : n;
  }
  if (t->CancelRequested()) return 0;
  if (t->handler && t->handler->on_body && !t->handler->on_body(std::string_view(data, n))) {
    t->aborted_by_handler = true;
    return 0;
  }
  return n;
}

std::string Ms(long ms) { return std::to_string(ms) + " ms"; }

}  // namespace

CaLocations CaLocationsFromEnv(const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : std::getenv(name);
    return v ? std::string(v) : std::string();
  };
  CaLocations ca;
  ca.file = get("CURL_CA_BUNDLE");
  if (ca.file.empty()) ca.file = get("SSL_CERT_FILE");
  ca.dir = get("SSL_CERT_DIR");
  return ca;
}

struct CurlTransport::Impl {
  Options options;
  CURLM* multi = nullptr;
  CURL* curl = nullptr;

  Limits LimitsFor(const HttpRequest& r, bool streaming) const {
    long idle_default = options.idle_timeout_ms;
    if (streaming && options.stream_idle_timeout_s > 0) idle_default = options.stream_idle_timeout_s * 1000;
    return Limits{Pick(r.connect_timeout_ms, options.connect_timeout_ms),
                  Pick(r.first_byte_timeout_ms, options.first_byte_timeout_ms), Pick(r.idle_timeout_ms, idle_default),
                  Pick(r.timeout_ms, options.total_timeout_ms)};
  }

  // Which of our own limits has run out, if any (kComplete: none).
  static Outcome Expired(const Transfer& t, const Limits& l, Steady::time_point now, long* next_ms) {
    auto since = [&](Steady::time_point p) {
      return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(now - p).count());
    };
    long wait = kPollMs;
    auto check = [&](long limit, long spent) {
      if (limit <= 0) return false;
      if (spent >= limit) return true;
      wait = std::min(wait, limit - spent);
      return false;
    };
    if (check(l.total_ms, since(t.start))) return Outcome::kTimeoutTotal;
    if (!t.got_status && check(l.first_byte_ms, since(t.start))) return Outcome::kTimeoutFirstByte;
    if (t.connected && check(l.idle_ms, since(t.last_byte)))
      return t.got_status ? Outcome::kTimeoutIdle : Outcome::kTimeoutFirstByte;
    *next_ms = std::max(1L, wait);
    return Outcome::kComplete;
  }

  void SetUp(const HttpRequest& request, Transfer& transfer, const Limits& limits, curl_slist** headers) {
    curl_easy_reset(curl);  // keeps the connection cache (in the multi), drops the previous options
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, limits.connect_ms);
    if (!options.user_agent.empty()) curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str());
    if (!options.ca.file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca.file.c_str());
    if (!options.ca.dir.empty()) curl_easy_setopt(curl, CURLOPT_CAPATH, options.ca.dir.c_str());
    if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.method != "DELETE" || !request.body.empty()) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
    }
    *headers = curl_slist_append(*headers, "Expect:");  // no 100-continue round trip
    if (request.method == "POST" || request.method == "PUT") {
      bool has_ct = false;
      for (const auto& [k, v] : request.headers) has_ct = has_ct || EqualsIgnoreCase(k, "Content-Type");
      // libcurl would add a form content type to a POST without one; send an empty value instead.
      if (!has_ct) *headers = curl_slist_append(*headers, "Content-Type:");
    }
    for (const auto& [k, v] : request.headers) {
      std::string line = k + ": " + v;
      *headers = curl_slist_append(*headers, line.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, *headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, OnConnected);
    curl_easy_setopt(curl, CURLOPT_PREREQDATA, &transfer);
  }

  Exchange Run(const HttpRequest& request, Transfer& transfer, bool streaming) {
    Exchange out;
    transfer.cancel = request.cancel;
    if (transfer.CancelRequested()) {
      out.outcome = Outcome::kCancelled;
      out.error = Status::Interrupted("cancelled");
      return out;
    }
    const Limits limits = LimitsFor(request, streaming);
    curl_slist* headers = nullptr;
    SetUp(request, transfer, limits, &headers);

    Outcome stopped = Outcome::kComplete;  // one of our own limits or a cancel, when not kComplete
    CURLcode rc = CURLE_OK;
    CURLMcode mc = curl_multi_add_handle(multi, curl);
    int running = 0;
    if (mc == CURLM_OK) mc = curl_multi_perform(multi, &running);
    while (mc == CURLM_OK && running > 0) {
      long wait = kPollMs;
      if (transfer.CancelRequested()) {
        stopped = Outcome::kCancelled;
        break;
      }
      stopped = Expired(transfer, limits, Steady::now(), &wait);
      if (stopped != Outcome::kComplete) break;
      mc = curl_multi_poll(multi, nullptr, 0, static_cast<int>(wait), nullptr);
      if (mc == CURLM_OK) mc = curl_multi_perform(multi, &running);
    }
    if (stopped == Outcome::kComplete && mc == CURLM_OK) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg == CURLMSG_DONE && m->easy_handle == curl) rc = m->data.result;
      }
    }
    // Removing an unfinished transfer closes its connection: the next request opens a new one.
    curl_multi_remove_handle(multi, curl);
    curl_slist_free_all(headers);

    out.response = transfer.head;
    out.first_byte_ms = transfer.first_byte_ms;
    out.elapsed_ms = MsSince(transfer.start);
    out.maybe_delivered = true;
    if (mc != CURLM_OK) {
      out.outcome = Outcome::kError;
      out.error = Status::Unavailable(curl_multi_strerror(mc));
    } else if (stopped == Outcome::kCancelled || (rc != CURLE_OK && transfer.cancelled)) {
      out.outcome = Outcome::kCancelled;
      out.error = Status::Interrupted("cancelled");
    } else if (stopped != Outcome::kComplete) {
      out.outcome = stopped;
      if (stopped == Outcome::kTimeoutTotal) {
        out.error = Status::Unavailable("no complete response within " + Ms(limits.total_ms));
      } else if (stopped == Outcome::kTimeoutIdle) {
        out.error = Status::Unavailable("response stalled: no data for " + Ms(limits.idle_ms));
      } else {
        long waited = limits.first_byte_ms > 0 ? limits.first_byte_ms : limits.idle_ms;
        out.error = Status::Unavailable("no response within " + Ms(waited));
      }
    } else if (rc == CURLE_OK) {
      out.outcome = Outcome::kComplete;
    } else if (transfer.aborted_by_handler && rc == CURLE_WRITE_ERROR) {
      out.outcome = Outcome::kAborted;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      // curl enforces only the connect limit; anything else timing out is classified by state.
      out.outcome = !transfer.connected    ? Outcome::kTimeoutConnect
                    : !transfer.got_status ? Outcome::kTimeoutFirstByte
                                           : Outcome::kTimeoutIdle;
      out.error = Status::Unavailable(out.outcome == Outcome::kTimeoutConnect
                                          ? "cannot connect to server within " + Ms(limits.connect_ms)
                                          : Describe(rc));
      out.maybe_delivered = transfer.connected;
    } else {
      out.outcome = ConnectFailure(rc) ? Outcome::kConnectFailed : Outcome::kError;
      out.error = Status::Unavailable(Describe(rc));
      out.maybe_delivered = !NeverDelivered(rc);
    }
    if (out.outcome == Outcome::kTimeoutConnect || out.outcome == Outcome::kCancelled) {
      out.maybe_delivered = transfer.connected;
    }
    return out;
  }
};

CurlTransport::CurlTransport() : CurlTransport(Options{}) {}

CurlTransport::CurlTransport(Options options) : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  if (options.ca.file.empty() && options.ca.dir.empty()) options.ca = CaLocationsFromEnv();
  impl_->options = std::move(options);
  impl_->curl = curl_easy_init();
  impl_->multi = curl_multi_init();
}

CurlTransport::~CurlTransport() {
  if (!impl_) return;
  if (impl_->multi) curl_multi_cleanup(impl_->multi);
  if (impl_->curl) curl_easy_cleanup(impl_->curl);
}

namespace {
Exchange InitFailure() {
  Exchange out;
  out.outcome = Outcome::kError;
  out.error = Status::Failed("cannot initialise libcurl");
  return out;
}
}  // namespace

Exchange CurlTransport::Send(const HttpRequest& request) {
  if (!impl_->curl || !impl_->multi) return InitFailure();
  Transfer transfer;
  std::string body;
  transfer.body = &body;
  Exchange out = impl_->Run(request, transfer, false);
  out.response.body = std::move(body);
  return out;
}

Exchange CurlTransport::Stream(const HttpRequest& request, const StreamHandler& handler) {
  if (!impl_->curl || !impl_->multi) return InitFailure();
  Transfer transfer;
  transfer.handler = &handler;
  return impl_->Run(request, transfer, true);
}

}  // namespace dsx::net
