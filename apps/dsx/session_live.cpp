// dsx session run|cancel|steer|who|token: flags -> lib/session/client (and lib/session/auth),
// then print. Behaviour and output shapes: docs/cli/session-live.md; protocol:
// docs/protocol/sessions.md.
#include <chrono>
#include <cstdio>
#include <memory>

#include "cli.hpp"
#include "commands.hpp"
#include "net/curl_transport.hpp"
#include "session/auth/jwt.hpp"
#include "session/client/agent_runner.hpp"
#include "session/client/run_control.hpp"
#include "session/client/server_list.hpp"
#include "session/client/session_client.hpp"

namespace dsx::cmd {
namespace {

namespace lv = dsx::session::client;
using nlohmann::json;

struct LiveCommon {
  std::string session;
  cli::ServerFlags net;
  bool json = false;
};

void AddLiveCommon(CLI::App* cmd, LiveCommon& c) {
  cmd->add_option("session", c.session, "session id (chat/42)")->required();
  cli::AddServerListFlags(cmd, c.net);
  cmd->add_flag("--json", c.json, "print one JSON document instead of text");
}

// --server URL1,URL2,...: a bad list is a usage error before anything is sent (SessionClient
// itself would take an unparsable list as one URL).
Status CheckServers(const LiveCommon& c) { return lv::ParseServerList(c.net.server).status(); }

// Progress notes on stderr, unless --quiet.
void Notice(const std::string& line) {
  if (!cli::Quiet()) std::fprintf(stderr, "dsx: %s\n", line.c_str());
}

// ---------------------------------------------------------------- run

struct RunFlags {
  LiveCommon c;
  std::vector<std::string> command;
  std::string lane;
  double lease_s = 15;
  double grace_s = 3;
  double retry_for_s = 120;
};

void RunRun(const RunFlags& f) {
  if (Status s = CheckServers(f.c); !s.ok()) return cli::Finish(s);
  if (f.command.empty()) return cli::Finish(Status::Usage("no command: dsx session run SESSION -- COMMAND..."));
  if (f.lease_s < 1 || f.lease_s > 600) return cli::Finish(Status::Usage("--lease must be 1..600 seconds"));
  if (f.grace_s < 0) return cli::Finish(Status::Usage("--grace must be >= 0"));
  lv::AgentRunOptions o;
  o.server = f.c.net.server;
  o.session = f.c.session;
  o.token = f.c.net.token;
  o.argv = f.command;
  o.lane = f.lane;
  o.lease_ms = static_cast<std::int64_t>(f.lease_s * 1000);
  o.grace = std::chrono::milliseconds(static_cast<std::int64_t>(f.grace_s * 1000));
  o.retry_for_ms = static_cast<long>(f.retry_for_s * 1000);
  o.notice = [](const std::string& s) { Notice(s); };
  o.stop_on_signals = true;  // COMMAND has its own process group: Ctrl-C reaches only us
  auto r = lv::RunAgent(o);
  if (!r.ok()) return cli::Finish(r.status().Wrap("cannot run the agent in '" + f.c.session + "'"));
  if (f.c.json) {
    cli::PrintJson(json{{"session", f.c.session},
                        {"run", r->run},
                        {"msg", r->msg},
                        {"reason", r->reason},
                        {"exit", r->exit.Describe()},
                        {"bytes", r->bytes},
                        {"fragments", r->fragments},
                        {"cancels", r->cancels},
                        {"steers", r->steers}});
  } else {
    std::printf("run %s ended: %s (%s, %llu bytes in %llu fragments)\n", r->run.c_str(), r->reason.c_str(),
                r->exit.Describe().c_str(), static_cast<unsigned long long>(r->bytes),
                static_cast<unsigned long long>(r->fragments));
  }
  if (r->reason == "cancelled") return cli::Finish(Status::Interrupted("run '" + r->run + "' was cancelled"));
  if (r->reason == "interrupted") return cli::Finish(Status::Interrupted("run '" + r->run + "' was interrupted"));
  if (r->reason == "error") return cli::Finish(Status::Failed("the agent failed: " + r->exit.Describe()));
  cli::Finish(Status::Ok());
}

// ---------------------------------------------------------------- cancel, steer

struct ControlFlags {
  LiveCommon c;
  std::vector<std::string> args;  // [RUN] (cancel) or [RUN] TEXT (steer)
  bool steer = false;
  bool json_data = false;  // steer: TEXT is JSON
  std::string reason;
  double wait_s = 10;
};

void RunControl(const ControlFlags& f) {
  if (Status s = CheckServers(f.c); !s.ok()) return cli::Finish(s);
  lv::ControlRequest q;
  q.steer = f.steer;
  std::string text;
  if (f.steer) {
    if (f.args.empty() || f.args.size() > 2) return cli::Finish(Status::Usage("steer needs [RUN] TEXT"));
    text = f.args.back();
    if (f.args.size() == 2) q.run = f.args[0];
  } else {
    if (f.args.size() > 1) return cli::Finish(Status::Usage("cancel takes at most one RUN"));
    if (!f.args.empty()) q.run = f.args[0];
  }
  if (f.steer) {
    if (f.json_data) {
      json v = json::parse(text, nullptr, false);
      if (v.is_discarded()) return cli::Finish(Status::Usage("--json-data: TEXT is not valid JSON"));
      q.data = {{"json", v}};
    } else {
      q.data = {{"text", text}};
    }
  }
  q.reason = f.reason;
  q.wait_ms = static_cast<std::int64_t>(f.wait_s * 1000);
  net::CurlTransport transport;
  lv::SessionClient sc(transport, f.c.net.server, f.c.session, f.c.net.token);
  auto report = lv::SendControl(sc, Clock::System(), q);
  if (!report.ok()) return cli::Finish(report.status());
  const std::string verb = f.steer ? "steer" : "cancel";
  if (f.c.json) {
    json results = json::array();
    for (const auto& p : report->results) {
      results.push_back({{"run", p.run}, {"id", p.id}, {"outcome", p.outcome}, {"reason", p.reason}});
    }
    cli::PrintJson(json{{"session", f.c.session}, {"action", verb}, {"results", results}});
  } else {
    for (const auto& p : report->results) {
      const std::string outcome = p.outcome == "applied" ? "acknowledged (applied)" : p.outcome;
      std::printf("%s run %s: %s%s%s\n", verb.c_str(), p.run.c_str(), outcome.c_str(), p.reason.empty() ? "" : ": ",
                  p.reason.c_str());
    }
  }
  cli::Finish(report->status);
}

// ---------------------------------------------------------------- who

void RunWho(const LiveCommon& c) {
  if (Status s = CheckServers(c); !s.ok()) return cli::Finish(s);
  net::CurlTransport transport;
  lv::SessionClient sc(transport, c.net.server, c.session, c.net.token);
  auto info = sc.Info();
  if (!info.ok()) return cli::Finish(info.status().Wrap("cannot list '" + c.session + "'"));
  if (info->status != 200) return cli::Finish(info->Refusal("cannot list '" + c.session + "'"));
  const json members = info->body.value("presence", json::array());
  const json runs = info->body.value("runs", json::array());
  if (c.json) {
    cli::PrintJson(
        json{{"session", c.session}, {"offset", info->body.value("offset", "")}, {"members", members}, {"runs", runs}});
    return cli::Finish(Status::Ok());
  }
  std::printf("%-7s %-20s %-12s %-10s %s\n", "KIND", "WHO", "DEVICE", "STATE", "RUN");
  for (const auto& m : members) {
    std::printf("%-7s %-20s %-12s %-10s %s\n", m.value("kind", "").c_str(), m.value("sub", "").c_str(),
                m.value("device", "-").c_str(), m.value("state", "").c_str(), m.value("run", "-").c_str());
  }
  if (members.empty()) std::printf("(nobody present)\n");
  std::printf("%zu active run%s\n", runs.size(), runs.size() == 1 ? "" : "s");
  cli::Finish(Status::Ok());
}

// ---------------------------------------------------------------- token

struct TokenFlags {
  std::string key_file, sub, rights, pattern = "*", ttl = "1h", device;
  bool json = false;
};

Result<std::int64_t> ParseTtl(const std::string& s) {
  if (s.empty()) return Status::Usage("empty --ttl");
  std::int64_t mult = 1;
  std::string num = s;
  switch (s.back()) {
    case 's':
      mult = 1;
      num.pop_back();
      break;
    case 'm':
      mult = 60;
      num.pop_back();
      break;
    case 'h':
      mult = 3600;
      num.pop_back();
      break;
    case 'd':
      mult = 86400;
      num.pop_back();
      break;
    default: break;
  }
  if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || num.size() > 9) {
    return Status::Usage("invalid --ttl '" + s + "': want N, Ns, Nm, Nh or Nd");
  }
  const std::int64_t v = std::stoll(num) * mult;
  if (v <= 0) return Status::Usage("--ttl must be positive");
  return v;
}

void RunToken(const TokenFlags& f) {
  auto ttl = ParseTtl(f.ttl);
  if (!ttl.ok()) return cli::Finish(ttl.status());
  auto rights = session::auth::ParseRightList(f.rights);
  if (!rights.ok()) return cli::Finish(rights.status());
  auto key = session::auth::TokenKey::FromFile(f.key_file);
  if (!key.ok()) return cli::Finish(key.status());
  session::auth::Principal p;
  p.sub = f.sub;
  p.device = f.device;
  p.grants.push_back({f.pattern, *rights});
  const std::int64_t now = dsx::NowMs() / 1000;
  auto token = (*key)->Mint(p, now, *ttl);
  if (!token.ok()) return cli::Finish(token.status().Wrap("cannot mint a token"));
  if (f.json) {
    json r = json::array();
    for (auto x : *rights) r.push_back(session::auth::RightName(x));
    cli::PrintJson(json{{"sub", f.sub},
                        {"session", f.pattern},
                        {"rights", r},
                        {"exp", now + *ttl},
                        {"alg", (*key)->AlgName()},
                        {"token", *token}});
  } else {
    std::printf("%s\n", token->c_str());
  }
  cli::Finish(Status::Ok());
}

}  // namespace

void register_session_live(CLI::App& session) {
  {
    auto f = std::make_shared<RunFlags>();
    auto* cmd = session.add_subcommand(
        "run", "run COMMAND as the agent of a new run: stdout streamed, cancel and steer honoured");
    AddLiveCommon(cmd, f->c);
    cmd->add_option("command", f->command, "the agent command and its arguments (after --)")->required();
    cmd->add_option("--lane", f->lane, "lane of the run (default main)");
    cmd->add_option("--lease", f->lease_s, "lease in seconds, renewed by heartbeats (default 15)");
    cmd->add_option("--grace", f->grace_s,
                    "seconds between SIGTERM and SIGKILL to COMMAND's process group (default 3)");
    cmd->add_option("--retry-for", f->retry_for_s, "ride out a server outage of SECONDS when appending (default 120)");
    cmd->footer(
        "Signals: COMMAND runs in a process group of its own. On a cancel (control.cancel) the whole\n"
        "group gets SIGTERM (then SIGCONT), and SIGKILL --grace seconds later unless every process in it\n"
        "has exited; the cancel is acknowledged 'applied' and from then on the server refuses the run's\n"
        "output, so nothing printed after it reaches the session. SIGTERM, not SIGINT: SIGINT means\n"
        "'abort this step' to many interactive tools, and shells start '&' children with it ignored.\n"
        "When COMMAND exits, whatever it left running in its group gets the same SIGTERM/SIGKILL.\n"
        "SIGINT (Ctrl-C), SIGTERM or SIGHUP to dsx itself stops the group the same way and ends the\n"
        "run cancelled (exit 130); a second one sends SIGKILL to the group at once; a third makes dsx\n"
        "exit without ending the run (its lease lapses). See man dsx-session.");
    cmd->callback([f] { RunRun(*f); });
  }
  for (bool steer : {false, true}) {
    auto f = std::make_shared<ControlFlags>();
    f->steer = steer;
    auto* cmd = session.add_subcommand(steer ? "steer" : "cancel",
                                       steer ? "send steer TEXT to a run's agent and print its answer"
                                             : "cancel a run (or every active run) and print the agent's answer");
    AddLiveCommon(cmd, f->c);
    cmd->add_option("args", f->args, steer ? "[RUN] TEXT" : "[RUN] (default: every active run)");
    if (steer) cmd->add_flag("--json-data", f->json_data, "TEXT is JSON (sent as data.json)");
    if (!steer) cmd->add_option("--reason", f->reason, "why (stored with the request)");
    cmd->add_option("--wait", f->wait_s, "seconds to wait for the agent's answer (default 10)");
    cmd->callback([f] { RunControl(*f); });
  }
  {
    auto c = std::make_shared<LiveCommon>();
    auto* cmd = session.add_subcommand("who", "who is present in a session, agents' states, active runs");
    AddLiveCommon(cmd, *c);
    cmd->callback([c] { RunWho(*c); });
  }
  {
    auto f = std::make_shared<TokenFlags>();
    auto* cmd = session.add_subcommand("token", "mint a bearer token (printed on the last line of stdout)");
    cmd->add_option("--auth-key-file", f->key_file, "the server's key file (HS256 secret or Ed25519 private PEM)")
        ->required()
        ->envname("DSX_AUTH_KEY_FILE");
    cmd->add_option("--sub", f->sub, "principal name (stamped as from.sub)")->required();
    cmd->add_option("--rights", f->rights,
                    "comma list: read, append, run, cancel_own, cancel_any, steer, presence, admin")
        ->required();
    cmd->add_option("--session", f->pattern, "session id pattern, * matches anything (default *)");
    cmd->add_option("--ttl", f->ttl, "lifetime: N[s|m|h|d] (default 1h)");
    cmd->add_option("--device", f->device, "device name (stamped as from.device)");
    cmd->add_flag("--json", f->json, "print one JSON document with the token and its claims");
    cmd->callback([f] { RunToken(*f); });
  }
}

}  // namespace dsx::cmd
