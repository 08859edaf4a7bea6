// JobSession (job_session.hpp): the run of session "jobs/<id>" that reports one job. Built on
// session/client's SessionClient and Producer; the heartbeat and control-follower loops follow
// session/client/agent_runner.cpp (RunAgent), which is an agent runner, not a library of parts:
// the few lines they share are repeated here rather than reshaped there.
#include "jobs/session/job_session.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <thread>

#include "net/curl_transport.hpp"
#include "session/client/agent_runner.hpp"
#include "session/client/session_client.hpp"
#include "session/wire/event.hpp"

namespace dsx::jobs {
namespace {

using nlohmann::json;
using session::client::Answer;
using session::client::CompleteUtf8Prefix;
using session::client::Producer;
using session::client::SessionClient;
using session::wire::RandomId;
using session::wire::StringOr;

// A transport whose streams also end when `stop` is set: the control follower's SSE request
// otherwise waits for the server's next byte before it sees that the job session is closing.
class StoppableTransport final : public net::Transport {
 public:
  StoppableTransport(std::unique_ptr<net::Transport> inner, const std::atomic<bool>* stop)
      : inner_(std::move(inner)), stop_(stop) {}
  net::Exchange Send(const net::HttpRequest& request) override { return inner_->Send(request); }
  net::Exchange Stream(const net::HttpRequest& request, const net::StreamHandler& handler) override {
    if (request.cancel) return inner_->Stream(request, handler);
    net::HttpRequest r = request;
    r.cancel = stop_;
    return inner_->Stream(r, handler);
  }

 private:
  std::unique_ptr<net::Transport> inner_;
  const std::atomic<bool>* stop_;
};

// The server's refusal of output after an applied cancel (as agent_runner.cpp reads it).
bool CancelledRefusal(const Answer& a) {
  return a.status == 409 && a.Error().find("was cancelled") != std::string::npos;
}

const char* EndReason(JobState state) {
  switch (state) {
    case JobState::kSucceeded: return "done";
    case JobState::kCancelled: return "cancelled";
    default: return "error";
  }
}

// The presence state a heartbeat reports for a job state. The server takes only the agent states
// of docs/protocol/sessions.md (thinking, streaming, tool, waiting, idle) and answers anything
// else 400 without renewing the lease: sending "running" there would lose the run.
const char* AgentState(JobState state) {
  switch (state) {
    case JobState::kQueued: return "waiting";
    case JobState::kRunning: return "streaming";
    default: return "idle";
  }
}

std::string StateLine(const JobStatus& s) {
  std::string line = std::string("[dsx] ") + JobStateName(s.state);
  if (!s.detail.empty()) line += ": " + s.detail;
  if (s.exit_code) line += " (exit " + std::to_string(*s.exit_code) + ")";
  return line;
}

// The job's argv as one line for run.start's `command` (the web UI shows it), at most 200 bytes.
std::string CommandLine(const JobRequest& r) {
  std::string out;
  for (const auto& a : r.command) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  if (out.size() > 200) out = out.substr(0, CompleteUtf8Prefix(std::string_view(out).substr(0, 197))) + "...";
  return out;
}

}  // namespace

struct JobSession::Impl {
  JobSessionOptions o;
  Clock& clock;
  std::string run = RandomId("r-");
  std::string msg = RandomId("m-");
  std::int64_t lease = 15000;
  std::string start_offset = "-1";

  std::atomic<bool> stop_stream{false};  // ends the follower's SSE request (StoppableTransport)
  std::unique_ptr<net::Transport> t_writer, t_beat, t_follow, t_ack;
  std::unique_ptr<SessionClient> writer;

  std::mutex send_mu;  // one write at a time, taken before mu; guards producer
  Producer producer;

  std::mutex mu;  // everything below
  std::condition_variable cv;
  std::string buf;             // log text not yet sent
  std::int64_t buf_since = 0;  // steady ms at which buf's oldest byte was logged
  bool cut = false;            // an applied cancel ended the run's output: drop the rest
  Status broken;               // a write failed for good: every later call returns it
  bool lost = false;           // the server ended the run (lease)
  bool stopping = false;       // threads: finish
  JobState state = JobState::kQueued;
  bool terminal = false;        // the job ended: cancels are rejected "job already <state>"
  std::string last_line_state;  // state of the last state line written ("" = none)
  bool ended = false;
  Status end_status;
  JobSessionStats stats;

  std::thread flusher, heartbeat, control;

  Impl(const JobSessionOptions& options, Clock& c) : o(options), clock(c) {}

  std::unique_ptr<net::Transport> NewTransport() {
    if (o.transport) return o.transport();
    return std::make_unique<net::CurlTransport>();
  }
  SessionClient ClientOn(net::Transport& t) { return SessionClient(t, o.server, o.session, o.token, clock); }
  std::int64_t Poll() const {
    return o.clock_poll_ms > 0 ? o.clock_poll_ms : std::numeric_limits<std::int64_t>::max() / 4;
  }

  // With mu held: the next fragment of buf, cut after the last whole line that fits (or, for one
  // line longer than a fragment, at a UTF-8 boundary).
  std::string TakeFragmentLocked() {
    const std::size_t max = std::max<std::size_t>(o.max_fragment_bytes, 8);
    std::size_t n = buf.size();
    if (n > max) {
      const std::size_t nl = buf.rfind('\n', max - 1);
      n = nl != std::string::npos ? nl + 1 : CompleteUtf8Prefix(std::string_view(buf).substr(0, max));
      if (n == 0) n = max;  // not UTF-8 we can respect: send as is
    }
    std::string out = buf.substr(0, n);
    buf.erase(0, n);
    if (buf.empty()) buf_since = 0;
    cv.notify_all();  // room for a Log waiting on max_buffered_bytes
    return out;
  }

  bool DueLocked(std::int64_t now) const {
    return !buf.empty() && (buf.size() >= o.max_fragment_bytes || now - buf_since >= o.flush_ms);
  }

  // Sends buffered log text as msg.append fragments, in order: everything when `all`, otherwise
  // only while a fragment is due. Returns `broken`.
  Status SendBuffered(bool all) {
    std::lock_guard send(send_mu);
    std::unique_lock lock(mu);
    for (;;) {
      if (!broken.ok()) return broken;
      if (buf.empty() || (!all && !DueLocked(clock.SteadyMs()))) return Status::Ok();
      std::string text = TakeFragmentLocked();
      if (cut) {
        stats.dropped += text.size();
        continue;
      }
      lock.unlock();
      auto a = writer->Post(json{{"type", "msg.append"}, {"run", run}, {"msg", msg}, {"data", {{"text", text}}}},
                            &producer, o.retry_for_ms);
      lock.lock();
      if (!a.ok()) {
        broken = Status(a.status().code(),
                        "cannot append the job's log to session '" + o.session + "': " + a.status().message());
        stats.dropped += text.size();
      } else if (CancelledRefusal(*a)) {
        cut = true;  // the cancel was applied: what the stopping job still prints is not sent
        stats.dropped += text.size();
      } else if (a->status == 409) {
        lost = true;
        broken = a->Refusal("the server ended run '" + run + "'");
        stats.dropped += text.size();
      } else if (a->status < 200 || a->status >= 300) {
        broken = a->Refusal("cannot append the job's log to session '" + o.session + "'");
        stats.dropped += text.size();
      } else {
        ++stats.fragments;
        stats.bytes += text.size();
      }
      cv.notify_all();
    }
  }

  // With mu held: buffers one line (newline added).
  void BufferLocked(std::string_view line) {
    if (cut) {
      stats.dropped += line.size() + 1;
      return;
    }
    if (buf.empty()) buf_since = clock.SteadyMs();
    buf.append(line);
    buf.push_back('\n');
    if (buf.size() >= o.max_fragment_bytes) cv.notify_all();  // the flusher sends it now
  }

  void FlusherLoop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      const std::int64_t now = clock.SteadyMs();
      if (DueLocked(now) && broken.ok()) {
        lock.unlock();
        (void)SendBuffered(false);
        lock.lock();
        continue;
      }
      std::int64_t wait = Poll();
      if (!buf.empty()) wait = std::min(wait, buf_since + o.flush_ms - now);
      cv.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(wait, 1)));
    }
  }

  // Renews the lease at a third of it (as RunAgent does), reporting the job's state.
  void HeartbeatLoop(std::int64_t lease_start_ms) {
    SessionClient c = ClientOn(*t_beat);
    const std::int64_t period = std::max<std::int64_t>(lease / 3, 200);
    std::int64_t due = lease_start_ms + period;
    bool with_state = true;
    std::unique_lock lock(mu);
    while (!stopping && !lost) {
      const std::int64_t now = clock.SteadyMs();
      if (now < due) {
        cv.wait_for(lock, std::chrono::milliseconds(std::min(due - now, Poll())));
        continue;
      }
      const std::string state = with_state ? AgentState(this->state) : "";
      lock.unlock();
      auto a = c.Heartbeat(run, state);
      if (a.ok() && a->status == 400 && with_state) {
        // A server that takes no state (or not this one) still renews a bare heartbeat.
        with_state = false;
        a = c.Heartbeat(run, "");
      }
      lock.lock();
      if (a.ok() && a->status == 409) {
        lost = true;
        if (broken.ok()) broken = a->Refusal("the server ended run '" + run + "' (lease not renewed in time)");
        cv.notify_all();
      }
      due = now + period;  // from when it was sent, not when the answer came
    }
  }

  // Follows the session from the run's start and answers control requests for this run.
  void ControlLoop() {
    SessionClient c = ClientOn(*t_follow);
    SessionClient c_ack = ClientOn(*t_ack);
    Producer ctl{"control-" + run, static_cast<std::uint64_t>(clock.NowMs()), 0};
    bool applied = false;
    auto ack = [&](const std::string& id, const std::string& outcome, const std::string& reason) {
      json data = {{"outcome", outcome}};
      if (!reason.empty()) data["reason"] = reason;
      // A lost ack is not retried past retry_for_ms: the server acks every request still open
      // when the run ends (applied for a cancel if it ended cancelled).
      (void)c_ack.Post(json{{"type", "control.ack"}, {"run", run}, {"id", id}, {"data", data}}, &ctl, o.retry_for_ms);
    };
    // Follow reconnects by itself after a drop, but gives up when its first connection fails;
    // a job outlives such blips, so this loop starts it again after the last event it saw
    // (never from the run's start again: a cancel must reach on_cancel once).
    std::string offset = start_offset;
    bool run_ended = false;
    auto on_event = [&](const json& ev) {
      offset = StringOr(ev, "offset", offset);
      if (StringOr(ev, "run") != run) return true;
      const std::string type = StringOr(ev, "type");
      const std::string id = StringOr(ev, "id");
      if (type == "run.end") {
        run_ended = true;
        return false;
      }
      if (type == "control.steer") {
        ack(id, "rejected", "a job takes no steering");
      } else if (type == "control.cancel") {
        const json& data = ev.contains("data") && ev["data"].is_object() ? ev["data"] : json::object();
        const std::string reason = StringOr(data, "reason");
        std::string ended_as;
        {
          std::lock_guard lock(mu);
          ++stats.cancels;
          if (terminal) ended_as = JobStateName(state);
        }
        if (!ended_as.empty()) {
          ack(id, "rejected", "job already " + ended_as);
        } else if (applied) {
          ack(id, "applied", "");  // the backend already confirmed the job is stopping
        } else if (!o.on_cancel) {
          ack(id, "rejected", "this job cannot be cancelled from its session");
        } else {
          Status st = o.on_cancel(reason);
          if (st.ok()) {
            applied = true;
            {
              std::lock_guard lock(mu);
              ++stats.cancels_applied;
            }
            ack(id, "applied", "");
          } else {
            ack(id, "rejected", st.message().empty() ? "the backend refused the cancel" : st.message());
          }
        }
      }
      return true;
    };
    auto stop = [&] {
      std::lock_guard lock(mu);
      return stopping;
    };
    while (!run_ended && !stop()) {
      Status st = c.Follow(offset, false, "", on_event, stop);
      if (st.ok() || st.code() != Code::kUnavailable) return;  // stopped, or refused (401/403/404)
      clock.SleepMs(1000);
    }
  }

  void StopThreads() {
    {
      std::lock_guard lock(mu);
      stopping = true;
      cv.notify_all();
    }
    stop_stream = true;
    for (std::thread* t : {&flusher, &heartbeat, &control}) {
      if (t->joinable()) t->join();
    }
  }
};

JobSession::JobSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

JobSession::~JobSession() {
  if (impl_) impl_->StopThreads();
}

const std::string& JobSession::run() const { return impl_->run; }
const std::string& JobSession::msg() const { return impl_->msg; }

JobSessionStats JobSession::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

Result<std::unique_ptr<JobSession>> JobSession::Open(const JobSessionOptions& options, const JobRecord& record) {
  if (options.session.empty()) return Status::Usage("a job session needs a session name (jobs/<id>)");
  Clock& clock = options.clock ? *options.clock : Clock::System();
  auto impl = std::make_unique<Impl>(options, clock);
  Impl& s = *impl;
  s.t_writer = s.NewTransport();
  s.t_beat = s.NewTransport();
  s.t_follow = std::make_unique<StoppableTransport>(s.NewTransport(), &s.stop_stream);
  s.t_ack = s.NewTransport();
  s.writer = std::make_unique<SessionClient>(s.ClientOn(*s.t_writer));
  SessionClient& sc = *s.writer;

  auto created = sc.Create();
  if (!created.ok()) return created.status();
  if (created->status != 200 && created->status != 201) {
    return created->Refusal("cannot create session '" + options.session + "'");
  }
  s.producer = Producer{"job-" + s.run, static_cast<std::uint64_t>(clock.NowMs()), 0};
  json job = {{"id", record.id},
              {"backend", record.request.backend},
              {"name", record.request.name},
              {"kind", record.request.kind}};
  if (!record.backend_id.empty()) job["backend_id"] = record.backend_id;
  if (!record.url.empty()) job["url"] = record.url;
  json start = {
      {"type", "run.start"},
      {"run", s.run},
      {"data",
       {{"lease_ms", options.lease_ms}, {"takeover", true}, {"command", CommandLine(record.request)}, {"job", job}}}};
  auto started = sc.Post(start, &s.producer, options.retry_for_ms);
  if (!started.ok()) return started.status();
  // 200, or 204 for a retry of a run.start that had landed (the fake's answer to a duplicate).
  if (started->status != 200 && started->status != 204) {
    return started->Refusal("cannot start a run in session '" + options.session + "'");
  }
  s.start_offset = StringOr(started->body, "offset", "-1");
  const std::int64_t lease_start_ms = clock.SteadyMs();
  s.lease = options.lease_ms;
  if (started->body.is_object() && started->body.contains("lease_ms") &&
      started->body["lease_ms"].is_number_integer()) {
    s.lease = started->body["lease_ms"].get<std::int64_t>();  // the server's clamped value
  }
  auto m = sc.Post(json{{"type", "msg.start"},
                        {"run", s.run},
                        {"msg", s.msg},
                        {"data", {{"role", "assistant"}, {"kind", "job.log"}}}},
                   &s.producer, options.retry_for_ms);
  if (!m.ok() || (m->status != 200 && m->status != 204)) {
    Status why = m.ok() ? m->Refusal("cannot start the job's message") : m.status();
    (void)sc.Post(json{{"type", "run.end"}, {"run", s.run}, {"data", {{"reason", "error"}, {"error", why.message()}}}},
                  &s.producer, options.retry_for_ms);
    return why;
  }
  {
    std::lock_guard lock(s.mu);
    s.state = record.status.state;
  }
  s.flusher = std::thread([&s] { s.FlusherLoop(); });
  s.heartbeat = std::thread([&s, lease_start_ms] { s.HeartbeatLoop(lease_start_ms); });
  s.control = std::thread([&s] { s.ControlLoop(); });
  return std::unique_ptr<JobSession>(new JobSession(std::move(impl)));
}

Status JobSession::Log(std::string_view line) {
  Impl& s = *impl_;
  // A line read with its terminator keeps one newline, not two.
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::unique_lock lock(s.mu);
  if (!s.broken.ok()) return s.broken;
  if (s.ended) return Status::Conflict("the job's run in session '" + s.o.session + "' has ended");
  ++s.stats.lines;
  s.BufferLocked(line);
  // Back-pressure: a server slower than the job waits here rather than grow memory or drop lines.
  s.cv.wait(lock, [&] { return s.buf.size() <= s.o.max_buffered_bytes || !s.broken.ok() || s.stopping; });
  return s.broken;
}

Status JobSession::Flush() { return impl_->SendBuffered(true); }

Status JobSession::State(const JobStatus& status) {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (!s.broken.ok()) return s.broken;
    if (s.ended) return Status::Conflict("the job's run in session '" + s.o.session + "' has ended");
    s.state = status.state;
    if (IsTerminal(status.state)) s.terminal = true;
    s.BufferLocked(StateLine(status));
    s.last_line_state = JobStateName(status.state);
  }
  return s.SendBuffered(true);
}

Status JobSession::End(const JobStatus& final) {
  Impl& s = *impl_;
  {
    std::lock_guard lock(s.mu);
    if (s.ended) return s.end_status;
    s.ended = true;
    s.state = final.state;
    s.terminal = true;  // from here a cancel is answered "job already <state>"
    if (s.last_line_state != JobStateName(final.state)) s.BufferLocked(StateLine(final));
  }
  Status result = s.SendBuffered(true);
  bool lost;
  {
    std::lock_guard lock(s.mu);
    lost = s.lost;
  }
  if (!lost) {
    std::lock_guard send(s.send_mu);
    // msg.end closes the message even after a cancel cut its output (the server accepts it).
    auto me = s.writer->Post(json{{"type", "msg.end"}, {"run", s.run}, {"msg", s.msg}, {"data", json::object()}},
                             &s.producer, s.o.retry_for_ms);
    json data = {{"reason", EndReason(final.state)},
                 {"state", JobStateName(final.state)},
                 {"backend_state", final.backend_state}};
    if (final.exit_code) data["exit_code"] = *final.exit_code;
    if (std::string(EndReason(final.state)) == "error") {
      data["error"] = final.detail.empty() ? std::string("job ") + JobStateName(final.state) : final.detail;
    }
    auto a = s.writer->Post(json{{"type", "run.end"}, {"run", s.run}, {"data", data}}, &s.producer, s.o.retry_for_ms);
    Status ended;
    if (!a.ok()) {
      ended = a.status();
    } else if (a->status != 200 && a->status != 204) {
      ended = a->Refusal("cannot end run '" + s.run + "' in session '" + s.o.session + "'");
    } else if (me.ok() && me->status != 200 && me->status != 204 && me->status != 409) {
      ended = me->Refusal("cannot end the job's message");  // 409: the server had closed it
    }
    if (result.ok()) result = ended;
  } else if (result.ok()) {
    result = Status::Conflict("the server ended run '" + s.run + "' (lease not renewed in time)");
  }
  s.StopThreads();
  std::lock_guard lock(s.mu);
  s.end_status = result;
  return result;
}

}  // namespace dsx::jobs
