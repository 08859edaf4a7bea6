// The probe procedure (research §4.3): four generations, one per question.
//   1. fingerprint + drop: start, read K tokens, drop hard; ask the oracle whether the model
//      went on; call the resume contract and classify what comes back.
//   2. second reader: start, read K tokens, attach a second reader through the resume/join
//      contract while the first keeps reading; compare.
//   3. stop: start, read K tokens, send the stop contract with the stream still open; ask the
//      oracle whether the model stopped.
//   4. steer: start, read K tokens, send the steer contract (or, without one, a second
//      message for the same chat: the double-texting test); observe.
// Verdicts are made by judge.cpp from the Observations filled here.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "audit/probe/control_ack.hpp"
#include "audit/probe/fingerprint.hpp"
#include "audit/probe/judge.hpp"
#include "audit/probe/mock_log.hpp"
#include "audit/probe/probe.hpp"
#include "audit/probe/stream_reader.hpp"
#include "core/clock.hpp"
#include "net/sse_parser.hpp"

namespace dsx::audit::probe {
namespace {

bool Is2xx(long s) { return s >= 200 && s < 300; }

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
  return s;
}

std::string Origin(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "";
  size_t path = url.find('/', scheme + 3);
  return path == std::string::npos ? url : url.substr(0, path);
}

std::string Excerpt(std::string_view s, size_t n = 80) {
  std::string out;
  for (char c : s.substr(0, n)) out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '.');
  if (s.size() > n) out += "...";
  return out;
}

std::string Describe(const RequestSpec& r) { return r.method + " " + r.url; }

std::string Tok(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "tok-%04d", n);
  return buf;
}

// One generation: its id, marker and the values learned from its start response.
struct Gen {
  std::map<std::string, std::string> vars;
  int64_t start_ms = 0;
};

class Prober {
 public:
  explicit Prober(const ProbeOptions& o) : o_(o), rng_(std::random_device{}()) {
    obs_.url = o.start.url;
    limits_.connect_s = o.connect_timeout_s;
    limits_.first_byte_s = o.first_byte_timeout_s;
    limits_.idle_s = o.idle_timeout_s;
    limits_.total_s = o.max_stream_s;
  }
  ~Prober() { ReapCommands(); }

  Result<LiveResult> Run();

 private:
  Gen NewGen() {
    Gen g;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(rng_()));
    g.vars["id"] = o_.id_prefix + "-" + std::string(hex, 10);
    g.vars["marker"] = "dsx-probe-" + std::string(hex + 6, 10);
    g.vars["origin"] = Origin(o_.start.url);
    g.vars["offset"] = "-1";
    g.vars["chars"] = "0";
    g.vars["stream_id"] = "";
    g.vars["run"] = "";
    g.vars["last_event_id"] = "";
    return g;
  }

  RequestSpec Expand(RequestSpec r, const Gen& g) const {
    auto sub = [&](std::string s) {
      for (const auto& [k, v] : g.vars) s = Replace(s, "{{" + k + "}}", v);
      return s;
    };
    r.url = sub(r.url);
    r.body = sub(r.body);
    for (auto& h : r.headers) h.second = sub(h.second);
    return r;
  }

  // Where a generation ends in a stream that stays open (see ProbeOptions::end_marker).
  std::string EndMarker() const {
    if (!o_.end_marker.empty()) return o_.end_marker;
    if (obs_.fingerprint.protocol == Protocol::kDsxSession) return "\"type\":\"run.end\"";
    return "";
  }

  // A read that stops at the end marker as if the server had ended it.
  HttpResponse FetchToEnd(const RequestSpec& req, const HttpLimits& limits) {
    std::string marker = EndMarker();
    if (marker.empty()) return Fetch(req, limits);
    HttpResponse r = Fetch(req, limits, [&](std::string_view, const HttpResponse& so_far) {
      return so_far.body.find(marker) == std::string::npos;
    });
    if (r.outcome == HttpOutcome::kAborted) r.outcome = HttpOutcome::kComplete;
    return r;
  }

  void Note(const std::string& step, const std::string& detail) { obs_.checks.push_back({step, detail}); }

  // Start a generation: run the start command (if any), then the start request.
  std::unique_ptr<StreamReader> Begin(Gen* g, int drop_after) {
    if (!o_.start_command.empty()) RunCommand(Expand(RequestSpec{"", "", {}, o_.start_command}, *g).body);
    g->start_ms = NowMs();
    auto reader = std::make_unique<StreamReader>(Expand(o_.start, *g), limits_, drop_after, EndMarker());
    reader->Start();
    return reader;
  }

  // Run the start command; wait until it prints a line (its "ready"), exits, or 15 s pass.
  // Its later output is drained on a detached thread so it never blocks on a full pipe.
  void RunCommand(const std::string& command) {
    int fds[2];
    if (pipe(fds) != 0) {
      obs_.undetermined.push_back("cannot run the start command: pipe failed");
      return;
    }
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
      close(fds[0]);
      obs_.undetermined.push_back("cannot run the start command: fork failed");
      return;
    }
    children_.push_back(pid);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    std::string got;
    while (got.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // exited without a line
      got.append(buf, static_cast<size_t>(n));
    }
    if (got.find('\n') == std::string::npos) Note("start", "start command printed no ready line in time (or exited)");
    int fd = fds[0];
    std::thread([fd] {
      char buf[4096];
      while (read(fd, buf, sizeof buf) > 0) {}
      close(fd);
    }).detach();
  }

  void ReapCommands() {
    for (pid_t pid : children_) {
      if (waitpid(pid, nullptr, WNOHANG) == 0) {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
      }
    }
    children_.clear();
  }

  // Learn per-generation values from a start response: stream id, offset, chars.
  void Learn(Gen* g, const HttpResponse& r) {
    Fingerprint fp = FingerprintResponse(o_.start.url, r.status, r.headers, r.body);
    if (!fp.stream_id.empty()) g->vars["stream_id"] = fp.stream_id;
    std::vector<net::SseEvent> ev;
    net::SseParser p([&](const net::SseEvent& e) { ev.push_back(e); });
    p.Feed(r.body);
    std::string control_offset;
    for (const auto& e : ev) {
      if (e.type != "control") continue;
      auto j = nlohmann::json::parse(e.data, nullptr, false);
      if (j.is_object() && j.contains("streamNextOffset") && j["streamNextOffset"].is_string())
        control_offset = j["streamNextOffset"].get<std::string>();
    }
    if (!p.last_event_id().empty()) g->vars["offset"] = p.last_event_id();
    else if (!control_offset.empty()) g->vars["offset"] = control_offset;
    else if (!fp.next_offset.empty()) g->vars["offset"] = fp.next_offset;
    if (g->vars["run"].empty()) {
      static const std::string kRun = "\"run\":\"";
      size_t at = r.body.find(kRun);
      if (at != std::string::npos) {
        size_t end = r.body.find('"', at + kRun.size());
        if (end != std::string::npos && end - at < 200)
          g->vars["run"] = r.body.substr(at + kRun.size(), end - at - kRun.size());
      }
    }
    g->vars["chars"] = std::to_string(r.body.size());
    g->vars["last_event_id"] = p.last_event_id();
  }

  std::optional<MockLog> ReadOracle() {
    if (o_.mock_log.empty()) return std::nullopt;
    auto log = MockLog::Load(o_.mock_log);
    if (!log.ok()) {
      oracle_error_ = log.status().message();
      return std::nullopt;
    }
    return std::move(*log);
  }

  // The mock request of generation `g`, if the oracle can tell.
  std::optional<MockRequest> Find(const MockLog& log, const Gen& g) {
    auto found = log.Match(g.vars.at("marker"), g.start_ms - 1000, g.start_ms + 5000);
    if (found.empty()) return std::nullopt;
    return found.front();
  }

  // true: the model went on after t_ms; false: it stopped; nullopt: cannot tell.
  // A cancel logged within the settle window counts as stopped even if a few tokens were
  // still written while the app got round to closing its model request; otherwise two or
  // more tokens written later than `grace_ms` after t_ms mean it went on.
  Seen WentOn(const MockRequest& m, int64_t t_ms, int grace_ms) const {
    int64_t settle_ms = static_cast<int64_t>(o_.settle_s * 1000);
    if (m.cancelled && m.end_ms <= t_ms + settle_ms) return false;
    int after = m.TokensAfter(t_ms + grace_ms);
    if (after >= 2 || (m.done && m.end_ms > t_ms + grace_ms)) return true;
    if (after == 0 && !m.done && m.tokens_sent < m.tokens_total) return false;
    return std::nullopt;  // finished on its own before we could tell
  }

  static std::string Outcome(const MockRequest& m, int64_t t_ms, const char* what) {
    std::string s = "mock-llm " + m.req + ": " + std::to_string(m.TokensAfter(t_ms)) + " tokens after the " + what;
    if (m.cancelled) s += ", cancelled by its client " + std::to_string(m.end_ms - t_ms) + " ms after it";
    if (m.done) s += ", finished";
    return s;
  }

  std::optional<RequestSpec> Contract(const std::optional<RequestSpec>& given, RequestSpec guess, const char* name,
                                      bool* guessed) {
    *guessed = false;
    if (given) {
      obs_.contracts[name] = Describe(*given) + " (given)";
      return given;
    }
    if (o_.guess_conventions && !guess.method.empty()) {
      *guessed = true;
      obs_.contracts[name] = Describe(guess) + " (convention for " + ProtocolName(obs_.fingerprint.protocol) + ")";
      return guess;
    }
    return std::nullopt;
  }

  RequestSpec WithCursor(RequestSpec r, const Gen& g) {
    auto it = g.vars.find("last_event_id");
    if (r.send_last_event_id && it != g.vars.end() && !it->second.empty())
      r.headers.emplace_back("Last-Event-ID", it->second);
    return r;
  }

  HttpLimits Short() const {
    HttpLimits l = limits_;
    l.idle_s = std::min(limits_.idle_s, 5.0);
    return l;
  }

  bool PhaseDrop(std::optional<RequestSpec>* resume, bool* resume_guessed);
  void PhaseSecond(const std::optional<RequestSpec>& resume);
  void PhaseStop();
  void PhaseSteer();
  void Settle() { std::this_thread::sleep_for(std::chrono::duration<double>(o_.settle_s)); }

  ProbeOptions o_;
  Observations obs_;
  HttpLimits limits_;
  std::mt19937_64 rng_;
  std::vector<pid_t> children_;
  std::string oracle_error_;
  bool oracle_matched_ = false;
};

bool Prober::PhaseDrop(std::optional<RequestSpec>* resume, bool* resume_guessed) {
  Gen g = NewGen();
  auto reader = Begin(&g, o_.drop_after_tokens);
  const HttpResponse& r = reader->Join();
  obs_.fingerprint = FingerprintResponse(o_.start.url, r.status, r.headers, r.body);
  std::string fp_line = std::string(ProtocolName(obs_.fingerprint.protocol));
  for (const auto& e : obs_.fingerprint.evidence) fp_line += "; " + e;
  Note("fingerprint", fp_line);
  Learn(&g, r);
  int toks = static_cast<int>(ExtractTokens(r.body).size());

  if (r.outcome == HttpOutcome::kTimeoutFirstByte || r.outcome == HttpOutcome::kTimeoutConnect) {
    obs_.undetermined.push_back("the endpoint did not answer within " + std::to_string(o_.first_byte_timeout_s) +
                                " s (" + HttpOutcomeName(r.outcome) + "): nothing could be probed");
    return false;
  }
  if (!Is2xx(r.status)) {
    obs_.undetermined.push_back("the start request " + Describe(o_.start) + " answered HTTP " +
                                std::to_string(r.status) + " (" + Excerpt(r.body) +
                                "): check --method/--header/--body");
    return false;
  }
  if (r.outcome != HttpOutcome::kAborted) {
    if (toks == 0) {
      std::string why =
          obs_.fingerprint.garbage_lines > 0 ||
                  (!obs_.fingerprint.sse && obs_.fingerprint.protocol == Protocol::kPlainSse)
              ? "the body is not what its headers claim (" + std::to_string(obs_.fingerprint.sse_events) +
                    " SSE events, " + std::to_string(obs_.fingerprint.garbage_lines) + " unparseable lines: '" +
                    Excerpt(r.body, 40) + "')"
              : "no numbered tokens (tok-NNNN) arrived; is the app's model pointed at `dsx audit mock-llm`?";
      obs_.undetermined.push_back("start request " + std::string(HttpOutcomeName(r.outcome)) + " after " +
                                  std::to_string(r.body.size()) + " bytes: " + why);
    } else {
      obs_.undetermined.push_back("the generation ended after " + std::to_string(toks) +
                                  " tokens, before the drop point (" + std::to_string(o_.drop_after_tokens) +
                                  "); give mock-llm more --tokens");
    }
    return false;
  }
  obs_.drop_done = true;
  obs_.drop_at = reader->max_token();
  int64_t t_drop = reader->drop_ms();
  Note("drop", "dropped the connection after " + Tok(obs_.drop_at) + " (" + std::to_string(r.body.size()) + " bytes)");
  Settle();

  if (auto log = ReadOracle()) {
    if (auto m = Find(*log, g)) {
      oracle_matched_ = true;
      obs_.producer_continued = WentOn(*m, t_drop, 500);
      Note("drop", Outcome(*m, t_drop, "drop"));
    } else {
      Note("drop", "mock-llm log has no request for marker " + g.vars["marker"]);
    }
  }

  RequestSpec guess = DefaultResume(obs_.fingerprint, o_.start);
  *resume = Contract(o_.resume, guess, "resume", resume_guessed);
  if (!*resume) {
    Note("resume", "no resume contract known (give --resume URL)");
    return true;
  }
  RequestSpec req = WithCursor(Expand(**resume, g), g);
  HttpResponse rr = FetchToEnd(req, Short());
  obs_.resume_status = rr.status;
  Note("resume", Describe(req) + " -> " +
                     (rr.Answered() ? "HTTP " + std::to_string(rr.status) : HttpOutcomeName(rr.outcome)) + ", " +
                     std::to_string(rr.body.size()) + " bytes, " + std::to_string(ExtractTokens(rr.body).size()) +
                     " tokens");
  if (*resume_guessed && (rr.status == 404 || rr.status == 405)) {
    Note("resume", "the conventional resume route does not exist here");
    obs_.contracts.erase("resume");
    resume->reset();
    return true;
  }
  obs_.resume_tried = true;
  ResumeInput in;
  in.before_text = r.body;
  in.after_text = rr.body;
  in.status = rr.status;
  for (const auto& e : net::ParseSse(rr.body)) {
    int n = static_cast<int>(ExtractTokens(e.data).size());
    if (n > 0) {
      in.first_event_tokens = n;
      break;
    }
  }
  obs_.resume = ClassifyResume(in);
  if (!rr.Answered()) obs_.undetermined.push_back("resume request: " + std::string(HttpOutcomeName(rr.outcome)));
  Note("resume", std::string(ResumeKindName(obs_.resume.kind)) + ": " + obs_.resume.detail);
  return true;
}

void Prober::PhaseSecond(const std::optional<RequestSpec>& resume) {
  if (!resume) {
    Note("second-reader", "skipped: no join/resume contract to attach a second reader with");
    return;
  }
  Gen g = NewGen();
  auto a = Begin(&g, 0);
  if (!a->WaitTokens(o_.drop_after_tokens, o_.first_byte_timeout_s + o_.idle_timeout_s)) {
    obs_.undetermined.push_back("second-reader test: the first reader got no tokens");
    a->Drop();
    return;
  }
  int k_attach = a->max_token();
  Learn(&g, a->Snapshot());  // stream id, run id: what a second device can look up
  // A second device has no cursor of its own: it joins from the start (offset -1) without
  // Last-Event-ID, and must still end with the same text as the first reader.
  Gen fresh = g;
  fresh.vars["offset"] = "-1";
  fresh.vars["last_event_id"] = "";
  fresh.vars["chars"] = "0";
  HttpResponse b = FetchToEnd(Expand(*resume, fresh), limits_);
  const HttpResponse& ra = a->Join();
  obs_.second_tried = true;
  obs_.second_status = b.status;
  std::vector<int> ta = ExtractTokens(ra.body), tb = ExtractTokens(b.body);
  std::set<int> sa(ta.begin(), ta.end()), sb(tb.begin(), tb.end());
  int max_b = tb.empty() ? 0 : *std::max_element(tb.begin(), tb.end());
  if (Is2xx(b.status)) {
    obs_.second_live = !tb.empty() && max_b > k_attach + 1;
    obs_.second_same = !sb.empty() && sa == sb;
  } else {
    obs_.second_live = false;
    obs_.second_same = false;
  }
  Note("second-reader", "attached at " + Tok(k_attach) + ": HTTP " + std::to_string(b.status) + ", " +
                            std::to_string(tb.size()) + " tokens (last " + Tok(max_b) + "); first reader " +
                            std::to_string(ta.size()) + " tokens");
}

void Prober::PhaseStop() {
  bool guessed = false;
  auto cancel = Contract(o_.cancel, DefaultCancel(obs_.fingerprint, o_.start), "cancel", &guessed);
  if (!cancel) {
    Note("stop", "no stop contract known (give --cancel METHOD URL); judged from the drop test");
    return;
  }
  Gen g = NewGen();
  auto a = Begin(&g, 0);
  if (!a->WaitTokens(o_.drop_after_tokens, o_.first_byte_timeout_s + o_.idle_timeout_s)) {
    obs_.undetermined.push_back("stop test: no tokens arrived");
    a->Drop();
    return;
  }
  int64_t t_stop = NowMs();
  int at = a->max_token();
  Learn(&g, a->Snapshot());
  RequestSpec req = Expand(*cancel, g);
  HttpResponse c = Fetch(req, Short());
  obs_.stop_status = c.status;
  Note("stop", Describe(req) + " at " + Tok(at) + " -> " +
                   (c.Answered() ? "HTTP " + std::to_string(c.status) : std::string(HttpOutcomeName(c.outcome))));
  if (guessed && (c.status == 404 || c.status == 405)) {
    Note("stop", "the conventional stop route does not exist here; judged from the drop test");
    obs_.contracts.erase("cancel");
    a->Drop();
    a->Join();
    return;
  }
  obs_.stop_contract = Is2xx(c.status);
  int before = a->tokens();
  Settle();
  int after_app = a->tokens();
  if (auto log = ReadOracle()) {
    if (auto m = Find(*log, g)) {
      oracle_matched_ = true;
      Seen went_on = WentOn(*m, t_stop, 500);
      if (went_on.has_value()) obs_.stop_halted = !*went_on;
      Note("stop", Outcome(*m, t_stop, "stop request"));
    }
  } else if (obs_.stop_contract) {
    // No oracle: the app's own stream is the only witness, and a stream that stops growing
    // is weak evidence (the app may only have detached us). Say so.
    obs_.stop_halted = after_app <= before + 1;
    obs_.undetermined.push_back("stop judged from the app's own stream (no mock-llm log): weak evidence");
  }
  a->Drop();
  a->Join();
}

void Prober::PhaseSteer() {
  Gen g = NewGen();
  auto a = Begin(&g, 0);
  if (!a->WaitTokens(o_.drop_after_tokens, o_.first_byte_timeout_s + o_.idle_timeout_s)) {
    obs_.undetermined.push_back("steer test: no tokens arrived");
    a->Drop();
    return;
  }
  Learn(&g, a->Snapshot());
  if (o_.steer) {
    obs_.steer_contract = true;
    obs_.contracts["steer"] = Describe(*o_.steer) + " (given)";
    RequestSpec req = Expand(*o_.steer, g);
    int before = a->tokens();
    HttpResponse s = Fetch(req, Short());
    obs_.steer_tried = true;
    obs_.steer_status = s.status;
    Settle();
    bool went_on = a->tokens() > before || a->Join().outcome == HttpOutcome::kComplete;
    obs_.steer_applied = Is2xx(s.status) && went_on;
    Note("steer", Describe(req) + " -> HTTP " + std::to_string(s.status) +
                      (went_on ? ", the run went on" : ", the run stalled"));
    if (obs_.fingerprint.protocol == Protocol::kDsxSession && obs_.steer_applied.value_or(false)) {
      // A dsx session logs any control.steer (200); it is applied only when the run's agent
      // answers control.ack "applied". Agents ack before they end the run, so read to its end if
      // the ack is not there yet. No ack by run.end: nothing applied it (an LLM proxy run, an
      // agent that ignores steering); the server's own "rejected" ack comes after run.end.
      std::string outcome = FirstControlAckOutcome(a->Snapshot().body);
      if (outcome.empty()) outcome = FirstControlAckOutcome(a->Join().body);
      obs_.steer_applied = outcome == "applied";
      Note("steer", outcome.empty() ? "no control.ack answered the steer before the run ended: nothing applied it"
                                    : "the run answered control.ack " + outcome);
    }
  } else if (o_.start.method != "POST") {
    Note("steer", "skipped: no steer contract, and the start request (" + o_.start.method +
                      ") is not a message that could be sent twice");
  } else if (!o_.mock_log.empty()) {
    // Double-texting: a second message for the same chat while the first is generating.
    Gen g2 = g;
    g2.vars["marker"] = NewGen().vars["marker"];
    g2.start_ms = NowMs();
    StreamReader second(Expand(o_.start, g2), Short(), 2);
    second.Start();
    const HttpResponse& s = second.Join();
    obs_.steer_tried = true;
    obs_.steer_status = s.status;
    Settle();
    if (auto log = ReadOracle()) {
      auto m1 = Find(*log, g);
      auto m2 = Find(*log, g2);
      if (m1 && m2) obs_.double_text_concurrent = (m1->end_ms == 0 || m1->end_ms > m2->start_ms);
      else if (m1) obs_.double_text_concurrent = false;
      Note("steer", "no steer contract; a second message mid-run -> HTTP " + std::to_string(s.status) +
                        (m2 ? ", the model got a second request" : ", the model got no second request"));
    }
  } else {
    Note("steer", "skipped: no steer contract and no mock-llm log for the double-text test");
  }
  a->Drop();
  a->Join();
}

Result<LiveResult> Prober::Run() {
  const std::string& url = o_.start.url;
  if (url.rfind("ws://", 0) == 0 || url.rfind("wss://", 0) == 0) {
    obs_.fingerprint.protocol = Protocol::kWebSocket;
    obs_.fingerprint.evidence.push_back("WebSocket URL");
    obs_.undetermined.push_back(
        "WebSocket endpoints are fingerprinted but not driven by this probe (HTTP streams only); "
        "no verdict");
  } else {
    std::optional<RequestSpec> resume;
    bool resume_guessed = false;
    bool ok = PhaseDrop(&resume, &resume_guessed);
    if (ok) {
      if (o_.run_second) PhaseSecond(resume);
      if (o_.run_stop) PhaseStop();
      if (o_.run_steer) PhaseSteer();
    }
  }
  if (!o_.mock_log.empty() && !oracle_error_.empty())
    obs_.undetermined.push_back("mock-llm log unreadable: " + oracle_error_);
  else if (!o_.mock_log.empty() && obs_.drop_done && !oracle_matched_)
    obs_.undetermined.push_back("mock-llm log has no request from this probe: is the app's model pointed at it?");
  else if (o_.mock_log.empty())
    obs_.undetermined.push_back("no --mock-log: whether generation stopped is judged from the app's responses only");
  obs_.oracle = oracle_matched_;
  ReapCommands();

  LiveResult out;
  out.report = Judge(obs_);
  out.protocol = obs_.fingerprint.protocol;
  out.resume = obs_.resume_tried ? obs_.resume.kind : ResumeKind::kNotTested;
  out.oracle_used = obs_.oracle;
  out.checks = obs_.checks;
  for (const auto& c : obs_.checks) out.report.notes.push_back("probe " + c.step + ": " + c.detail);
  return out;
}

}  // namespace

Result<LiveResult> RunLiveProbe(const ProbeOptions& options) {
  const std::string& url = options.start.url;
  if (url.empty()) return Status::Usage("--url is required for the live probe");
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && url.rfind("ws://", 0) != 0 &&
      url.rfind("wss://", 0) != 0)
    return Status::Usage("bad url '" + url + "': expected http://, https://, ws:// or wss://");
  if (options.drop_after_tokens < 1) return Status::Usage("--drop-after must be at least 1");
  if (url.rfind("http", 0) == 0) {
    // Reachability first: a refused connection is an error (exit 5), not a report.
    RequestSpec head{"GET", Origin(url) + "/", {}, ""};
    HttpLimits l;
    l.connect_s = options.connect_timeout_s;
    l.first_byte_s = std::min(2.0, options.first_byte_timeout_s);
    l.idle_s = 2;
    l.total_s = 3;
    HttpResponse r = Fetch(head, l, [](std::string_view, const HttpResponse&) { return false; });
    if (r.outcome == HttpOutcome::kConnectFailed || r.outcome == HttpOutcome::kTimeoutConnect)
      return Status::Unavailable("cannot reach '" + Origin(url) +
                                 "': " + (r.error.empty() ? HttpOutcomeName(r.outcome) : r.error));
  }
  Prober prober(options);
  return prober.Run();
}

}  // namespace dsx::audit::probe
