#include "audit/probe/judge.hpp"

#include <cmath>

namespace dsx::audit::probe {
namespace {

bool Is2xx(long status) { return status >= 200 && status < 300; }

Evidence Ev(const std::string& step, const std::string& excerpt, const std::string& fact) {
  Evidence e;
  e.file = step;
  e.line = 0;
  e.excerpt = excerpt;
  e.fact = fact;
  return e;
}

Criterion Crit(std::string id, std::string description, int max_points, bool met, std::vector<Evidence> ev) {
  Criterion c;
  c.id = std::move(id);
  c.description = std::move(description);
  c.max_points = max_points;
  c.points = met ? max_points : 0;
  c.met = met;
  c.evidence = std::move(ev);
  return c;
}

// Score = sum of met criteria; derivation lists them ("30 (a) + 20 (b) = 50").
void Sum(Assessment* a) {
  int total = 0;
  std::string parts;
  for (const auto& c : a->criteria) {
    if (!c.met) continue;
    total += c.points;
    parts += (parts.empty() ? "" : " + ") + std::to_string(c.points) + " (" + c.id + ")";
    for (const auto& e : c.evidence) a->evidence.push_back(e);
  }
  a->score = total;
  a->derivation = parts.empty() ? "0: no criterion met" : parts + " = " + std::to_string(total);
}

void Undetermined(Capability* cap, const std::string& why) {
  cap->verdict = Verdict::kNo;
  cap->score = 0;
  cap->derivation = "undetermined: " + why;
  cap->verdict_rule = "undetermined (reported as no, score 0)";
  cap->properties["determined"] = "false";
}

std::string Tok(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "tok-%04d", n);
  return buf;
}

Capability ResilientDelivery(const Observations& o) {
  Capability cap;
  cap.id = std::string(kResilientDelivery);
  cap.properties["resume"] = ResumeKindName(o.resume_tried ? o.resume.kind : ResumeKind::kNotTested);
  if (!o.drop_done) {
    Undetermined(&cap, "the probe could not drop a running generation (no tokens seen)");
    return cap;
  }
  const ResumeKind k = o.resume.kind;
  bool resumed_tokens = o.resume_tried && (k == ResumeKind::kCursor || k == ResumeKind::kSnapshot ||
                                           k == ResumeKind::kFullReplay || k == ResumeKind::kLossy);
  std::vector<Evidence> producer_ev;
  bool producer = o.producer_continued.value_or(false);
  if (o.producer_continued.has_value()) {
    producer_ev.push_back(Ev("drop",
                             std::string("model ") + (producer ? "kept generating" : "stopped") +
                                 " after the client dropped at " + Tok(o.drop_at) + " (mock-llm log)",
                             "live.producer_continued"));
  } else if (resumed_tokens && o.resume.missing == 0) {
    // No oracle, but tokens generated after the drop reached us through the resume route.
    producer = true;
    producer_ev.push_back(
        Ev("resume", "the resumed stream carried tokens generated after the drop", "live.producer_continued"));
  }
  std::string resume_line = o.contracts.count("resume") ? o.contracts.at("resume") : std::string("resume");
  cap.criteria.push_back(Crit("producer_survives_drop", "generation continues after the client's connection drops", 30,
                              producer, producer_ev));
  cap.criteria.push_back(
      Crit("resume_route", "a resume request re-attaches to the running generation", 20,
           resumed_tokens && Is2xx(o.resume_status),
           {Ev(resume_line, "HTTP " + std::to_string(o.resume_status) + ": " + o.resume.detail, "live.resume")}));
  bool complete = resumed_tokens && k != ResumeKind::kLossy && o.resume.missing == 0;
  cap.criteria.push_back(Crit("no_loss", "the resumed text holds every token after the drop", 30, complete,
                              {Ev(resume_line, std::string("resume kind: ") + ResumeKindName(k), "live.resume_kind")}));
  bool no_dup = complete && ((k == ResumeKind::kCursor && o.resume.duplicates == 0) || k == ResumeKind::kSnapshot ||
                             (k == ResumeKind::kFullReplay && o.fingerprint.message_identity));
  cap.criteria.push_back(Crit("no_duplicates",
                              "nothing is shown twice (cursor, snapshot, or a replay that names its message)", 20,
                              no_dup, {}));
  Sum(&cap);
  bool rd_yes = producer && resumed_tokens && complete;
  cap.verdict = rd_yes ? Verdict::kYes : (producer || resumed_tokens) ? Verdict::kPartial : Verdict::kNo;
  cap.verdict_rule = "yes: producer_survives_drop + resume_route + no_loss; partial: one of the first two; no: neither";
  if (!o.producer_continued.has_value() && !resumed_tokens)
    cap.properties["determined"] = "partly: no mock-llm log to tell whether generation went on";
  return cap;
}

Capability Continuity(const Observations& o) {
  Capability cap;
  cap.id = std::string(kContinuity);
  if (!o.second_tried) {
    if (!o.drop_done) {
      Undetermined(&cap, "no generation could be observed");
      return cap;
    }
  }
  std::string line = o.contracts.count("resume") ? o.contracts.at("resume") : std::string("second reader");
  bool attached = o.second_tried && Is2xx(o.second_status) && o.second_live.has_value();
  cap.criteria.push_back(Crit("second_reader_attaches", "a second reader can attach to a generation in progress", 40,
                              attached,
                              {Ev(line,
                                  o.second_tried ? "second reader: HTTP " + std::to_string(o.second_status)
                                                 : std::string("no join/resume route known"),
                                  "live.second_reader")}));
  cap.criteria.push_back(Crit("live_tokens", "the second reader receives tokens live, while they are generated", 40,
                              o.second_live.value_or(false), {}));
  cap.criteria.push_back(
      Crit("same_text", "both readers end with the same text", 20, o.second_same.value_or(false), {}));
  Sum(&cap);
  bool all = attached && o.second_live.value_or(false) && o.second_same.value_or(false);
  cap.verdict = all ? Verdict::kYes : attached ? Verdict::kPartial : Verdict::kNo;
  cap.verdict_rule = "yes: all three criteria; partial: the second reader attaches; no: it cannot";
  return cap;
}

Assessment Part(std::string id, Verdict v, int score, std::string derivation, std::string rule,
                std::vector<Evidence> ev) {
  Assessment a;
  a.id = std::move(id);
  a.verdict = v;
  a.score = score;
  a.derivation = std::move(derivation);
  a.verdict_rule = std::move(rule);
  a.evidence = std::move(ev);
  return a;
}

Capability LiveControl(const Observations& o, std::vector<std::string>* notes) {
  Capability cap;
  cap.id = std::string(kLiveControl);
  std::string cancel_line = o.contracts.count("cancel") ? o.contracts.at("cancel") : std::string("stop");
  // stop
  Assessment stop;
  bool stop_known = true;
  if (o.stop_contract && o.stop_halted.has_value()) {
    bool h = *o.stop_halted;
    stop = Part(
        std::string(kStop), h ? Verdict::kYes : Verdict::kNo, h ? 100 : 0,
        h ? "100: the stop request halted generation" : "0: generation went on after the stop request",
        "yes: a separate stop request halts the model; partial: only closing the connection does; no: nothing does",
        {Ev(cancel_line, "HTTP " + std::to_string(o.stop_status) + ", model " + (h ? "stopped" : "kept generating"),
            "live.stop")});
  } else if (!o.stop_contract && o.producer_continued.has_value()) {
    bool drop_stops = !*o.producer_continued;
    stop = Part(
        std::string(kStop), drop_stops ? Verdict::kPartial : Verdict::kNo, drop_stops ? 50 : 0,
        drop_stops ? "50: no stop request; closing the connection is the only stop, and it works"
                   : "0: no stop request, and closing the connection does not stop the model",
        "yes: a separate stop request halts the model; partial: only closing the connection does; no: nothing does",
        {Ev("drop", "no stop contract found or given (--cancel)", "live.stop")});
  } else {
    stop_known = false;
    stop = Part(std::string(kStop), Verdict::kNo, 0,
                "undetermined: " + std::string(o.stop_contract ? "the model log could not show whether it stopped"
                                                               : "no stop test could run"),
                "undetermined (reported as no, score 0)", {});
  }
  // distinguish
  Assessment dist;
  bool dist_known = o.producer_continued.has_value() && (o.stop_contract ? o.stop_halted.has_value() : true);
  if (dist_known) {
    bool yes = o.stop_contract && o.stop_halted.value_or(false) && *o.producer_continued;
    dist = Part(std::string(kDistinguish), yes ? Verdict::kYes : Verdict::kNo, yes ? 100 : 0,
                yes ? "100: stop halts the model, a dropped connection does not"
                    : "0: stop and a dropped connection have the same effect on the model",
                "yes: stop halts generation and a drop does not; no otherwise", {});
  } else {
    dist = Part(std::string(kDistinguish), Verdict::kNo, 0, "undetermined: needs both the drop and the stop outcome",
                "undetermined (reported as no, score 0)", {});
  }
  // steer
  Assessment steer;
  std::string steer_line = o.contracts.count("steer") ? o.contracts.at("steer") : std::string("steer");
  if (o.steer_contract && o.steer_tried) {
    bool ok = Is2xx(o.steer_status) && o.steer_applied.value_or(false);
    steer = Part(std::string(kSteer), ok ? Verdict::kYes : Verdict::kNo, ok ? 100 : 0,
                 ok ? "100: a steer request mid-run was accepted and the run went on"
                    : "0: the steer request was refused or broke the run",
                 "yes: steer accepted mid-run; partial: a second message is refused cleanly; no: it starts a parallel "
                 "run or fails",
                 {Ev(steer_line, "HTTP " + std::to_string(o.steer_status), "live.steer")});
  } else if (o.steer_tried && o.double_text_concurrent.has_value()) {
    bool refused =
        !*o.double_text_concurrent && (o.steer_status == 409 || o.steer_status == 423 || o.steer_status == 429);
    steer = Part(std::string(kSteer), refused ? Verdict::kPartial : Verdict::kNo, refused ? 30 : 0,
                 refused ? "30: no steer contract; a second message mid-run is refused cleanly"
                         : "0: no steer contract; a second message mid-run starts a parallel generation",
                 "yes: steer accepted mid-run; partial: a second message is refused cleanly; no: it starts a parallel "
                 "run or fails",
                 {Ev(steer_line, "second message mid-run: HTTP " + std::to_string(o.steer_status), "live.steer")});
  } else {
    steer = Part(std::string(kSteer), Verdict::kNo, 0, "undetermined: no steer test could run",
                 "undetermined (reported as no, score 0)", {});
    notes->push_back(
        "live_control.steer: undetermined (give --steer METHOD URL, or a mock-llm log for the double-text test)");
  }
  if (!stop_known) notes->push_back("live_control.stop: undetermined");
  if (!dist_known) notes->push_back("live_control.distinguish: undetermined");

  cap.score = static_cast<int>(std::lround(0.4 * stop.score + 0.4 * dist.score + 0.2 * steer.score));
  cap.derivation = "0.4 x stop " + std::to_string(stop.score) + " + 0.4 x distinguish " + std::to_string(dist.score) +
                   " + 0.2 x steer " + std::to_string(steer.score) + " = " + std::to_string(cap.score);
  bool all_yes = stop.verdict == Verdict::kYes && dist.verdict == Verdict::kYes && steer.verdict == Verdict::kYes;
  bool any = stop.verdict != Verdict::kNo || dist.verdict != Verdict::kNo || steer.verdict != Verdict::kNo;
  cap.verdict = all_yes ? Verdict::kYes : any ? Verdict::kPartial : Verdict::kNo;
  cap.verdict_rule = "yes: stop, distinguish and steer all yes; partial: any of them yes or partial; no: none";
  for (const auto* p : {&stop, &dist, &steer})
    for (const auto& e : p->evidence) cap.evidence.push_back(e);
  cap.parts = {stop, dist, steer};
  if (!stop_known && !dist_known) cap.properties["determined"] = "false";
  return cap;
}

FailureMode Fm(std::string id, std::string title, std::string severity, std::string message, std::string rule,
               std::vector<std::string> caps, std::vector<Evidence> ev) {
  FailureMode f;
  f.id = std::move(id);
  f.title = std::move(title);
  f.severity = std::move(severity);
  f.message = std::move(message);
  f.rule = std::move(rule);
  f.capabilities = std::move(caps);
  f.evidence = std::move(ev);
  return f;
}

// The migration kit's pieces (issue 17), for findings of the live probe: it sees no source, so a
// fix names the kit piece and the change, not a file (the static audit names the file and line).
Fix KitFix(std::string_view kit, std::string change) {
  return Fix{std::string(kit), std::string(KitName(kit)), "", 0, std::move(change)};
}

Fix ProxyFix() {
  return KitFix(kKitLlmProxy,
                "Run `dsx session serve --llm-proxy <upstream base URL>` and set the app's model base URL to "
                "SERVER/llm/v1 (header X-Dsx-Session: the chat id): the model call then belongs to the dsx server, "
                "every token is kept in the session, and control.cancel on the run aborts the upstream call.");
}

Fix TransportFix() {
  return KitFix(kKitAiSdkTransport,
                "Pass `transport: new DsxChatTransport({...})` (npm @dsx/ai-sdk-transport, or GET "
                "/ui/kit/dsx-chat-transport.js) to useChat: the chat reads the run from the session by offset "
                "(exact resume, other tabs see it) and Stop sends control.cancel to the run.");
}

Fix AgentFix() {
  return KitFix(kKitPythonAgent,
                "For a Python agent, run the streaming loop with clients/python/dsx_agent.py (DsxAgent): open a run, "
                "append each delta, handle the cancel and steer callbacks, end the run; the route only starts it.");
}

// Steer: the AI SDK transport's steer on a chat the durable LLM proxy runs (the proxy applies
// control.steer), or an agent's steer callback.
Fix TransportSteerFix() {
  return KitFix(kKitAiSdkTransport,
                "Send new input mid-answer with `transport.steer(chatId, text)` (or `{ json: { temperature: 0.2 } }`) "
                "on the DsxChatTransport passed to useChat, with the model call on the durable LLM proxy "
                "(`dsx session serve --llm-proxy <upstream base URL>`): the proxy applies control.steer (stops the "
                "upstream call and continues the same run with the partial answer and the steer text, acked "
                "applied) and the UI message shows the continuation.");
}

// What closes the gap of each capability and part that is not yes.
void AddCapabilityFixes(Capability& cap) {
  if (cap.verdict == Verdict::kYes || cap.verdict == Verdict::kUndetermined) return;
  if (cap.id == kResilientDelivery || cap.id == kContinuity) cap.fixes = {ProxyFix(), TransportFix(), AgentFix()};
  if (cap.id == kLiveControl) cap.fixes = {TransportFix(), ProxyFix(), AgentFix()};
  for (auto& p : cap.parts) {
    if (p.verdict == Verdict::kYes || p.verdict == Verdict::kUndetermined) continue;
    if (p.id == kSteer) p.fixes = {TransportSteerFix(), AgentFix()};
    else p.fixes = {TransportFix(), ProxyFix()};
  }
}

}  // namespace

Report Judge(const Observations& o) {
  Report r;
  r.source = Source::kLive;
  r.target = o.url;
  r.properties["fingerprint"] = ProtocolName(o.fingerprint.protocol);
  r.properties["oracle"] = o.oracle ? "mock-llm log" : "none (the app's own responses only)";
  for (const auto& [k, v] : o.contracts) r.properties["contract." + k] = v;
  std::string evidence_line;
  for (const auto& e : o.fingerprint.evidence) evidence_line += (evidence_line.empty() ? "" : "; ") + e;
  if (!evidence_line.empty()) r.properties["fingerprint_evidence"] = evidence_line;
  r.stacks.push_back(std::string("live:") + ProtocolName(o.fingerprint.protocol));

  r.capabilities.push_back(ResilientDelivery(o));
  r.capabilities.push_back(Continuity(o));
  r.capabilities.push_back(LiveControl(o, &r.notes));

  std::string drop_line = "drop after " + Tok(o.drop_at);
  if (o.drop_done && o.producer_continued == false) {
    r.failure_modes.push_back(Fm(
        "single_connection_trap", "Single-connection trap", "high",
        "Generation lives and dies with one HTTP connection: when the client dropped, the model "
        "stopped, so a network blip loses the answer and stop cannot be told from a drop.",
        "LIVE-SCT", {"resilient_delivery", "continuity", "live_control"},
        {Ev(drop_line, "the mock LLM logged the cancel right after the client dropped", "live.producer_continued")}));
  }
  if (o.producer_continued == true && o.resume_tried && o.resume.kind == ResumeKind::kNone) {
    r.failure_modes.push_back(
        Fm("half_wired_resume", "Half-wired resume", "high",
           "The generation survived the drop, but the resume route answered with nothing to resume "
           "while the model was still streaming.",
           "LIVE-HALF", {"resilient_delivery"},
           {Ev(o.contracts.count("resume") ? o.contracts.at("resume") : "resume",
               "HTTP " + std::to_string(o.resume_status) + ": " + o.resume.detail, "live.resume")}));
  }
  if (o.resume_tried && o.resume.kind == ResumeKind::kFullReplay && !o.fingerprint.message_identity) {
    r.failure_modes.push_back(
        Fm("full_replay_without_dedupe", "Full replay without dedupe", "medium",
           "Resume replays the answer from the first token and the stream does not name its message, "
           "so a client that keeps its partial text shows it twice.",
           "LIVE-DUP", {"resilient_delivery"}, {Ev("resume", o.resume.detail, "live.resume_kind")}));
  }
  if (o.producer_continued == true && (!o.stop_contract || o.stop_halted == false)) {
    r.failure_modes.push_back(
        Fm("sse_resume_cancel_conflict", "SSE resume-cancel conflict", "high",
           "The generation outlives the connection, but no stop request halts it: a user's stop only "
           "detaches the client while the model keeps generating (and billing), and a reload resumes "
           "the \"stopped\" answer.",
           "LIVE-RCC", {"live_control"},
           {Ev(o.contracts.count("cancel") ? o.contracts.at("cancel") : "stop",
               o.stop_contract ? "model kept generating after the stop request"
                               : "no stop contract; the model kept generating after the drop",
               "live.stop")}));
  }
  for (auto& fm : r.failure_modes) {
    if (fm.id == "single_connection_trap") fm.fixes = {ProxyFix(), TransportFix(), AgentFix()};
    else if (fm.id == "sse_resume_cancel_conflict") fm.fixes = {TransportFix(), ProxyFix(), AgentFix()};
    else fm.fixes = {TransportFix(), ProxyFix()};  // half-wired resume, full replay: read the session by offset
  }
  for (auto& c : r.capabilities) AddCapabilityFixes(c);
  for (const auto& u : o.undetermined) r.notes.push_back(u);
  for (const auto& c : r.capabilities)
    if (c.properties.count("determined") && c.properties.at("determined") == "false")
      r.notes.push_back(c.id + ": undetermined (" + c.derivation + ")");
  return r;
}

}  // namespace dsx::audit::probe
