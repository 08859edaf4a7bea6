// One thread, one libcurl multi handle, many HTTP transfers at once: the upstream side of a
// server that streams hundreds of calls (the LLM proxy, docs/llm-proxy.md "Threads").
//
// CurlTransport runs one transfer on the calling thread; a server holding 500 calls that way
// holds 500 threads, each waking for its own tokens and its own curl_multi_poll (measured:
// half the CPU in the kernel's scheduler, bench/results/llm-proxy-2026-12-07.md). Here one
// thread waits on every socket at once and runs the callbacks of whichever transfer has bytes.
//
// Same semantics per transfer as CurlTransport::Stream (net/transport.hpp): the request's
// cancel flag, the connect / first-byte / idle / total limits to the millisecond, the Outcome
// values and error texts (never a header value), CA settings and proxies from the environment.
// Connections are kept alive in the multi handle's pool and reused by later transfers to the
// same host (no per-host cap; HTTP/2 upstreams multiplex on one connection).
//
// Threading contract:
//   - Start, Cancel, Wake and in_flight may be called from any thread, also from a callback.
//   - on_headers, on_body and done run on the loop thread, one at a time. They must not block
//     (no waiting on another thread, no disk or network I/O): every other transfer waits while
//     they run. A false return from on_headers/on_body aborts that transfer (kAborted).
//   - done runs exactly once per Start, after the transfer's last callback. When the loop is
//     being destroyed, the transfers still in flight end kCancelled ("transport shut down"),
//     their done still on the loop thread, before the destructor returns; a Start() after that
//     runs its done at once on the caller's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/curl_transport.hpp"
#include "net/transport.hpp"

namespace dsx::net {

class CurlMultiLoop {
 public:
  struct Options {
    // Defaults for requests whose limit is 0 (see HttpRequest); 0 here means none.
    long connect_timeout_ms = 5000;
    long first_byte_timeout_ms = 0;
    long idle_timeout_ms = 0;
    long total_timeout_ms = 0;
    std::string user_agent;  // "" = none sent
    CaLocations ca;          // both empty: CaLocationsFromEnv()
    // Idle keep-alive connections the pool keeps (CURLMOPT_MAXCONNECTS); 0 = libcurl's default
    // (4 x the transfers in flight, which forgets the connections of a burst once it is over).
    long max_idle_connections = 256;
    // The longest a loop pass waits for socket activity: the bound on how late a cancel flag
    // stored without Wake() is noticed (a limit's deadline is waited for exactly).
    long max_wait_ms = 100;
  };
  using Id = std::uint64_t;
  using Done = std::function<void(Exchange)>;

  CurlMultiLoop();
  explicit CurlMultiLoop(Options options);
  ~CurlMultiLoop();
  CurlMultiLoop(const CurlMultiLoop&) = delete;
  CurlMultiLoop& operator=(const CurlMultiLoop&) = delete;

  // Queues a transfer (the loop thread starts it at once). `request.cancel`, when set, must
  // outlive the call to done. Returns an id for Cancel.
  Id Start(HttpRequest request, StreamHandler handler, Done done);
  // Ends the transfer as if its cancel flag were set (kCancelled); no-op once it has ended.
  void Cancel(Id id);
  // Makes the loop look at every cancel flag now (after another thread stored one).
  void Wake();
  // Transfers started and not yet done.
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::net
