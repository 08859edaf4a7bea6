// Part of 'dsx audit' that lives in its own file; called from cmd_audit.cpp.
//   dsx audit --url URL [--method M] [--header 'N: V']... [--body B|@FILE] [--resume URL]
//             [--cancel METHOD URL] [--steer METHOD URL] [--probe FILE] [--mock-log URL|FILE] ...
//   dsx audit mock-llm [--listen HOST:PORT] [--tokens N] [--interval-ms MS] [--log FILE] [--keep-alive]
// The probe's report reaches cmd_audit.cpp through audit::SetLiveAudit (lib/audit/live_hook.hpp),
// which prints it with the static report's printers. See docs/cli/audit-probe.md.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "audit/live_hook.hpp"
#include "audit/probe/mock_llm.hpp"
#include "audit/probe/probe.hpp"
#include "cli.hpp"
#include "commands.hpp"
#include "core/fs.hpp"

namespace dsx::cmd {

namespace {

namespace probe = dsx::audit::probe;

// What useChat (AI SDK 5+) posts for a new user message; {{id}}/{{marker}} are filled per run.
constexpr const char* kDefaultBody =
    R"({"id":"{{id}}","messages":[{"id":"u-{{id}}","role":"user","parts":[{"type":"text","text":"count slowly {{marker}}"}]}],"trigger":"submit-message"})";

struct ProbeFlags {
  std::string url, method = "POST", body, resume, probe_file, mock_log, start_command, end_marker;
  std::vector<std::string> headers, cancel, steer;
  std::string cancel_body, steer_body;
  int drop_after = 0;
  double timeout_s = 0, settle_s = 0;
  bool no_guess = false;
};

Result<std::vector<std::pair<std::string, std::string>>> ParseHeaders(const std::vector<std::string>& raw) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : raw) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return Status::Usage("bad --header '" + h.substr(0, 40) + "': expected 'Name: value'");
    std::string v = h.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    out.emplace_back(h.substr(0, colon), v);
  }
  return out;
}

Result<std::string> BodyArg(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') return arg;
  auto text = fs::ReadFile(arg.substr(1), 64 << 20);  // a request body, not a disk image
  if (!text.ok()) return text.status().Wrap("cannot read body file '" + arg.substr(1) + "'");
  return *text;
}

bool HasHeader(const std::vector<std::pair<std::string, std::string>>& hs, const std::string& name) {
  for (const auto& [k, v] : hs) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size(); ++i) same = same && std::tolower(static_cast<unsigned char>(k[i])) == name[i];
    if (same) return true;
  }
  return false;
}

Result<std::optional<audit::Report>> RunProbe(const ProbeFlags& f) {
  if (f.url.empty() && f.probe_file.empty()) return std::optional<audit::Report>{};  // no live probe asked for
  probe::ProbeOptions o;
  if (!f.probe_file.empty()) DSX_RETURN_IF_ERROR(probe::LoadProbeFile(f.probe_file, &o));
  auto headers = ParseHeaders(f.headers);
  if (!headers.ok()) return headers.status();
  // Flags win over the probe file.
  if (!f.url.empty()) {
    o.start.url = f.url;
    o.start.method = f.method;
  }
  for (auto& h : *headers) o.start.headers.push_back(h);
  if (!f.body.empty()) {
    auto body = BodyArg(f.body);
    if (!body.ok()) return body.status();
    o.start.body = *body;
  } else if (f.probe_file.empty() && o.start.method == "POST") {
    o.start.body = kDefaultBody;
  }
  if (!o.start.body.empty() && o.start.body.front() == '{' && !HasHeader(o.start.headers, "content-type"))
    o.start.headers.emplace_back("Content-Type", "application/json");
  auto two = [&](const std::vector<std::string>& v, const std::string& body, const char* what,
                 std::optional<probe::RequestSpec>* slot) -> Status {
    if (v.empty()) return Status::Ok();
    if (v.size() != 2) return Status::Usage(std::string("--") + what + " takes METHOD URL");
    probe::RequestSpec r;
    r.method = v[0];
    r.url = v[1];
    r.headers = *headers;
    auto b = BodyArg(body);
    if (!b.ok()) return b.status();
    r.body = *b;
    if (!r.body.empty() && r.body.front() == '{' && !HasHeader(r.headers, "content-type"))
      r.headers.emplace_back("Content-Type", "application/json");
    *slot = r;
    return Status::Ok();
  };
  DSX_RETURN_IF_ERROR(two(f.cancel, f.cancel_body, "cancel", &o.cancel));
  DSX_RETURN_IF_ERROR(two(f.steer, f.steer_body, "steer", &o.steer));
  if (!f.resume.empty()) {
    probe::RequestSpec r;
    r.method = "GET";
    r.url = f.resume;
    r.headers = *headers;
    o.resume = r;
  }
  if (!f.mock_log.empty()) o.mock_log = f.mock_log;
  if (!f.start_command.empty()) o.start_command = f.start_command;
  if (!f.end_marker.empty()) o.end_marker = f.end_marker;
  if (f.drop_after > 0) o.drop_after_tokens = f.drop_after;
  if (f.timeout_s > 0) o.first_byte_timeout_s = o.idle_timeout_s = f.timeout_s;
  if (f.settle_s > 0) o.settle_s = f.settle_s;
  if (f.no_guess) o.guess_conventions = false;
  if (o.start.url.empty()) return Status::Usage("the live probe needs --url (or start.url in the probe file)");

  auto result = probe::RunLiveProbe(o);
  if (!result.ok()) return result.status();
  return std::optional<audit::Report>(std::move(result->report));
}

void RunMockLlm(const std::string& listen, int tokens, int interval_ms, const std::string& log_path, bool keep_alive) {
  probe::MockLlmOptions o;
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return cli::Finish(Status::Usage("bad --listen '" + listen + "': expected HOST:PORT"));
  o.host = listen.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  try {
    o.port = std::stoi(listen.substr(colon + 1));
  } catch (...) {
    return cli::Finish(Status::Usage("bad --listen '" + listen + "': port is not a number"));
  }
  if (o.port < 0 || o.port > 65535) return cli::Finish(Status::Usage("bad --listen port " + std::to_string(o.port)));
  o.tokens = tokens;
  o.interval_ms = interval_ms;
  o.log_path = log_path;
  o.keep_alive = keep_alive;
  probe::MockLlmServer server(o);
  Status s = server.Listen();
  if (!s.ok()) return cli::Finish(s);
  std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
  std::printf("dsx: listening on http://%s:%d\n", host.c_str(), server.port());
  std::fflush(stdout);
  server.Run();  // until SIGINT/SIGTERM
  cli::SetExit(0);
}

}  // namespace

void register_audit_probe(CLI::App& audit) {
  auto f = std::make_shared<ProbeFlags>();
  const char* g = "Live probe";
  audit.add_option("--url", f->url, "probe a running app: the URL that starts a streamed answer")->group(g);
  audit.add_option("--method", f->method, "method of the start request (default POST)")->group(g);
  audit.add_option("--header", f->headers, "'Name: value' for every probe request (repeatable)")
      ->allow_extra_args(false)
      ->group(g);
  audit
      .add_option(
          "--body", f->body,
          "start request body, or @FILE; {{id}} and {{marker}} are filled per run (default: an AI SDK useChat message)")
      ->group(g);
  audit
      .add_option("--resume", f->resume,
                  "GET URL that re-attaches to a running answer, e.g. http://h/api/chat/{{id}}/stream")
      ->group(g);
  audit.add_option("--cancel", f->cancel, "the stop contract: METHOD URL")->expected(2)->group(g);
  audit.add_option("--cancel-body", f->cancel_body, "body of the stop request, or @FILE")->group(g);
  audit.add_option("--steer", f->steer, "the steer contract: METHOD URL")->expected(2)->group(g);
  audit.add_option("--steer-body", f->steer_body, "body of the steer request, or @FILE")->group(g);
  audit.add_option("--probe", f->probe_file, "YAML probe file (requests, contracts, timeouts); flags win")->group(g);
  audit
      .add_option("--mock-log", f->mock_log,
                  "the oracle: URL (http://HOST:PORT/log of dsx audit mock-llm) or file of its log")
      ->group(g);
  audit.add_option("--start-command", f->start_command, "shell command run before each probe run (starts an agent)")
      ->group(g);
  audit.add_option("--end-marker", f->end_marker, "text that ends a generation in a stream that stays open")->group(g);
  audit.add_option("--drop-after", f->drop_after, "drop, stop or attach after this many tokens (default 4)")
      ->check(CLI::Range(1, 10000))
      ->group(g);
  audit.add_option("--timeout", f->timeout_s, "seconds to wait for a first byte and between bytes (default 10)")
      ->check(CLI::PositiveNumber)
      ->group(g);
  audit
      .add_option("--settle", f->settle_s,
                  "seconds to wait after a drop or stop before reading the oracle (default 1.5)")
      ->check(CLI::PositiveNumber)
      ->group(g);
  audit.add_flag("--no-guess", f->no_guess, "do not try documented default resume/stop routes")->group(g);
  audit::SetLiveAudit([f]() { return RunProbe(*f); });

  auto* mock =
      audit.add_subcommand("mock-llm", "an OpenAI-compatible model that streams numbered tokens and logs cancels");
  auto listen = std::make_shared<std::string>("127.0.0.1:0");
  auto tokens = std::make_shared<int>(40);
  auto interval = std::make_shared<int>(100);
  auto log_path = std::make_shared<std::string>();
  mock->add_option("--listen", *listen, "HOST:PORT to listen on (default 127.0.0.1:0, a free port)");
  mock->add_option("--tokens", *tokens, "tokens per answer (default 40)")->check(CLI::Range(1, 100000));
  mock->add_option("--interval-ms", *interval, "one token every MS ms, at a fixed rate from the request (default 100)")
      ->check(CLI::Range(0, 60000));
  mock->add_option("--log", *log_path, "also append the JSON-lines log to FILE (GET /log serves it too)");
  auto keep_alive = std::make_shared<bool>(false);
  mock->add_flag("--keep-alive", *keep_alive,
                 "keep connections open between answers, as a hosted model API does (default: close after each)");
  mock->callback([=] { RunMockLlm(*listen, *tokens, *interval, *log_path, *keep_alive); });
}

}  // namespace dsx::cmd
