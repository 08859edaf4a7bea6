#include "session/client/agent_runner.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <mutex>
#include <thread>

#include "net/curl_transport.hpp"
#include "session/client/session_client.hpp"
#include "session/wire/event.hpp"

namespace dsx::session::client {
namespace {

using wire::RandomId;
using wire::StringOr;

struct Shared {
  std::atomic<bool> finished{false};  // the command exited: control/heartbeat threads stop
  std::atomic<bool> cancelled{false};
  std::atomic<bool> lost{false};    // the server ended the run
  std::atomic<int> interrupted{0};  // the signal that interrupted the runner (stop_on_signals)
  std::atomic<int> cancels{0};
  std::atomic<int> steers{0};
  std::mutex mu;
  std::condition_variable cv;
};

void Note(const AgentRunOptions& o, const std::string& s) {
  if (o.notice) o.notice(s);
}

Status Refusal(const char* what, const Answer& a) { return a.Refusal(what); }

// The server's refusal of output after an applied cancel (session_state.cpp, CancelledOutput).
bool CancelledRefusal(const Answer& a) {
  return a.status == 409 && a.Error().find("was cancelled") != std::string::npos;
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "a signal";
  }
}

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and so in the threads it starts
// afterwards) and hands each arrival to `on_signal(sig, nth)` on a thread of its own. The
// command runs in its own process group, so a terminal's Ctrl-C reaches only the runner,
// which must pass it on. The previous mask is restored at destruction.
class SignalWatch {
 public:
  explicit SignalWatch(std::function<void(int, int)> on_signal) {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
    thread_ = std::thread([this, f = std::move(on_signal)] {
      int nth = 0;
      const timespec tick{0, 100 * 1000 * 1000};
      while (!done_.load()) {
        const int sig = sigtimedwait(&set_, nullptr, &tick);
        if (sig > 0) f(sig, ++nth);
      }
    });
  }
  ~SignalWatch() {
    done_ = true;
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;

 private:
  sigset_t set_;
  sigset_t old_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

std::size_t CompleteUtf8Prefix(std::string_view s) {
  // Walk back over at most 3 continuation bytes to the last lead byte.
  std::size_t i = s.size();
  int cont = 0;
  while (i > 0 && cont < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) {
    --i;
    ++cont;
  }
  if (i == 0) return s.size();  // no lead byte: not UTF-8 we can fix; send as is
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  int need = 0;
  if (lead >= 0xF0) need = 3;
  else if (lead >= 0xE0) need = 2;
  else if (lead >= 0xC0) need = 1;
  else return s.size();  // ASCII lead: complete
  return cont >= need ? s.size() : i - 1;
}

Result<AgentRunResult> RunAgent(const AgentRunOptions& o, const AgentRunEnv& env) {
  Clock& clock = env.clock ? *env.clock : Clock::System();
  auto new_transport = [&env]() -> std::unique_ptr<net::Transport> {
    if (env.transport) return env.transport();
    return std::make_unique<net::CurlTransport>();
  };
  auto client_on = [&](net::Transport& t) { return SessionClient(t, o.server, o.session, o.token, clock); };
  AgentRunResult res;
  res.run = RandomId("r-");
  res.msg = RandomId("m-");
  Shared sh;
  std::unique_ptr<Agent> proc;
  std::atomic<Agent*> live{nullptr};  // what the signal thread may touch
  // Declared after `proc`, so destroyed (its thread joined) before it.
  std::unique_ptr<SignalWatch> signals;
  // Watching signals starts before anything is sent: a Ctrl-C at any moment, even while the
  // run.start is in flight, ends the run `interrupted` at once instead of leaving it "thinking"
  // until its lease lapses (issue 18).
  if (o.stop_on_signals) {
    signals = std::make_unique<SignalWatch>([&](int sig, int nth) {
      if (nth == 1) {
        sh.interrupted = sig;  // before reading `live`: the starter reads them the other way round
        Note(o, std::string("interrupted by ") + SignalName(sig) +
                    ": stopping the agent (SIGTERM to its process group, " + "SIGKILL after " +
                    std::to_string(o.grace.count()) + " ms)");
        if (Agent* q = live.load()) q->RequestStop();
      } else if (nth == 2) {
        Note(o, std::string(SignalName(sig)) + " again: SIGKILL to the agent's process group");
        if (Agent* q = live.load()) q->Kill();
      } else {
        if (Agent* q = live.load()) q->Kill();
        Note(o, std::string(SignalName(sig)) + " a third time: exiting without ending run '" + res.run +
                    "' (its lease lapses)");
        std::_Exit(128 + sig);
      }
    });
  }
  auto transport = new_transport();
  SessionClient sc = client_on(*transport);

  auto created = sc.Create();
  if (!created.ok()) return created.status();
  if (created->status != 200 && created->status != 201) return Refusal("cannot create the session", *created);

  if (sh.interrupted.load() != 0) {
    return Status::Interrupted(std::string("interrupted by ") + SignalName(sh.interrupted.load()) +
                               " before the run started");
  }
  Producer producer{"agent-" + res.run, static_cast<std::uint64_t>(clock.NowMs()), 0};
  json start = {{"type", "run.start"},
                {"run", res.run},
                {"data", {{"lease_ms", o.lease_ms}, {"command", o.argv.empty() ? "" : o.argv[0]}}}};
  if (!o.lane.empty()) start["lane"] = o.lane;
  auto started = sc.Post(start, &producer, o.retry_for_ms);
  if (!started.ok()) return started.status();
  if (started->status != 200) return Refusal("cannot start a run", *started);
  const std::string start_offset = StringOr(started->body, "offset", "-1");
  const std::int64_t lease_start_ms = clock.SteadyMs();  // heartbeats are due from here
  std::int64_t lease = o.lease_ms;                       // the server's clamped value when it says so
  if (started->body.is_object() && started->body.contains("lease_ms") &&
      started->body["lease_ms"].is_number_integer()) {
    lease = started->body["lease_ms"].get<std::int64_t>();
  }
  Note(o, "run '" + res.run + "' started in session '" + o.session + "'");

  auto end_run = [&](const std::string& reason, const json& extra) -> Status {
    json data = extra;
    data["reason"] = reason;
    auto a = sc.Post(json{{"type", "run.end"}, {"run", res.run}, {"data", data}}, &producer, o.retry_for_ms);
    if (!a.ok()) return a.status();
    if (a->status != 200 && a->status != 204) return Refusal("cannot end the run", *a);
    return Status::Ok();
  };

  if (sh.interrupted.load() != 0) {  // a signal came while the run was starting: no agent at all
    res.reason = "interrupted";
    DSX_RETURN_IF_ERROR(end_run("interrupted", json{{"interrupted", SignalName(sh.interrupted.load())}}));
    return res;
  }
  {
    auto started_proc = env.start_agent ? env.start_agent(o.argv, o.grace) : [&]() -> Result<std::unique_ptr<Agent>> {
      auto p = AgentProcess::Start(o.argv, o.grace);
      if (!p.ok()) return p.status();
      return std::unique_ptr<Agent>(std::move(p).value());
    }();
    if (!started_proc.ok()) {
      (void)end_run("error", json{{"error", started_proc.status().message()}});
      return started_proc.status();
    }
    proc = std::move(started_proc).value();
    live = proc.get();
    if (sh.interrupted.load() != 0) proc->RequestStop();  // a signal came while it was starting
  }
  Agent& p = *proc;
  auto m = sc.Post(json{{"type", "msg.start"}, {"run", res.run}, {"msg", res.msg}, {"data", {{"role", "assistant"}}}},
                   &producer, o.retry_for_ms);
  if (!m.ok() || m->status != 200) {
    p.Stop(o.grace);
    (void)end_run("error", json{{"error", "cannot start the message"}});
    return m.ok() ? Refusal("cannot start the message", *m) : m.status();
  }

  // An ack in flight is stored before the run's end: a steer delivered just before the agent
  // exits is answered, not left to be 'rejected: run ended before the agent answered'.
  std::mutex ack_mu;
  // Control: follow the session from the run's start and answer requests for this run.
  std::thread control([&] {
    auto t = new_transport();  // one per exchange in flight: acks go out mid-stream
    auto t_ack = new_transport();
    SessionClient c = client_on(*t);
    SessionClient c_ack = client_on(*t_ack);
    Producer ctl{"control-" + res.run, static_cast<std::uint64_t>(clock.NowMs()), 0};
    auto ack = [&](const std::string& id, const std::string& outcome, const std::string& reason) {
      json data = {{"outcome", outcome}};
      if (!reason.empty()) data["reason"] = reason;
      std::lock_guard in_flight(ack_mu);
      (void)c_ack.Post(json{{"type", "control.ack"}, {"run", res.run}, {"id", id}, {"data", data}}, &ctl,
                       o.retry_for_ms);
    };
    (void)c.Follow(
        start_offset, false, "",
        [&](const json& ev) {  // events from the log: StringOr, never a throwing value()
          if (StringOr(ev, "run") != res.run) return true;
          const std::string type = StringOr(ev, "type");
          const std::string id = StringOr(ev, "id");
          if (type == "run.end") return false;
          if (type == "control.cancel") {
            // Signal first (RequestStop does not wait), then ack: the stop does not wait for
            // the ack's round trip, and the server cuts the run's output at the ack.
            const bool first = !sh.cancelled.exchange(true);
            if (first) {
              ++sh.cancels;
              Note(o, "cancel received: stopping the agent (SIGTERM to its process group, SIGKILL after " +
                          std::to_string(o.grace.count()) + " ms)");
            }
            p.RequestStop();
            ack(id, "applied", "");
          } else if (type == "control.steer") {
            const json data = ev.contains("data") && ev["data"].is_object() ? ev["data"] : json::object();
            std::string line = data.contains("text") && data["text"].is_string()
                                   ? data["text"].get<std::string>()
                                   : (data.contains("json") ? data["json"] : json())
                                         .dump(-1, ' ', false, json::error_handler_t::replace);
            if (line.empty() || line.back() != '\n') line.push_back('\n');
            Status st = p.WriteStdin(line);
            ++sh.steers;
            ack(id, st.ok() ? "applied" : "rejected", st.ok() ? "" : st.message());
          }
          return true;
        },
        [&] { return sh.finished.load(); });
  });
  // Heartbeats: renew the lease at a third of it, a period after the last one.
  std::atomic<std::uint64_t> fragments{0};  // res.fragments, as the heartbeat thread reads it
  std::thread heartbeat([&] {
    auto t = new_transport();
    SessionClient c = client_on(*t);
    const std::int64_t period = std::max<std::int64_t>(lease / 3, 200);
    const std::int64_t poll = env.clock_poll_ms > 0 ? env.clock_poll_ms : std::numeric_limits<std::int64_t>::max();
    std::int64_t due = lease_start_ms + period;
    std::unique_lock lock(sh.mu);
    while (!sh.finished.load()) {
      const std::int64_t now = clock.SteadyMs();
      if (now < due) {
        sh.cv.wait_for(lock, std::chrono::milliseconds(std::min(due - now, poll)));
        continue;
      }
      lock.unlock();
      auto a = c.Heartbeat(res.run, fragments.load() > 0 ? "streaming" : "thinking");
      if (a.ok() && a->status == 409) {
        sh.lost = true;
        Note(o, "the server ended run '" + res.run + "': " + a->Error() + "; stopping the agent");
        p.RequestStop();
      }
      lock.lock();
      due = now + period;  // from when it was sent, not when the answer came
    }
  });

  Status failure;
  std::string pending;
  bool cut = false;  // no more output is sent; the rest is read (the command must not block) and dropped
  auto cut_here = [&] {
    cut = true;
    res.dropped += pending.size();
    pending.clear();
  };
  for (;;) {
    auto chunk = p.ReadStdout();
    if (!chunk.ok()) {
      failure = chunk.status();
      p.RequestStop();
      break;
    }
    const bool eof = chunk->empty();
    if (!cut && (sh.lost.load() || sh.interrupted.load() != 0)) cut_here();
    if (cut) {
      res.dropped += chunk->size();
      if (eof) break;
      continue;
    }
    pending += *chunk;
    const std::size_t n = eof ? pending.size() : CompleteUtf8Prefix(pending);
    if (n > 0) {
      auto a = sc.Post(
          json{{"type", "msg.append"}, {"run", res.run}, {"msg", res.msg}, {"data", {{"text", pending.substr(0, n)}}}},
          &producer, o.retry_for_ms);
      if (!a.ok()) {
        failure = a.status();
        p.RequestStop();
        cut_here();
      } else if (CancelledRefusal(*a)) {
        // The cancel was applied (normally by our own ack): the reply ends here. Not an error.
        sh.cancelled = true;
        p.RequestStop();
        cut_here();
      } else if (a->status == 409) {
        sh.lost = true;
        p.RequestStop();
        cut_here();
      } else if (a->status != 200 && a->status != 204) {
        failure = Refusal("cannot append output", *a);
        p.RequestStop();
        cut_here();
      } else {
        res.bytes += n;
        fragments = ++res.fragments;
        pending.erase(0, n);
      }
    }
    if (eof) break;
  }
  res.exit = p.Wait();
  p.Stop(o.grace);  // whatever the command left running in its group (it closed stdout) goes too
  if (res.dropped > 0) {
    Note(o, std::to_string(res.dropped) + " bytes of output after the " +
                (sh.interrupted.load() ? "interrupt"
                 : sh.lost.load()      ? "end of the run"
                 : failure.ok()        ? "cancel"
                                       : "error") +
                " were not sent");
  }
  sh.finished = true;
  sh.cv.notify_all();
  heartbeat.join();
  res.cancels = sh.cancels.load();
  res.steers = sh.steers.load();

  Status ended;
  std::unique_lock acks_done(ack_mu);  // held until run.end is written (see ack_mu)
  if (sh.lost.load()) {
    res.reason = "agent_lost";
  } else if (!failure.ok()) {
    res.reason = "error";
    ended = end_run("error", json{{"error", failure.message()}});
  } else {
    (void)sc.Post(json{{"type", "msg.end"}, {"run", res.run}, {"msg", res.msg}}, &producer, o.retry_for_ms);
    json extra = json::object();
    if (sh.interrupted.load() != 0) {
      // Not `cancelled` (no one sent a control.cancel) nor the agent's `error`: the person at
      // the terminal stopped the runner (docs/protocol/sessions.md, run.end reasons).
      res.reason = "interrupted";
      extra["interrupted"] = SignalName(sh.interrupted.load());
    } else if (sh.cancelled.load()) {
      res.reason = "cancelled";
    } else if (res.exit.exited && res.exit.code == 0) {
      res.reason = "done";
    } else {
      res.reason = "error";
      extra["error"] = res.exit.Describe();
    }
    if (res.exit.exited) extra["exit_code"] = res.exit.code;
    if (!res.exit.exited) extra["signal"] = res.exit.signal;
    ended = end_run(res.reason, extra);
  }
  acks_done.unlock();
  control.join();  // the follower sees our run.end (or stops as finished)
  if (!failure.ok()) return failure;
  if (!ended.ok()) return ended;
  if (sh.lost.load())
    return Status::Conflict("the server ended run '" + res.run + "' (agent_lost): lease not renewed in time");
  return res;
}

}  // namespace dsx::session::client
