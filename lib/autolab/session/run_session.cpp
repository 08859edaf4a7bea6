// RunSession (run_session.hpp): an AutoLab run as a run of the session "autolab/<run>". Built on
// session/client's SessionClient, Producer and Backoff; the heartbeat and control-follower loops
// follow jobs/session/job_session.cpp, which follows session/client/agent_runner.cpp. Unlike a
// job's session, this one must never make the run wait: Publish only queues, and one writer
// thread owns every write (connect, batches, acks, the end), reconnecting as long as it takes.
#include "autolab/session/run_session.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

#include "autolab/session/progress_text.hpp"
#include "autolab/session/steer_control.hpp"
#include "core/json_limits.hpp"
#include "core/log.hpp"
#include "core/utf8.hpp"
#include "net/curl_transport.hpp"
#include "session/client/backoff.hpp"
#include "session/client/session_client.hpp"
#include "session/wire/event.hpp"

namespace dsx::autolab {
namespace {

using nlohmann::json;
using session::client::Answer;
using session::client::Backoff;
using session::client::Producer;
using session::client::SessionClient;
using session::wire::RandomId;
using session::wire::StringOr;

constexpr std::size_t kMaxEventBytes = 64 * 1024;
// The event becomes a draft's data inside a batch array: two levels above its own, and the
// server refuses bodies nested deeper than 64 (docs/protocol/sessions.md, section 2).
constexpr int kMaxEventDepth = 60;
// A batch's body stays well under the server's default --max-session-body-bytes (1 MiB).
constexpr std::size_t kMaxBatchBytes = 512 * 1024;
// Close: ending the run (msg.end, run.end) may take this long past the flush deadline.
constexpr std::int64_t kEndGraceMs = 2000;

// Every request of one thread's transport gets that thread's cancel flag (so Close's deadline
// and a new run end a request at once rather than after its timeout), and writes a bounded
// timeout (a server that accepts and never answers must not hold a write for SessionClient's 30 s).
class GuardedTransport final : public net::Transport {
 public:
  GuardedTransport(std::unique_ptr<net::Transport> inner, const std::atomic<bool>* cancel, long max_timeout_ms)
      : inner_(std::move(inner)), cancel_(cancel), max_timeout_ms_(max_timeout_ms) {}
  net::Exchange Send(const net::HttpRequest& request) override {
    net::HttpRequest r = request;
    r.cancel = cancel_;
    if (max_timeout_ms_ > 0 && (r.timeout_ms <= 0 || r.timeout_ms > max_timeout_ms_)) r.timeout_ms = max_timeout_ms_;
    return inner_->Send(r);
  }
  net::Exchange Stream(const net::HttpRequest& request, const net::StreamHandler& handler) override {
    net::HttpRequest r = request;
    r.cancel = cancel_;
    return inner_->Stream(r, handler);
  }

 private:
  std::unique_ptr<net::Transport> inner_;
  const std::atomic<bool>* cancel_;
  long max_timeout_ms_;
};

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Event types the session server keeps for itself (docs/protocol/sessions.md, section 3).
bool Reserved(const std::string& type) {
  for (const char* p : {"run.", "msg.", "control.", "presence.", "session."}) {
    if (type.rfind(p, 0) == 0) return true;
  }
  return false;
}

// Answers worth the same request again later: the server is restarting, overloaded or behind a
// proxy that lost it.
bool Transient(int status) { return status == 408 || status == 429 || status >= 500; }

// A refusal as a Status; transient answers are kUnavailable (keep trying), the rest as
// net::StatusFromHttp maps them (a configuration to fix).
Status Refused(const Answer& a, const std::string& what) {
  if (Transient(a.status)) return Status::Unavailable(what + ": " + a.Error());
  return a.Refusal(what);
}

// The presence state a heartbeat reports for the run's state (the server takes only the agent
// states of docs/protocol/sessions.md, section 6).
const char* BeatState(const std::string& run_state) {
  if (run_state == "paused" || run_state == "pausing" || run_state == "stopping" || run_state == "stopped")
    return "waiting";
  if (run_state == "done") return "idle";
  return "streaming";
}

const char* EndReason(const std::string& run_state, bool cancel_applied) {
  if (cancel_applied || run_state == "stopped") return "cancelled";
  if (run_state == "failed" || run_state == "error") return "error";
  return "done";
}

// A run name is one segment of the session id "autolab/<run>" (the server's rules for ids: no
// empty, "." or ".." segment, no control characters).
Status CheckRunName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 190 || !IsValidUtf8(name)) {
    return Status::Usage("'" + name + "' cannot name a session: autolab/<run> needs a run name of 1-190 bytes");
  }
  for (char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Status::Usage("run name '" + name + "' cannot name a session (no '/' or control characters)");
    }
  }
  return Status::Ok();
}

struct Item {
  json event;
  bool metric = false;  // autolab.metric: dropped first when the queue is full
  std::size_t bytes = 0;
  bool rendered = false;
  std::string line;  // its readable line (rendered by the writer, in order)
};

struct Ack {
  std::string run, id, outcome, reason;
  bool cancel = false;  // an applied control.cancel: the server takes no more text after it
};

struct Request {
  std::string run, id;
  Control control = Control::kRun;
  bool cancel = false;
};

enum class Sent { kOk, kAgain, kRetry, kReopen, kDropped, kRefused };

}  // namespace

struct RunSession::Impl {
  RunSessionOptions o;
  Clock& clock;
  std::string session;

  std::atomic<bool> abort{false};          // ends in-flight writes and heartbeats: stopping
  std::atomic<bool> follow_cancel{false};  // ends the follower's stream: a new run, or stopping
  std::unique_ptr<net::Transport> t_writer, t_beat, t_follow;

  mutable std::mutex mu;  // everything below, except what is marked "writer thread"
  std::condition_variable cv;
  std::deque<Item> queue;
  std::size_t inflight = 0;       // events the writer holds (sending)
  std::vector<Ack> acks;          // control.ack to send, in order
  std::vector<Request> requests;  // control requests not yet taken
  bool connected = false;         // a session run is open
  std::string run, msg, start_offset = "-1";
  std::uint64_t generation = 0;  // counts runs opened: threads notice a new run by it
  std::int64_t lease = 30000;
  bool cut = false;             // the server takes no more text in this run (applied cancel)
  bool cancel_applied = false;  // run.end says cancelled
  std::string run_state;        // the last autolab.run state published
  bool closing = false, stopping = false, writer_done = false, ended = false, closed = false;
  std::int64_t close_deadline = 0, end_deadline = 0;
  Status close_status;
  bool reject_logged = false;
  // A run is started once there is something to publish: an invocation that publishes nothing
  // (another one holds the run's lease and drives it) never takes the live run's place.
  bool want_run = false;
  RunSessionStats stats;

  // Writer thread (and Open, before the threads start).
  Producer producer, ctl;
  ProgressText text;
  std::string problem;             // the last problem logged; each is logged once until writes work again
  std::uint64_t dropped_told = 0;  // drops already reported

  std::thread writer, heartbeat, follower;

  Impl(const RunSessionOptions& options, Clock& c)
      : o(options),
        clock(c),
        session("autolab/" + options.run_name),
        lease(options.lease_ms),
        text(options.metric.empty() ? "metric" : options.metric) {}

  std::unique_ptr<net::Transport> NewTransport(const std::atomic<bool>* cancel, long max_timeout_ms) {
    std::unique_ptr<net::Transport> t = o.transport ? o.transport() : std::make_unique<net::CurlTransport>();
    return std::make_unique<GuardedTransport>(std::move(t), cancel, max_timeout_ms);
  }
  SessionClient ClientOn(net::Transport& t) { return SessionClient(t, o.server, session, o.token, clock); }
  std::int64_t Poll() const {
    return o.clock_poll_ms > 0 ? o.clock_poll_ms : std::numeric_limits<std::int64_t>::max() / 4;
  }
  Backoff NewBackoff() const {
    Backoff::Options b;
    b.initial = session::client::Millis(std::max<std::int64_t>(o.backoff_initial_ms, 1));
    b.max = session::client::Millis(std::max(o.backoff_max_ms, o.backoff_initial_ms));
    return Backoff(b);
  }

  void Say(const std::string& line) {
    if (o.log) {
      o.log(line);
    } else {
      log::Warn(line);
    }
  }
  // A problem, said once until writes work again (a server down all night is one line).
  void Problem(const std::string& what) {
    if (what == problem) return;
    problem = what;
    Say("session " + session + ": " + what);
  }
  void Recovered() {
    std::uint64_t dropped;
    {
      std::lock_guard lock(mu);
      dropped = stats.dropped;
    }
    if (!problem.empty()) {
      problem.clear();
      std::string line = "session " + session + ": publishing again";
      if (dropped > dropped_told) line += " (" + std::to_string(dropped - dropped_told) + " events dropped meanwhile)";
      Say(line);
    }
    dropped_told = dropped;
  }

  // With mu held: waits `ms` on the clock, or less when `wake` becomes true.
  template <class Pred>
  void WaitLocked(std::unique_lock<std::mutex>& lock, std::int64_t ms, Pred wake) {
    const std::int64_t deadline = clock.SteadyMs() + ms;
    while (!wake()) {
      const std::int64_t left = deadline - clock.SteadyMs();
      if (left <= 0) return;
      cv.wait_for(lock, std::chrono::milliseconds(std::min(left, Poll())));
    }
  }
  // Close's deadline for sending the queue, and (`end`) for ending the run after it: the end
  // gets kEndGraceMs from when it starts, however the flush went (a server that is gone at
  // exit costs the run at most that, not the whole flush time again).
  bool PastCloseLocked(bool end = false) const {
    return closing && clock.SteadyMs() >= (end ? end_deadline : close_deadline);
  }
  // Backoff pause of the writer: ends early when stopping, when Close's deadline passes, and
  // when Close begins (one more try at once: the server may be back, and the queue must not
  // sit out the flush time in a long backoff).
  void Pause(std::int64_t ms, bool end = false) {
    std::unique_lock lock(mu);
    const bool was_closing = closing;
    WaitLocked(lock, ms, [&] { return stopping || (closing && !was_closing) || PastCloseLocked(end); });
  }

  // The server ended our run (lease, takeover, restart): the writer opens a new one.
  void MarkLost(std::uint64_t gen) {
    std::lock_guard lock(mu);
    if (generation == gen && connected && !ended) {
      connected = false;
      follow_cancel = true;
      cv.notify_all();
    }
  }

  // ------------------------------------------------------------------ writer thread

  // PUT: the session exists (again, after a server that lost it). kUnavailable: try again later;
  // anything else is a refusal.
  Status CreateSession(SessionClient& c) {
    auto created = c.Create();
    if (!created.ok()) return created.status();
    if (created->status != 200 && created->status != 201) {
      return Refused(*created, "cannot create session '" + session + "'");
    }
    return Status::Ok();
  }

  // Creates the session if missing, starts a run (taking over what an earlier invocation left
  // active) and its text message. kUnavailable: try again later; anything else is a refusal.
  Status Connect(SessionClient& c) {
    DSX_RETURN_IF_ERROR(CreateSession(c));
    const std::string new_run = RandomId("r-");
    const std::string new_msg = RandomId("m-");
    Producer p{"autolab-" + new_run, static_cast<std::uint64_t>(clock.NowMs()), 0};
    json start = {{"type", "run.start"},
                  {"run", new_run},
                  {"data",
                   {{"lease_ms", o.lease_ms},
                    {"takeover", true},
                    {"command", "dsx autolab run " + o.run_name},
                    {"autolab", {{"run", o.run_name}}}}}};
    auto started = c.Post(start, &p, 0);
    if (!started.ok()) return started.status();
    if (started->status != 200 && started->status != 204) {
      return Refused(*started, "cannot start a run in session '" + session + "'");
    }
    const std::string offset = StringOr(started->body, "offset", "-1");
    std::int64_t new_lease = o.lease_ms;
    if (started->body.is_object() && started->body.contains("lease_ms") &&
        started->body["lease_ms"].is_number_integer()) {
      new_lease = started->body["lease_ms"].get<std::int64_t>();  // the server's clamped value
    }
    auto m = c.Post(json{{"type", "msg.start"},
                         {"run", new_run},
                         {"msg", new_msg},
                         {"data", {{"role", "assistant"}, {"kind", "autolab.log"}}}},
                    &p, 0);
    if (!m.ok()) return m.status();  // the next try takes this run over
    if (m->status != 200 && m->status != 204) {
      Status why = Refused(*m, "cannot start the run's text in '" + session + "'");
      // Not left active until its lease lapses (as JobSession::Open does).
      (void)c.Post(
          json{{"type", "run.end"}, {"run", new_run}, {"data", {{"reason", "error"}, {"error", why.message()}}}}, &p,
          0);
      return why;
    }
    producer = p;
    ctl = Producer{"autolab-control-" + new_run, static_cast<std::uint64_t>(clock.NowMs()), 0};
    std::uint64_t opened;
    {
      std::lock_guard lock(mu);
      connected = true;
      run = new_run;
      msg = new_msg;
      start_offset = offset;
      lease = new_lease;
      cut = false;
      cancel_applied = false;
      ++generation;
      opened = ++stats.runs_opened;
      // Acks for a run that is gone: the server answered those requests when it ended the run.
      std::erase_if(acks, [&](const Ack& a) { return a.run != new_run; });
      follow_cancel = true;  // a follower of the old run moves to this one
      cv.notify_all();
    }
    if (opened > 1) Say("session " + session + ": opened run " + new_run + " (the previous one was lost)");
    return Status::Ok();
  }

  // Sends the pending acks of the current run. False when the server could not be reached.
  bool SendAcks(SessionClient& c) {
    for (;;) {
      Ack ack;
      {
        std::lock_guard lock(mu);
        std::erase_if(acks, [&](const Ack& a) { return a.run != run; });
        if (acks.empty()) return true;
        ack = acks.front();
      }
      json data = {{"outcome", ack.outcome}};
      if (!ack.reason.empty()) data["reason"] = ack.reason;
      auto a = c.Post(json{{"type", "control.ack"}, {"run", ack.run}, {"id", ack.id}, {"data", data}}, &ctl, 0);
      if (!a.ok() || Transient(a->status)) return false;
      std::lock_guard lock(mu);
      // Any other answer is final: 2xx, or 409 when the server had answered the request itself.
      if (a->status >= 200 && a->status < 300 && ack.cancel && ack.outcome == "applied") {
        cut = true;
        cancel_applied = true;
      }
      auto it = std::find_if(acks.begin(), acks.end(), [&](const Ack& x) {
        return x.run == ack.run && x.id == ack.id && x.outcome == ack.outcome;
      });
      if (it != acks.end()) acks.erase(it);
    }
  }

  // Moves the next events from the queue into `batch` (at most max_batch, kMaxBatchBytes).
  void TakeBatch(std::vector<Item>& batch) {
    {
      std::lock_guard lock(mu);
      std::size_t bytes = 0;
      while (!queue.empty() && batch.size() < std::max<std::size_t>(o.max_batch, 1)) {
        // Each event goes twice: as itself and as a line (at most its size, and kMaxLineBytes).
        const std::size_t cost = queue.front().bytes + kMaxLineBytes + 256;
        if (!batch.empty() && bytes + cost > kMaxBatchBytes) break;
        bytes += cost;
        batch.push_back(std::move(queue.front()));
        queue.pop_front();
      }
      inflight = batch.size();
    }
    for (Item& it : batch) {
      if (!it.rendered) it.line = text.Line(it.event);  // in publish order: it remembers the metric's name
      it.rendered = true;
    }
  }

  Sent SendBatch(SessionClient& c, std::vector<Item>& batch) {
    std::string run_id, msg_id;
    bool no_text;
    std::uint64_t gen;
    {
      std::lock_guard lock(mu);
      run_id = run;
      msg_id = msg;
      no_text = cut;
      gen = generation;
    }
    json drafts = json::array();
    std::string lines;
    for (const Item& it : batch) {
      json data = it.event;
      data.erase("type");
      drafts.push_back({{"type", it.event["type"]}, {"run", run_id}, {"data", std::move(data)}});
      lines += it.line + "\n";
    }
    if (!no_text)
      drafts.push_back({{"type", "msg.append"}, {"run", run_id}, {"msg", msg_id}, {"data", {{"text", lines}}}});
    auto a = c.Post(drafts, &producer, 0);
    if (!a.ok()) {
      Problem("cannot reach the server (" + a.status().message() + "); the run goes on, progress is kept " + "(up to " +
              std::to_string(o.max_queued) + " events) and sent when it answers");
      return Sent::kRetry;
    }
    if (a->status >= 200 && a->status < 300) {
      std::lock_guard lock(mu);
      stats.sent += batch.size();
      if (no_text) stats.lines_cut += batch.size();
      inflight = 0;
      return Sent::kOk;
    }
    const std::string error = a->Error();
    if (a->status == 409 && error.find("was cancelled") != std::string::npos) {
      std::lock_guard lock(mu);  // a cancel applied before we knew: the events go, without their lines
      if (generation == gen) cut = true;
      return Sent::kAgain;
    }
    if (Transient(a->status)) {
      Problem("the server answered HTTP " + std::to_string(a->status) + " (" + error + "); retrying");
      return Sent::kRetry;
    }
    if (a->status == 404 || a->status == 409) {
      Problem("run " + run_id + " is gone (" + error + "); opening a new one");
      MarkLost(gen);
      return Sent::kReopen;
    }
    if (a->status == 401 || a->status == 403) {
      Problem("the server refused the progress events (HTTP " + std::to_string(a->status) + ": " + error +
              "); the token needs read, append and run on '" + session + "'");
      std::lock_guard lock(mu);
      stats.rejected += batch.size();
      inflight = 0;
      return Sent::kRefused;
    }
    // 400, 413...: an event the server will not take. Alone, it is dropped; in a batch, the
    // batch is split so that only that event is.
    if (batch.size() > 1) {
      std::lock_guard lock(mu);
      for (std::size_t i = batch.size(); i-- > 1;) queue.push_front(std::move(batch[i]));
      batch.resize(1);
      inflight = 1;
      return Sent::kAgain;
    }
    Say("session " + session + ": the server refused a " + StringOr(batch[0].event, "type") + " event (HTTP " +
        std::to_string(a->status) + ": " + error + "); dropped");
    std::lock_guard lock(mu);
    ++stats.rejected;
    inflight = 0;
    return Sent::kDropped;
  }

  // msg.end + run.end, within Close's deadline. True when the run ended (or had: lost).
  bool End(SessionClient& c) {
    std::string run_id, msg_id, reason, state;
    {
      std::lock_guard lock(mu);
      if (!connected) return true;  // never opened, or the server ended it
      ended = true;                 // from here a run.end the follower sees is ours
      end_deadline = std::min(clock.SteadyMs(), close_deadline) + kEndGraceMs;
      run_id = run;
      msg_id = msg;
      state = run_state;
      reason = EndReason(run_state, cancel_applied);
    }
    json data = {{"reason", reason}};
    if (!state.empty()) data["state"] = state;
    if (reason == "error") data["error"] = "autolab run " + state;
    Backoff backoff = NewBackoff();
    bool msg_done = false;
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping || PastCloseLocked(true)) return false;
      }
      if (!msg_done) {
        // 409: the message is closed already (or the run is gone: run.end says so next).
        auto m =
            c.Post(json{{"type", "msg.end"}, {"run", run_id}, {"msg", msg_id}, {"data", json::object()}}, &producer, 0);
        if (m.ok() && !Transient(m->status)) msg_done = true;
      }
      if (msg_done) {
        auto e = c.Post(json{{"type", "run.end"}, {"run", run_id}, {"data", data}}, &producer, 0);
        // 404: the server lost the session (restarted empty): nothing is left to end.
        if (e.ok() && !Transient(e->status)) return (e->status >= 200 && e->status < 300) || e->status == 404;
      }
      Pause(backoff.Next().count(), true);
    }
  }

  void WriterLoop() {
    SessionClient c = ClientOn(*t_writer);
    Backoff backoff = NewBackoff();
    std::vector<Item> batch;
    for (;;) {
      bool need_connect;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] {
          return stopping || closing || (want_run && !connected) || !queue.empty() || !batch.empty() || !acks.empty();
        });
        if (stopping) break;
        if (closing) {
          const bool nothing = queue.empty() && batch.empty() && (acks.empty() || !connected);
          if (nothing || PastCloseLocked()) break;
        }
        need_connect = !connected;
      }
      if (need_connect) {
        Status st = Connect(c);
        if (!st.ok()) {
          Problem(st.code() == Code::kUnavailable ? "cannot reach the server (" + st.message() +
                                                        "); the run goes on, progress is sent when it answers"
                                                  : st.message());
          Pause(backoff.Next().count());
          continue;
        }
        backoff.Reset();
      }
      if (!SendAcks(c)) {
        Problem("cannot reach the server to acknowledge a control request; retrying");
        Pause(backoff.Next().count());
        continue;
      }
      if (batch.empty()) TakeBatch(batch);
      if (batch.empty()) continue;
      switch (SendBatch(c, batch)) {
        case Sent::kOk:
          batch.clear();
          backoff.Reset();
          Recovered();
          break;
        case Sent::kAgain:
        case Sent::kReopen: break;
        case Sent::kDropped: batch.clear(); break;
        case Sent::kRefused:
          batch.clear();
          Pause(backoff.Next().count());
          break;
        case Sent::kRetry: Pause(backoff.Next().count()); break;
      }
    }
    const bool run_ended = End(c);
    std::lock_guard lock(mu);
    // What did not go out: the queue, and a batch cut short by stopping.
    const std::size_t undelivered = queue.size() + batch.size();
    if (undelivered > 0) {
      close_status = Status::Unavailable(std::to_string(undelivered) +
                                         " progress events were not delivered to session '" + session + "'");
    } else if (!run_ended) {
      close_status = Status::Unavailable("run " + run + " of session '" + session +
                                         "' was not ended (the server ends it when its lease lapses)");
    }
    writer_done = true;
    cv.notify_all();
  }

  // ------------------------------------------------------------------ heartbeat thread

  // Renews the lease at a third of it, reporting the run's state (as RunAgent and JobSession).
  void HeartbeatLoop() {
    SessionClient c = ClientOn(*t_beat);
    std::uint64_t beat_gen = 0;
    std::int64_t due = 0;
    bool with_state = true;
    std::unique_lock lock(mu);
    while (!stopping) {
      if (!connected) {
        cv.wait(lock, [&] { return stopping || connected; });
        continue;
      }
      const std::int64_t period = std::max<std::int64_t>(lease / 3, 200);
      const std::int64_t now = clock.SteadyMs();
      if (generation != beat_gen) {
        beat_gen = generation;
        due = now + period;
      }
      if (now < due) {
        cv.wait_for(lock, std::chrono::milliseconds(std::min(due - now, Poll())));
        continue;
      }
      const std::string run_id = run;
      const std::uint64_t gen = generation;
      const std::string state = with_state ? BeatState(run_state) : "";
      lock.unlock();
      auto a = c.Heartbeat(run_id, state);
      if (a.ok() && a->status == 400 && with_state) {
        with_state = false;  // a server that takes no state (or not this one) still renews a bare heartbeat
        a = c.Heartbeat(run_id, "");
      }
      if (a.ok() && (a->status == 404 || a->status == 409)) MarkLost(gen);
      lock.lock();
      due = now + period;  // from when it was sent, not when the answer came
    }
  }

  // ------------------------------------------------------------------ control follower thread

  void OnControl(const std::string& run_id, const json& ev) {
    const std::string type = StringOr(ev, "type");
    const std::string id = StringOr(ev, "id");
    if (type != "control.cancel" && type != "control.steer") return;
    Request r{run_id, id, Control::kStop, type == "control.cancel"};
    std::lock_guard lock(mu);
    ++stats.controls;
    if (type == "control.steer") {
      const json& data = ev.contains("data") ? ev["data"] : json();
      auto c = ControlFromSteer(data);
      if (!c.ok()) {
        acks.push_back({run_id, id, "rejected", c.status().message(), false});
        cv.notify_all();
        return;
      }
      r.control = *c;
    }
    requests.push_back(std::move(r));
  }

  void FollowLoop() {
    SessionClient c = ClientOn(*t_follow);
    Backoff backoff = NewBackoff();
    std::string offset = "-1";
    std::uint64_t followed = 0;
    for (;;) {
      std::string run_id;
      std::uint64_t gen;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return stopping || (connected && !ended); });
        if (stopping) return;
        gen = generation;
        run_id = run;
        if (gen != followed) {
          followed = gen;
          offset = start_offset;  // from the run's start: no request for it can come earlier
        }
        follow_cancel = false;
      }
      bool run_ended = false;
      auto on_event = [&](const json& ev) {
        offset = StringOr(ev, "offset", offset);
        if (StringOr(ev, "run") != run_id) return true;
        if (StringOr(ev, "type") == "run.end") {
          run_ended = true;
          return false;
        }
        OnControl(run_id, ev);
        return true;
      };
      auto stop = [&] {
        std::lock_guard lock(mu);
        return stopping || generation != gen;
      };
      const Status st = c.Follow(offset, false, "", on_event, stop);
      if (st.ok() && !run_ended) backoff.Reset();
      if (run_ended) MarkLost(gen);  // ended by the server (lease, takeover), or by us (then `ended`)
      std::unique_lock lock(mu);
      if (stopping) return;
      if (generation != gen) continue;
      if (run_ended) {  // the writer opens a new run (or we are closing)
        cv.wait(lock, [&] { return stopping || generation != gen; });
        continue;
      }
      // The session is unreachable or gone: wait, then follow again from the last event seen
      // (or, when the writer opens a new run, from its start).
      WaitLocked(lock, backoff.Next().count(), [&] { return stopping || generation != gen; });
    }
  }

  void StopThreads() {
    {
      std::lock_guard lock(mu);
      stopping = true;
      cv.notify_all();
    }
    abort = true;
    follow_cancel = true;
    for (std::thread* t : {&writer, &heartbeat, &follower}) {
      if (t->joinable()) t->join();
    }
  }
};

RunSession::RunSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RunSession::~RunSession() {
  if (impl_) (void)Close();
}

Result<std::unique_ptr<RunSession>> RunSession::Open(const std::string& server_url, const std::string& token,
                                                     const std::string& run_name, Clock& clock) {
  RunSessionOptions o;
  o.server = server_url;
  o.token = token;
  o.run_name = run_name;
  o.clock = &clock;
  return Open(o);
}

Result<std::unique_ptr<RunSession>> RunSession::Open(const RunSessionOptions& options) {
  if (options.server.rfind("http://", 0) != 0 && options.server.rfind("https://", 0) != 0) {
    return Status::Usage("the session server must be an http:// or https:// URL (got '" + options.server + "')");
  }
  DSX_RETURN_IF_ERROR(CheckRunName(options.run_name));
  Clock& clock = options.clock ? *options.clock : Clock::System();
  auto impl = std::make_unique<Impl>(options, clock);
  Impl& s = *impl;
  s.t_writer = s.NewTransport(&s.abort, options.request_timeout_ms);
  s.t_beat = s.NewTransport(&s.abort, options.request_timeout_ms);
  s.t_follow = s.NewTransport(&s.follow_cancel, 0);
  {
    // One try now, so that a token or server the run can never use is said at once. The run
    // itself starts with the first event (want_run).
    SessionClient c = s.ClientOn(*s.t_writer);
    Status st = s.CreateSession(c);
    if (!st.ok() && st.code() != Code::kUnavailable) return st;
    if (!st.ok()) {
      s.Problem("cannot reach the server (" + st.message() + "); the run goes on, progress is sent when it answers");
    }
  }
  s.writer = std::thread([&s] { s.WriterLoop(); });
  s.heartbeat = std::thread([&s] { s.HeartbeatLoop(); });
  s.follower = std::thread([&s] { s.FollowLoop(); });
  return std::unique_ptr<RunSession>(new RunSession(std::move(impl)));
}

void RunSession::Publish(const json& event) {
  Impl& s = *impl_;
  std::string why;
  const std::string type = StringOr(event, "type");
  std::string bytes;
  if (!event.is_object() || type.empty()) {
    why = "an event is a JSON object with a string \"type\"";
  } else if (type.size() > session::wire::kMaxNameBytes || Reserved(type)) {
    why = "event type '" + type.substr(0, 64) + "' is reserved or too long";
  } else {
    bytes = Dump(event);
    if (bytes.size() > kMaxEventBytes) {
      why = type + " event of " + std::to_string(bytes.size()) + " bytes (at most " + std::to_string(kMaxEventBytes) +
            ")";
    } else if (JsonDepth(bytes, kMaxEventDepth) > kMaxEventDepth) {
      why = type + " event nested deeper than " + std::to_string(kMaxEventDepth) + " levels";
    }
  }
  bool tell = false;
  {
    std::lock_guard lock(s.mu);
    ++s.stats.published;
    if (!why.empty()) {
      ++s.stats.rejected;
      tell = !s.reject_logged;
      s.reject_logged = true;
    } else if (s.closing) {
      ++s.stats.dropped;
    } else {
      if (type == "autolab.run" && event.contains("state") && event["state"].is_string()) {
        s.run_state = event["state"].get<std::string>();
      }
      s.want_run = true;
      s.queue.push_back(Item{event, type == "autolab.metric", bytes.size(), false, {}});
      while (s.queue.size() > std::max<std::size_t>(s.o.max_queued, 1)) {
        // Intermediate points are the cheapest to lose: the final metric and the states say more.
        auto victim = std::find_if(s.queue.begin(), s.queue.end(), [](const Item& i) { return i.metric; });
        if (victim == s.queue.end() || victim == std::prev(s.queue.end())) victim = s.queue.begin();
        s.queue.erase(victim);
        ++s.stats.dropped;
      }
      s.cv.notify_all();
    }
  }
  if (tell) s.Say("session " + s.session + ": not published: " + why + " (further ones are only counted)");
}

std::optional<Control> RunSession::TakeControl() {
  Impl& s = *impl_;
  std::lock_guard lock(s.mu);
  if (s.requests.empty()) return std::nullopt;
  const Request last = s.requests.back();
  for (std::size_t i = 0; i + 1 < s.requests.size(); ++i) {
    s.acks.push_back({s.requests[i].run, s.requests[i].id, "rejected", "superseded by " + last.id, false});
  }
  s.acks.push_back({last.run, last.id, "applied", "", last.cancel});
  s.requests.clear();
  ++s.stats.controls_taken;
  s.cv.notify_all();
  return last.control;
}

Status RunSession::Close() {
  Impl& s = *impl_;
  {
    std::unique_lock lock(s.mu);
    if (s.closed) return s.close_status;
    s.closed = true;
    s.closing = true;
    s.close_deadline = s.clock.SteadyMs() + std::max<std::int64_t>(s.o.close_flush_ms, 0);
    s.cv.notify_all();
    // The writer flushes and ends the run by the deadline; past it, StopThreads aborts what is
    // in flight (each request's cancel flag), so Close returns soon after whatever the server does.
    s.WaitLocked(lock, std::max<std::int64_t>(s.o.close_flush_ms, 0) + kEndGraceMs, [&] { return s.writer_done; });
  }
  s.StopThreads();  // the writer sets close_status as it finishes
  std::lock_guard lock(s.mu);
  return s.close_status;
}

std::string RunSession::session() const { return impl_->session; }

std::string RunSession::run() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected ? impl_->run : "";
}

RunSessionStats RunSession::stats() const {
  std::lock_guard lock(impl_->mu);
  RunSessionStats st = impl_->stats;
  st.queued = impl_->queue.size() + impl_->inflight;
  st.connected = impl_->connected;
  return st;
}

}  // namespace dsx::autolab
