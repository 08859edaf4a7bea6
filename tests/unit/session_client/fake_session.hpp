// Test doubles for the session clients' unit tests (agent_runner_test.cpp, run_control_test.cpp):
//   FakeSessionServer: the /v1/session/<id> endpoints in memory, behind the net::Transport seam,
//     shared by every thread of the code under test (thread-safe): a log with offsets, producer
//     dedup (an exactly-once retry gets 204), the cancel cut (409 "was cancelled" after an applied
//     cancel), heartbeats recorded at the clock's virtual time, SSE following with keepalives and
//     Last-Event-ID, and scripted outages (requests refused, answers lost after the write landed,
//     503s, SSE connections dropped).
//   AgentScript: an Agent whose stdout the test writes and whose stops and stdin it reads.
// Waits for what another thread does are on condition variables with a generous safety limit;
// nothing here sleeps for time to pass.
#pragma once

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "net/transport.hpp"
#include "session/client/agent_process.hpp"

namespace dsx::session::client::testing {

using nlohmann::json;

inline constexpr auto kSafety = std::chrono::seconds(20);  // a test waiting longer has failed

class FakeSessionServer {
 public:
  enum class Fault { kRefused, kAnswerLost, k503 };  // what the next POSTs meet

  FakeSessionServer(Clock& clock, std::string base = "http://fake", std::string session = "s1")
      : clock_(clock), prefix_(base + "/v1/session/" + session) {}

  // A transport onto this server for one thread of the code under test.
  std::unique_ptr<net::Transport> Connect() { return std::make_unique<Connection>(*this); }

  // An event written by another client (a control request from `dsx session cancel`, say).
  void Inject(json event) {
    std::lock_guard lock(mu_);
    AppendLocked(std::move(event));
  }
  // Refuse or fail the next POSTs to …/events, in order.
  void FailNextPosts(std::vector<Fault> faults) {
    std::lock_guard lock(mu_);
    for (Fault f : faults) faults_.push_back(f);
  }
  // Ends every open SSE connection with a reset (the server went away).
  void DropStreams() {
    std::lock_guard lock(mu_);
    ++drops_;
    Changed();
  }
  void SetHeartbeatStatus(int status) {
    std::lock_guard lock(mu_);
    heartbeat_status_ = status;
  }
  void SetRuns(json runs) {
    std::lock_guard lock(mu_);
    runs_ = std::move(runs);
  }

  std::vector<json> Events() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::vector<json> EventsOfType(const std::string& type) const {
    std::vector<json> out;
    for (const auto& e : Events()) {
      if (e.value("type", "") == type) out.push_back(e);
    }
    return out;
  }
  struct Beat {
    std::int64_t steady_ms;
    std::string state;
  };
  std::vector<Beat> Heartbeats() const {
    std::lock_guard lock(mu_);
    return beats_;
  }
  int posts() const {
    std::lock_guard lock(mu_);
    return posts_;
  }
  int streams_opened() const {
    std::lock_guard lock(mu_);
    return streams_opened_;
  }
  // Waits (condition variable, safety limit) until `pred` holds; false if it never did. `pred`
  // runs unlocked (it may call the getters); a change it missed meanwhile bumped changes_.
  bool WaitUntil(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + kSafety;
    std::unique_lock lock(mu_);
    for (;;) {
      const std::uint64_t seen = changes_;
      lock.unlock();
      const bool ok = pred();
      lock.lock();
      if (ok) return true;
      if (!cv_.wait_until(lock, deadline, [&] { return changes_ != seen; })) return false;
    }
  }
  std::size_t Count(const std::string& type) const { return EventsOfType(type).size(); }

 private:
  struct Connection final : net::Transport {
    explicit Connection(FakeSessionServer& s) : server(s) {}
    net::Exchange Send(const net::HttpRequest& r) override { return server.Send(r); }
    net::Exchange Stream(const net::HttpRequest& r, const net::StreamHandler& h) override {
      return server.Stream(r, h);
    }
    FakeSessionServer& server;
  };

  static std::string Header(const net::HttpRequest& r, const char* name) {
    for (const auto& [k, v] : r.headers) {
      if (net::EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
  static net::Exchange Respond(int status, const json& body = json()) {
    net::Exchange ex;
    ex.maybe_delivered = true;
    ex.response.status = status;
    if (!body.is_null()) ex.response.body = body.dump();
    return ex;
  }
  static net::Exchange Failure(bool delivered) {
    net::Exchange ex;
    ex.error = Status::Unavailable(delivered ? "connection reset" : "connection refused");
    ex.maybe_delivered = delivered;
    return ex;
  }
  static std::uint64_t OffsetArg(const std::string& query) {
    const auto at = query.find("offset=");
    if (at == std::string::npos) return 0;
    const std::string v = query.substr(at + 7, query.find('&', at) - at - 7);
    if (v == "-1" || v.empty()) return 0;
    return std::stoull(v);
  }

  void Changed() {  // with mu_ held
    ++changes_;
    cv_.notify_all();
  }

  json AppendLocked(json event) {
    event["offset"] = std::to_string(log_.size() + 1);
    const std::string type = event.value("type", "");
    if (type == "control.cancel") cancels_[event.value("id", "")] = event.value("run", "");
    if (type == "control.ack" && event["data"].value("outcome", "") == "applied") {
      auto it = cancels_.find(event.value("id", ""));
      if (it != cancels_.end()) cut_.push_back(it->second);
    }
    log_.push_back(event);
    Changed();
    return event;
  }

  net::Exchange Send(const net::HttpRequest& r) {
    std::unique_lock lock(mu_);
    if (r.url.rfind(prefix_, 0) != 0) return Respond(404, {{"error", "no such session"}});
    const std::string suffix = r.url.substr(prefix_.size());
    if (r.method == "PUT" && suffix.empty()) return Respond(201, json::object());
    if (r.method == "GET" && suffix.empty()) return Respond(200, {{"runs", runs_}, {"presence", json::array()}});
    if (r.method == "GET" && suffix.rfind("/events?", 0) == 0) {
      const std::uint64_t from = OffsetArg(suffix);
      json page = {{"events", json::array()}, {"offset", std::to_string(log_.size())}};
      for (std::size_t i = from; i < log_.size(); ++i) page["events"].push_back(log_[i]);
      return Respond(200, page);
    }
    if (r.method == "POST" && suffix.find("/heartbeat") != std::string::npos) {
      json body = json::parse(r.body, nullptr, false);
      beats_.push_back({clock_.SteadyMs(), body.is_object() ? body.value("state", "") : ""});
      Changed();
      return Respond(heartbeat_status_, heartbeat_status_ == 200 ? json::object() : json{{"error", "lease expired"}});
    }
    if (r.method == "POST" && suffix == "/events") return PostLocked(r);
    return Respond(405, {{"error", "not in the fake"}});
  }

  net::Exchange PostLocked(const net::HttpRequest& r) {
    ++posts_;
    Changed();
    std::optional<Fault> fault;
    if (!faults_.empty()) {
      fault = faults_.front();
      faults_.pop_front();
    }
    if (fault == Fault::kRefused) return Failure(false);
    if (fault == Fault::k503) return Respond(503, {{"error", "restarting"}});
    json draft = json::parse(r.body);
    const std::string producer = Header(r, "Producer-Id");
    if (!producer.empty()) {
      const std::uint64_t seq = std::stoull(Header(r, "Producer-Seq"));
      std::uint64_t& next = next_seq_[producer + "/" + Header(r, "Producer-Epoch")];
      if (seq < next) return fault == Fault::kAnswerLost ? Failure(true) : Respond(204);  // already have it
      if (seq > next) {
        net::Exchange gap = Respond(409, {{"error", "producer sequence gap"}});
        gap.response.headers.emplace_back("Producer-Expected-Seq", std::to_string(next));
        return gap;
      }
      const std::string run = draft.value("run", "");
      if (draft.value("type", "") == "msg.append" && std::find(cut_.begin(), cut_.end(), run) != cut_.end()) {
        return Respond(409, {{"error", "run '" + run + "' was cancelled"}});
      }
      ++next;
    }
    json stored = AppendLocked(std::move(draft));
    if (fault == Fault::kAnswerLost) return Failure(true);  // it landed; the answer did not come back
    json answer = {{"offset", stored["offset"]}};
    if (stored.value("type", "") == "run.start") answer["lease_ms"] = stored["data"].value("lease_ms", 15000);
    if (stored.value("type", "").rfind("control.", 0) == 0 && stored.value("type", "") != "control.ack") {
      answer["outcome"] = {{"id", stored.value("id", "")}, {"outcome", "pending"}};
    }
    return Respond(200, answer);
  }

  net::Exchange Stream(const net::HttpRequest& r, const net::StreamHandler& h) {
    std::unique_lock lock(mu_);
    ++streams_opened_;
    Changed();
    const int drops_at_open = drops_;
    std::uint64_t sent = OffsetArg(r.url.substr(r.url.find('?')));
    const std::string last = Header(r, "Last-Event-ID");
    if (!last.empty()) sent = std::stoull(last);
    net::HttpResponse head;
    head.status = 200;
    head.headers.emplace_back("Content-Type", "text/event-stream");
    lock.unlock();
    if (h.on_headers && !h.on_headers(head)) return Respond(200);
    lock.lock();
    for (;;) {
      std::string chunk;
      if (drops_ != drops_at_open) return Failure(true);
      while (sent < log_.size()) {
        chunk += "id: " + std::to_string(sent + 1) + "\ndata: " + log_[sent].dump() + "\n\n";
        ++sent;
      }
      if (chunk.empty()) chunk = ": keepalive\n\n";  // what lets the client check its stop()
      lock.unlock();
      if (!h.on_body(chunk)) return Respond(200);
      lock.lock();
      cv_.wait_for(lock, std::chrono::milliseconds(2), [&] { return sent < log_.size() || drops_ != drops_at_open; });
    }
  }

  Clock& clock_;
  const std::string prefix_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<json> log_;
  std::map<std::string, std::uint64_t> next_seq_;
  std::map<std::string, std::string> cancels_;  // control.cancel id -> run
  std::vector<std::string> cut_;                // runs whose cancel was applied
  std::deque<Fault> faults_;
  std::vector<Beat> beats_;
  json runs_ = json::array();
  int heartbeat_status_ = 200;
  int drops_ = 0;
  int posts_ = 0;
  int streams_opened_ = 0;
  std::uint64_t changes_ = 0;  // bumped (and cv_ notified) on every change a test may wait for
};

// An agent the test drives: Print() is what it writes to stdout, Exit() ends it. A stop (from a
// cancel, a lost lease, the end of the run) ends it with SIGTERM, as a process group would.
// The runner owns the Agent (Connect()) and destroys it when it returns; the script, shared,
// outlives it so the test can read what happened.
class AgentScript : public std::enable_shared_from_this<AgentScript> {
 public:
  struct Record {
    int stop_requests = 0;  // RequestStop
    int stops = 0;          // Stop(grace)
    int kills = 0;
    std::string stdin_text;
    bool stopped_before_exit = false;
  };

  void Print(std::string text) {
    std::lock_guard lock(mu_);
    out_.push_back(std::move(text));
    cv_.notify_all();
  }
  void Exit(int code) {
    std::lock_guard lock(mu_);
    End(ExitInfo{true, code, 0});
  }
  void CloseStdin() {
    std::lock_guard lock(mu_);
    stdin_closed_ = true;
  }
  Record record() const {
    std::lock_guard lock(mu_);
    return rec_;
  }
  bool WaitUntil(const std::function<bool(const Record&)>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kSafety, [&] { return pred(rec_); });
  }

  std::unique_ptr<Agent> Connect() { return std::make_unique<Handle>(shared_from_this()); }

  Result<std::string> ReadStdout() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !out_.empty() || ended_; });
    if (out_.empty()) return std::string();
    std::string s = std::move(out_.front());
    out_.pop_front();
    return s;
  }
  Status WriteStdin(std::string_view text) {
    std::lock_guard lock(mu_);
    if (stdin_closed_ || ended_) return Status::Conflict("the agent's stdin is closed");
    rec_.stdin_text += text;
    cv_.notify_all();
    return Status::Ok();
  }
  void RequestStop() {
    std::lock_guard lock(mu_);
    ++rec_.stop_requests;
    if (!ended_) rec_.stopped_before_exit = true;
    End(ExitInfo{false, 0, SIGTERM});
  }
  void Stop(std::chrono::milliseconds) {
    std::lock_guard lock(mu_);
    ++rec_.stops;
    End(ExitInfo{false, 0, SIGTERM});
  }
  void Kill() {
    std::lock_guard lock(mu_);
    ++rec_.kills;
    End(ExitInfo{false, 0, SIGKILL});
  }
  ExitInfo Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return ended_; });
    return exit_;
  }

 private:
  struct Handle final : Agent {
    explicit Handle(std::shared_ptr<AgentScript> s) : script(std::move(s)) {}
    Result<std::string> ReadStdout() override { return script->ReadStdout(); }
    Status WriteStdin(std::string_view text) override { return script->WriteStdin(text); }
    void Stop(std::chrono::milliseconds grace) override { script->Stop(grace); }
    void RequestStop() override { script->RequestStop(); }
    void Kill() override { script->Kill(); }
    ExitInfo Wait() override { return script->Wait(); }
    std::shared_ptr<AgentScript> script;
  };

  void End(ExitInfo e) {
    if (!ended_) exit_ = e;
    ended_ = true;
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> out_;
  bool ended_ = false;
  bool stdin_closed_ = false;
  ExitInfo exit_;
  Record rec_;
};

}  // namespace dsx::session::client::testing
