// The durable LLM proxy of `dsx session serve --llm-proxy` (docs/llm-proxy.md).
//
// POST /llm/v1/chat/completions (and /llm/NAME/v1/chat/completions, /llm/NAME/v1/messages)
// forwards the request to the upstream and stores the answer in a session as a run, as it
// arrives: user.message, run.start, msg.start, msg.append per content delta, msg.end, run.end.
//
// Threads. The HTTP I/O thread only checks the request (auth before the body is parsed, then
// the body) and takes the connection over. Every upstream call runs on the proxy's one upstream
// loop (net::CurlMultiLoop: one thread, one libcurl multi handle and its keep-alive pool, for all
// calls; measured at 500 concurrent calls in bench/llm_proxy). Its callbacks never block: they
// parse the upstream's SSE, hand each content delta to the SessionHub as a msg.append (as the
// caller's principal, so runs, leases and cancel rules all apply; answered later, on the
// store's thread) and queue the frame for the client, which is the upstream's own SSE event
// forwarded once the event it carries is stored, each with `id: <session offset after it>`.
// Until the run's first append (user.message, run.start, msg.start) is answered, the response
// head and the frames wait in the run's queue; its answer opens it (Run::OnInitReply).
// A worker thread per call in flight runs the steps that wait for the hub (session create, the
// first append with a shared store, a steer's switch, run.end) and sleeps while the upstream
// answers; a call's thread then waits for the next call a while (WorkerPool) instead of exiting.
// One ticker thread renews the leases of the runs in flight and watches their sessions for
// control.cancel (then the upstream call is aborted through the request's cancel flag, which
// wakes the loop; control.ack applied, run.end cancelled) and control.steer (the call is
// stopped the same way and the worker calls the upstream again in the same run, with the
// partial reply and the steer added to the request, into a new message; docs "Steer").
//
// The call belongs to the server: a client that disconnects (or reads too slowly: more than
// kMaxClientBacklog bytes queued) is dropped, and the run goes on to its end in the session.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "llm/proxy/proxy_request.hpp"
#include "net/curl_multi_loop.hpp"
#include "session/auth/jwt.hpp"
#include "session/live/session_hub.hpp"
#include "session/server/router.hpp"

namespace dsx::llm::proxy {

struct ProxyOptions {
  std::vector<UpstreamSpec> upstreams;  // at most one without a name (the default)
  // No byte from the upstream for this long (before or after its headers): the run ends
  // `error` "upstream stalled N s". Long enough for reasoning models that think before they
  // stream; --llm-proxy-idle-timeout-ms.
  long idle_timeout_ms = 120000;
  long connect_timeout_ms = 10000;
  std::size_t max_body_bytes = 8u << 20;  // request bodies above: 413
  std::int64_t lease_ms = 15000;          // the run's lease; renewed every lease/3
  std::int64_t tick_ms = 100;             // cancel watch and lease renewal period
};

class Run;
class WorkerPool;

class Proxy {
 public:
  // `key` null: open server. The hub and key outlive the proxy.
  Proxy(ProxyOptions options, session::live::SessionHub& hub, const session::auth::TokenKey* key);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  // The router hook (RouterOptions::intercept shape): takes every request under /llm/ and
  // answers it (errors at once; calls by taking the connection over). False for other paths.
  bool Handle(session::server::Request& request, session::server::RouteDone& done);
  // Ends the runs in flight (reason error "server shutting down") and waits for their workers.
  void Stop();

  // For the ticker and runs.
  session::live::SessionHub& hub() { return hub_; }
  const ProxyOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  void WorkerDone(const std::shared_ptr<Run>& run);
  void Track(const std::shared_ptr<Run>& run);
  // The one loop that runs every upstream call (its keep-alive pool is the connection reuse).
  dsx::net::CurlMultiLoop& upstream() { return *upstream_; }
  void WorkerStarted();
  void WorkerExited();
  // Runs a call's blocking steps (Run::Main) on a worker thread: an idle one when there is one
  // (a call's thread waits a while for the next call instead of exiting), else a new one.
  void RunOnWorker(std::function<void()> job);

 private:
  void Tick();
  const UpstreamSpec* FindUpstream(const std::string& name) const;

  ProxyOptions options_;
  session::live::SessionHub& hub_;
  const session::auth::TokenKey* key_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::shared_ptr<Run>> runs_;  // runs whose upstream call is in flight (ticker)
  std::size_t workers_ = 0;              // worker threads alive (Stop waits for them)
  bool ticker_stop_ = false;
  std::thread ticker_;
  std::unique_ptr<dsx::net::CurlMultiLoop> upstream_;
  std::shared_ptr<WorkerPool> workers_pool_;  // shared with its threads, which may outlive the proxy
};

}  // namespace dsx::llm::proxy
