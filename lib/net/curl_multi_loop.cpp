#include "net/curl_multi_loop.hpp"
#include "net/curl_common.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace dsx::net {
namespace {

using Steady = std::chrono::steady_clock;

// With nothing in flight only Start() or the destructor can give the loop work, and both wake it.
constexpr int kIdleWaitMs = 60000;
// Easy handles kept for the next transfers (a reset handle costs less than a new one).
constexpr std::size_t kSpareHandles = 64;

using curl_detail::ConnectFailure;
using curl_detail::Describe;
using curl_detail::GlobalInitOnce;
using curl_detail::Limits;
using curl_detail::MsSince;
using curl_detail::NeverDelivered;
using curl_detail::Pick;
using curl_detail::Trim;

std::string Ms(long ms) { return std::to_string(ms) + " ms"; }

// One transfer: what Start() was given and the state its libcurl callbacks keep. Owned by the
// loop thread once taken from the queue.
struct Xfer {
  CurlMultiLoop::Id id = 0;
  HttpRequest request;  // owned: libcurl reads the body and URL from it until the end
  StreamHandler handler;
  CurlMultiLoop::Done done;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Limits limits;
  HttpResponse head;
  Steady::time_point start = Steady::now();
  Steady::time_point last_byte = start;
  double first_byte_ms = 0;
  bool connected = false;
  bool got_status = false;
  bool aborted_by_handler = false;
  bool cancel_asked = false;  // Cancel(id)
  bool cancelled = false;

  bool CancelRequested() {
    if (cancel_asked || (request.cancel && request.cancel->load(std::memory_order_relaxed))) cancelled = true;
    return cancelled;
  }
};

int OnConnected(void* user, char*, char*, int, int) {
  auto* t = static_cast<Xfer*>(user);
  t->connected = true;
  t->last_byte = Steady::now();
  return CURL_PREREQFUNC_OK;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Xfer*>(user);
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
    if (t->head.status >= 200 && t->handler.on_headers && !t->handler.on_headers(t->head)) {
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
  auto* t = static_cast<Xfer*>(user);
  size_t n = size * count;
  t->last_byte = Steady::now();
  if (t->CancelRequested()) return 0;
  if (t->handler.on_body && !t->handler.on_body(std::string_view(data, n))) {
    t->aborted_by_handler = true;
    return 0;
  }
  return n;
}

// Which of the transfer's own limits has run out (kComplete: none); lowers *wait_ms to the time
// left until the nearest one.
Outcome Expired(const Xfer& t, Steady::time_point now, long* wait_ms) {
  auto since = [&](Steady::time_point p) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(now - p).count());
  };
  auto check = [&](long limit, long spent) {
    if (limit <= 0) return false;
    if (spent >= limit) return true;
    *wait_ms = std::min(*wait_ms, limit - spent);
    return false;
  };
  const Limits& l = t.limits;
  if (check(l.total_ms, since(t.start))) return Outcome::kTimeoutTotal;
  if (!t.got_status && check(l.first_byte_ms, since(t.start))) return Outcome::kTimeoutFirstByte;
  if (t.connected && check(l.idle_ms, since(t.last_byte)))
    return t.got_status ? Outcome::kTimeoutIdle : Outcome::kTimeoutFirstByte;
  return Outcome::kComplete;
}

}  // namespace

struct CurlMultiLoop::Impl {
  Options options;
  CURLM* multi = nullptr;
  std::thread thread;

  mutable std::mutex mu;
  std::vector<std::unique_ptr<Xfer>> queued;  // under mu: started, not yet taken by the loop
  std::vector<Id> cancels;                    // under mu: Cancel() of transfers the loop has taken
  bool stop = false;                          // under mu
  Id next_id = 1;                             // under mu
  std::atomic<std::size_t> in_flight{0};

  // Loop thread only.
  std::unordered_map<Id, std::unique_ptr<Xfer>> active;
  std::vector<CURL*> spare;

  ~Impl() {
    for (CURL* c : spare) curl_easy_cleanup(c);
    if (multi) curl_multi_cleanup(multi);
  }

  Limits LimitsFor(const HttpRequest& r) const {
    return Limits{Pick(r.connect_timeout_ms, options.connect_timeout_ms),
                  Pick(r.first_byte_timeout_ms, options.first_byte_timeout_ms),
                  Pick(r.idle_timeout_ms, options.idle_timeout_ms), Pick(r.timeout_ms, options.total_timeout_ms)};
  }

  void SetUp(Xfer& x) {
    CURL* curl = x.easy;
    const HttpRequest& request = x.request;
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PRIVATE, &x);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, x.limits.connect_ms);
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
    x.headers = curl_slist_append(x.headers, "Expect:");  // no 100-continue round trip
    if (request.method == "POST" || request.method == "PUT") {
      bool has_ct = false;
      for (const auto& [k, v] : request.headers) has_ct = has_ct || EqualsIgnoreCase(k, "Content-Type");
      // libcurl would add a form content type to a POST without one; send an empty value instead.
      if (!has_ct) x.headers = curl_slist_append(x.headers, "Content-Type:");
    }
    for (const auto& [k, v] : request.headers) {
      std::string line = k + ": " + v;
      x.headers = curl_slist_append(x.headers, line.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, x.headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_PREREQFUNCTION, OnConnected);
    curl_easy_setopt(curl, CURLOPT_PREREQDATA, &x);
  }

  // Takes a queued transfer into the multi handle (or ends it at once).
  void Begin(std::unique_ptr<Xfer> x) {
    if (x->CancelRequested()) {
      Exchange out;
      out.outcome = Outcome::kCancelled;
      out.error = Status::Interrupted("cancelled");
      return Deliver(std::move(x), std::move(out));
    }
    x->limits = LimitsFor(x->request);
    if (!spare.empty()) {
      x->easy = spare.back();
      spare.pop_back();
    } else {
      x->easy = curl_easy_init();
    }
    if (!x->easy) {
      Exchange out;
      out.outcome = Outcome::kError;
      out.error = Status::Failed("cannot initialise libcurl");
      return Deliver(std::move(x), std::move(out));
    }
    SetUp(*x);
    const CURLMcode mc = curl_multi_add_handle(multi, x->easy);
    if (mc != CURLM_OK) {
      Exchange out;
      out.outcome = Outcome::kError;
      out.error = Status::Unavailable(curl_multi_strerror(mc));
      out.maybe_delivered = false;
      Release(*x);
      return Deliver(std::move(x), std::move(out));
    }
    const Id id = x->id;
    active.emplace(id, std::move(x));
  }

  // Detaches the easy handle. Removing an unfinished transfer closes its connection; a finished
  // one leaves its connection in the pool for the next transfer to that host.
  void Release(Xfer& x) {
    if (!x.easy) return;
    curl_multi_remove_handle(multi, x.easy);
    curl_slist_free_all(x.headers);
    x.headers = nullptr;
    if (spare.size() < kSpareHandles) {
      curl_easy_reset(x.easy);
      spare.push_back(x.easy);
    } else {
      curl_easy_cleanup(x.easy);
    }
    x.easy = nullptr;
  }

  // The Exchange of an ended transfer: `stopped` is kComplete when curl ended it (with `rc`),
  // otherwise one of our limits or a cancel; `multi_error` a failure of the multi handle itself.
  static Exchange MakeExchange(Xfer& x, net::Outcome stopped, CURLcode rc, CURLMcode multi_error) {
    Exchange out;
    const Limits& limits = x.limits;
    out.response = std::move(x.head);
    out.first_byte_ms = x.first_byte_ms;
    out.elapsed_ms = MsSince(x.start);
    out.maybe_delivered = true;
    if (multi_error != CURLM_OK) {
      out.outcome = net::Outcome::kError;
      out.error = Status::Unavailable(curl_multi_strerror(multi_error));
    } else if (stopped == net::Outcome::kCancelled || (rc != CURLE_OK && x.cancelled)) {
      out.outcome = net::Outcome::kCancelled;
      out.error = Status::Interrupted(stopped == net::Outcome::kCancelled && !x.cancelled ? "transport shut down"
                                                                                         : "cancelled");
    } else if (stopped != net::Outcome::kComplete) {
      out.outcome = stopped;
      if (stopped == net::Outcome::kTimeoutTotal) {
        out.error = Status::Unavailable("no complete response within " + Ms(limits.total_ms));
      } else if (stopped == net::Outcome::kTimeoutIdle) {
        out.error = Status::Unavailable("response stalled: no data for " + Ms(limits.idle_ms));
      } else {
        long waited = limits.first_byte_ms > 0 ? limits.first_byte_ms : limits.idle_ms;
        out.error = Status::Unavailable("no response within " + Ms(waited));
      }
    } else if (rc == CURLE_OK) {
      out.outcome = net::Outcome::kComplete;
    } else if (x.aborted_by_handler && rc == CURLE_WRITE_ERROR) {
      out.outcome = net::Outcome::kAborted;
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      // curl enforces only the connect limit; anything else timing out is classified by state.
      out.outcome = !x.connected    ? net::Outcome::kTimeoutConnect
                    : !x.got_status ? net::Outcome::kTimeoutFirstByte
                                    : net::Outcome::kTimeoutIdle;
      out.error = Status::Unavailable(out.outcome == net::Outcome::kTimeoutConnect
                                          ? "cannot connect to server within " + Ms(limits.connect_ms)
                                          : Describe(rc));
    } else {
      out.outcome = ConnectFailure(rc) ? net::Outcome::kConnectFailed : net::Outcome::kError;
      out.error = Status::Unavailable(Describe(rc));
      out.maybe_delivered = !NeverDelivered(rc);
    }
    if (out.outcome == net::Outcome::kTimeoutConnect || out.outcome == net::Outcome::kCancelled) {
      out.maybe_delivered = x.connected;
    }
    return out;
  }

  // Ends an active transfer and runs its done.
  void End(Id id, net::Outcome stopped, CURLcode rc, CURLMcode multi_error = CURLM_OK) {
    auto it = active.find(id);
    if (it == active.end()) return;
    std::unique_ptr<Xfer> x = std::move(it->second);
    active.erase(it);
    Release(*x);
    Exchange out = MakeExchange(*x, stopped, rc, multi_error);
    Deliver(std::move(x), std::move(out));
  }

  void Deliver(std::unique_ptr<Xfer> x, Exchange out) {
    Done done = std::move(x->done);
    x.reset();  // the handler (and what it holds) goes before done runs
    in_flight.fetch_sub(1);
    if (done) done(std::move(out));
  }

  void Loop() {
    std::vector<std::unique_ptr<Xfer>> incoming;
    std::vector<Id> cancel_ids;
    std::vector<std::pair<Id, net::Outcome>> ended;
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (stop) break;
        incoming.swap(queued);
        cancel_ids.swap(cancels);
      }
      for (auto& x : incoming) Begin(std::move(x));
      incoming.clear();
      // After Begin: a Cancel() may name a transfer taken from the queue in this same pass.
      for (Id id : cancel_ids) {
        if (auto it = active.find(id); it != active.end()) it->second->cancel_asked = true;
      }
      cancel_ids.clear();

      int running = 0;
      const CURLMcode mc = curl_multi_perform(multi, &running);
      if (mc != CURLM_OK) {
        // The multi handle itself failed: nothing in it can go on.
        std::vector<Id> all;
        for (const auto& [id, x] : active) all.push_back(id);
        for (Id id : all) End(id, net::Outcome::kComplete, CURLE_OK, mc);
        continue;
      }
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Xfer* x = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&x));
        // End() removes the handle, which invalidates `m`: read it first.
        const CURLcode rc = m->data.result;
        if (x) End(x->id, net::Outcome::kComplete, rc);
      }

      // Cancels and our own limits, and how long the nearest limit lets the poll wait.
      long wait = active.empty() ? kIdleWaitMs : options.max_wait_ms;
      const auto now = Steady::now();
      for (auto& [id, x] : active) {
        if (x->CancelRequested()) {
          ended.emplace_back(id, net::Outcome::kCancelled);
          continue;
        }
        const net::Outcome o = Expired(*x, now, &wait);
        if (o != net::Outcome::kComplete) ended.emplace_back(id, o);
      }
      for (const auto& [id, o] : ended) End(id, o, CURLE_OK);
      if (!ended.empty()) {
        ended.clear();
        continue;  // a done may have started or cancelled transfers: look again before waiting
      }
      curl_multi_poll(multi, nullptr, 0, static_cast<int>(std::max(1L, wait)), nullptr);
    }
    // Shutting down: whatever is still in flight or queued ends cancelled.
    {
      std::lock_guard<std::mutex> lock(mu);
      incoming.swap(queued);
    }
    std::vector<Id> all;
    for (const auto& [id, x] : active) all.push_back(id);
    for (Id id : all) End(id, net::Outcome::kCancelled, CURLE_OK);
    for (auto& x : incoming) {
      Exchange out;
      out.outcome = net::Outcome::kCancelled;
      out.error = Status::Interrupted("transport shut down");
      Deliver(std::move(x), std::move(out));
    }
  }
};

CurlMultiLoop::CurlMultiLoop() : CurlMultiLoop(Options{}) {}

CurlMultiLoop::CurlMultiLoop(Options options) : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  if (options.ca.file.empty() && options.ca.dir.empty()) options.ca = CaLocationsFromEnv();
  if (options.max_wait_ms <= 0) options.max_wait_ms = 100;
  impl_->options = std::move(options);
  impl_->multi = curl_multi_init();
  if (impl_->multi && impl_->options.max_idle_connections > 0) {
    curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, impl_->options.max_idle_connections);
  }
  if (impl_->multi) impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

CurlMultiLoop::~CurlMultiLoop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
}

CurlMultiLoop::Id CurlMultiLoop::Start(HttpRequest request, StreamHandler handler, Done done) {
  auto x = std::make_unique<Xfer>();
  x->request = std::move(request);
  x->handler = std::move(handler);
  x->done = std::move(done);
  impl_->in_flight.fetch_add(1);
  Id id = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    id = impl_->next_id++;
    x->id = id;
    if (!impl_->stop && impl_->multi) {
      impl_->queued.push_back(std::move(x));
    }
  }
  if (x) {
    // No loop to run it (shut down, or libcurl failed to initialise): it ends here.
    Exchange out;
    out.outcome = impl_->multi ? Outcome::kCancelled : Outcome::kError;
    out.error = impl_->multi ? Status::Interrupted("transport shut down") : Status::Failed("cannot initialise libcurl");
    impl_->Deliver(std::move(x), std::move(out));
    return id;
  }
  curl_multi_wakeup(impl_->multi);
  return id;
}

void CurlMultiLoop::Cancel(Id id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    bool queued = false;
    for (auto& x : impl_->queued) {
      if (x->id == id) {
        x->cancel_asked = true;
        queued = true;
      }
    }
    if (!queued) impl_->cancels.push_back(id);
  }
  Wake();
}

void CurlMultiLoop::Wake() {
  if (impl_->multi) curl_multi_wakeup(impl_->multi);
}

std::size_t CurlMultiLoop::in_flight() const { return impl_->in_flight.load(); }

}  // namespace dsx::net
