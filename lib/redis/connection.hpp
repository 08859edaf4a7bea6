// Connection: one Redis connection on its own thread. Callers Submit() requests into a queue;
// the thread drains it, appends every queued command to one hiredis pipeline, reads the
// replies in order and runs the completions in that order (on this thread, never the caller's).
//
// Down and up: the thread reconnects by itself (backoff 100 ms doubling to 1 s; `resolve` is
// asked for the address at every attempt, so Sentinel follows a failover). When an attempt
// fails, every queued request fails with Unavailable("redis unreachable: <why>"), and requests
// submitted before the next attempt fail at once with the same reason. A request whose command
// was sent but whose reply never came (connection lost, timeout) fails with Unavailable: it may
// have run, so it is never re-sent. Requests not yet sent wait for the reconnect.
//
// Scripts: before the first EVALSHA of a script on a connection the pipeline carries its
// SCRIPT LOAD, so EVALSHA runs in order; a NOSCRIPT anyway (SCRIPT FLUSH) is answered by EVAL
// with the source, after the rest of the pipeline's replies were read.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/mutex.hpp"
#include "core/status.hpp"
#include "redis/client.hpp"
#include "redis/context.hpp"

namespace dsx::redis {

using Clock = std::chrono::steady_clock;

struct Request;
// Called once per request, on the connection's thread, with the request handed back (the
// cluster router re-sends it after a redirection).
using Completion = std::function<void(Request&& request, Result<Reply> result)>;

struct Request {
  std::vector<std::string> args;
  std::shared_ptr<const Script> script;  // set for EVALSHA (args[1] is its sha1)
  bool asking = false;                   // cluster: ASKING goes right before the command
  int redirects = 0;                     // cluster: MOVED/ASK followed so far
  Clock::time_point deadline;            // Sentinel: re-send after READONLY/LOADING until then
  Callback user;                         // the caller's callback
  Completion done;                       // runs on the connection thread; default: user(result)
};

// Runs `done` (or `user` when there is no `done`).
void Complete(Request&& request, Result<Reply> result);

struct ConnectionOptions {
  std::string name;                          // for logs ("127.0.0.1:6379", "sentinel primary m")
  std::function<Result<Endpoint>()> resolve;  // the address to connect to, asked at every attempt
  Credentials credentials;
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds command_timeout{3000};
  bool require_primary = false;  // Sentinel: a server whose ROLE is not master is not connected to
  bool follow_failover = false;  // Sentinel: READONLY/LOADING/MASTERDOWN -> reconnect and re-send
  std::function<void()> on_lost;  // after the connection was lost or an attempt failed (cluster: refresh)
};

class Connection {
 public:
  explicit Connection(ConnectionOptions options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The first connect, in the caller's thread, before Start (Open reports its failure).
  Status ConnectNow();
  void Start();
  void Submit(Request request);
  bool Connected() const;
  // Fails what is queued with Unavailable("client closed") and joins the thread. Idempotent.
  void Close();
  const std::string& name() const { return options_.name; }

 private:
  void Run();
  Status Connect();  // on the thread (or in ConnectNow)
  void Drop(const std::string& why);
  void RunBatch(std::vector<Request>& batch);
  void FailAll(std::deque<Request>& requests, const Status& status);
  void IdleCheck();

  const ConnectionOptions options_;
  std::thread thread_;

  mutable Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<Request> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  bool joined_ GUARDED_BY(mu_) = false;
  bool connected_ GUARDED_BY(mu_) = false;
  // Down: when the next attempt may run, and why the last one failed (empty before any failure).
  Clock::time_point next_attempt_ GUARDED_BY(mu_);
  std::string last_error_ GUARDED_BY(mu_);

  // The thread's own state.
  ContextPtr ctx_;
  std::unordered_set<std::string> loaded_;  // scripts loaded on this connection (by sha1)
  std::chrono::milliseconds backoff_{100};
  Clock::time_point last_activity_;
  bool reported_down_ = false;
};

}  // namespace dsx::redis
