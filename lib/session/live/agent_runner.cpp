#include "session/live/agent_runner.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "session/client/curl_transport.hpp"
#include "session/live/event.hpp"
#include "session/live/session_client.hpp"

namespace dsx::session::live {
namespace {

struct Shared {
  std::atomic<bool> finished{false};   // the command exited: control/heartbeat threads stop
  std::atomic<bool> cancelled{false};
  std::atomic<bool> lost{false};       // the server ended the run
  std::atomic<int> cancels{0};
  std::atomic<int> steers{0};
  std::mutex mu;
  std::condition_variable cv;
};

void Note(const AgentRunOptions& o, const std::string& s) {
  if (o.notice) o.notice(s);
}

Status Refusal(const char* what, const Answer& a) {
  const std::string why = std::string(what) + ": " + a.Error();
  if (a.status == 401 || a.status == 403 || a.status == 409) return Status::Conflict(why);
  if (a.status == 404) return Status::NotFound(why);
  return Status::Failed(why);
}

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

Result<AgentRunResult> RunAgent(const AgentRunOptions& o) {
  client::CurlTransport transport;
  SessionClient sc(transport, o.server, o.session, o.token);
  AgentRunResult res;

  auto created = sc.Create();
  if (!created.ok()) return created.status();
  if (created->status != 200 && created->status != 201) return Refusal("cannot create the session", *created);

  res.run = RandomId("r-");
  res.msg = RandomId("m-");
  Producer producer{"agent-" + res.run, static_cast<std::uint64_t>(NowMs()), 0};
  json start = {{"type", "run.start"}, {"run", res.run},
                {"data", {{"lease_ms", o.lease_ms}, {"command", o.argv.empty() ? "" : o.argv[0]}}}};
  if (!o.lane.empty()) start["lane"] = o.lane;
  auto started = sc.Post(start, &producer, o.retry_for_ms);
  if (!started.ok()) return started.status();
  if (started->status != 200) return Refusal("cannot start a run", *started);
  const std::string start_offset = started->body.value("offset", "-1");
  const std::int64_t lease = started->body.value("lease_ms", o.lease_ms);
  Note(o, "run '" + res.run + "' started in session '" + o.session + "'");

  auto end_run = [&](const std::string& reason, const json& extra) -> Status {
    json data = extra;
    data["reason"] = reason;
    auto a = sc.Post(json{{"type", "run.end"}, {"run", res.run}, {"data", data}}, &producer, o.retry_for_ms);
    if (!a.ok()) return a.status();
    if (a->status != 200 && a->status != 204) return Refusal("cannot end the run", *a);
    return Status::Ok();
  };

  auto proc = AgentProcess::Start(o.argv);
  if (!proc.ok()) {
    (void)end_run("error", json{{"error", proc.status().message()}});
    return proc.status();
  }
  AgentProcess& p = **proc;
  auto m = sc.Post(json{{"type", "msg.start"}, {"run", res.run}, {"msg", res.msg}, {"data", {{"role", "assistant"}}}},
                   &producer, o.retry_for_ms);
  if (!m.ok() || m->status != 200) {
    p.Stop(o.grace);
    (void)end_run("error", json{{"error", "cannot start the message"}});
    return m.ok() ? Refusal("cannot start the message", *m) : m.status();
  }

  Shared sh;
  // Control: follow the session from the run's start and answer requests for this run.
  std::thread control([&] {
    client::CurlTransport t, t_ack;  // one easy handle per exchange in flight: acks go out mid-stream
    SessionClient c(t, o.server, o.session, o.token);
    SessionClient c_ack(t_ack, o.server, o.session, o.token);
    Producer ctl{"control-" + res.run, static_cast<std::uint64_t>(NowMs()), 0};
    auto ack = [&](const std::string& id, const std::string& outcome, const std::string& reason) {
      json data = {{"outcome", outcome}};
      if (!reason.empty()) data["reason"] = reason;
      (void)c_ack.Post(json{{"type", "control.ack"}, {"run", res.run}, {"id", id}, {"data", data}}, &ctl, o.retry_for_ms);
    };
    (void)c.Follow(
        start_offset, false, "",
        [&](const json& ev) {
          if (ev.value("run", "") != res.run) return true;
          const std::string type = ev.value("type", "");
          const std::string id = ev.value("id", "");
          if (type == "run.end") return false;
          if (type == "control.cancel") {
            if (sh.cancelled.exchange(true)) {
              ack(id, "applied", "");  // already stopping
              return true;
            }
            ++sh.cancels;
            ack(id, "applied", "");
            Note(o, "cancel received: stopping the agent (SIGINT, SIGTERM, SIGKILL " +
                        std::to_string(o.grace.count()) + " ms apart)");
            p.Stop(o.grace);
          } else if (type == "control.steer") {
            const json data = ev.contains("data") ? ev["data"] : json::object();
            std::string line = data.contains("text") && data["text"].is_string() ? data["text"].get<std::string>()
                                                                                 : data.value("json", json()).dump();
            if (line.empty() || line.back() != '\n') line.push_back('\n');
            Status st = p.WriteStdin(line);
            ++sh.steers;
            ack(id, st.ok() ? "applied" : "rejected", st.ok() ? "" : st.message());
          }
          return true;
        },
        [&] { return sh.finished.load(); });
  });
  // Heartbeats: renew the lease at a third of it.
  std::thread heartbeat([&] {
    client::CurlTransport t;
    SessionClient c(t, o.server, o.session, o.token);
    const auto period = std::chrono::milliseconds(std::max<std::int64_t>(lease / 3, 200));
    std::unique_lock lock(sh.mu);
    while (!sh.finished.load()) {
      sh.cv.wait_for(lock, period);
      if (sh.finished.load()) break;
      lock.unlock();
      auto a = c.Heartbeat(res.run, res.fragments > 0 ? "streaming" : "thinking");
      if (a.ok() && a->status == 409) {
        sh.lost = true;
        Note(o, "the server ended run '" + res.run + "': " + a->Error() + "; stopping the agent");
        p.Stop(o.grace);
      }
      lock.lock();
    }
  });

  Status failure;
  std::string pending;
  for (;;) {
    auto chunk = p.ReadStdout();
    if (!chunk.ok()) {
      failure = chunk.status();
      break;
    }
    const bool eof = chunk->empty();
    pending += *chunk;
    const std::size_t n = eof ? pending.size() : CompleteUtf8Prefix(pending);
    if (n > 0 && !sh.lost.load()) {
      auto a = sc.Post(json{{"type", "msg.append"}, {"run", res.run}, {"msg", res.msg}, {"data", {{"text", pending.substr(0, n)}}}},
                       &producer, o.retry_for_ms);
      if (!a.ok()) {
        failure = a.status();
        p.Stop(o.grace);
        break;
      }
      if (a->status == 409) {
        sh.lost = true;
        p.Stop(o.grace);
      } else if (a->status != 200 && a->status != 204) {
        failure = Refusal("cannot append output", *a);
        p.Stop(o.grace);
        break;
      } else {
        res.bytes += n;
        ++res.fragments;
      }
      pending.erase(0, n);
    }
    if (eof) break;
  }
  res.exit = p.Wait();
  sh.finished = true;
  sh.cv.notify_all();
  heartbeat.join();
  res.cancels = sh.cancels.load();
  res.steers = sh.steers.load();

  Status ended;
  if (sh.lost.load()) {
    res.reason = "agent_lost";
  } else if (!failure.ok()) {
    res.reason = "error";
    ended = end_run("error", json{{"error", failure.message()}});
  } else {
    (void)sc.Post(json{{"type", "msg.end"}, {"run", res.run}, {"msg", res.msg}}, &producer, o.retry_for_ms);
    json extra = json::object();
    if (sh.cancelled.load()) {
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
  control.join();  // the follower sees our run.end (or stops as finished)
  if (!failure.ok()) return failure;
  if (!ended.ok()) return ended;
  if (sh.lost.load()) return Status::Conflict("the server ended run '" + res.run + "' (agent_lost): lease not renewed in time");
  return res;
}

}  // namespace dsx::session::live
