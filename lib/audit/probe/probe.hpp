// dsx audit --url: the live probe. Public entry point of target dsx_audit_probe.
//
// The probe drives a running AI app over HTTP the way a user's browser would (start a
// generation, drop the connection, resume, attach a second reader, press stop, steer) and
// decides each capability from what it observes. "Did generation really stop?" is never
// taken from the app's word: it comes from the log of `dsx audit mock-llm`, the model the
// app under test is pointed at (see mock_log.hpp). The procedure follows
// shared/research/audit-patterns.md §4.3; docs/cli/audit-probe.md is the user-facing text.
//
// Integration with the static audit (lib/audit/report, apps/dsx/cmd_audit.cpp):
//   RunLiveProbe() returns a LiveResult whose `report` is the shared audit Report
//   (lib/audit/report/report.hpp) with source live; cmd_audit.cpp compares it with the
//   static report (audit::Compare) and prints it with the same printers.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "audit/report/report.hpp"
#include "core/status.hpp"

namespace dsx::audit::probe {

// What the endpoint speaks, from its response headers and first body bytes.
enum class Protocol {
  kUnknown,
  kDurableStreams,   // Stream-Next-Offset headers, /v1/stream/ paths
  kDsxSession,       // /v1/session/ paths (dsx session serve, issue 3)
  kAiSdkUiStream,    // AI SDK v5+: x-vercel-ai-ui-message-stream: v1, data: {"type":"text-delta"}
  kAiSdkDataStream,  // AI SDK v4: x-vercel-ai-data-stream: v1, 0:"text" lines
  kLangGraph,        // Content-Location: /threads/{t}/runs/{r}
  kOpenAiChat,       // OpenAI chat.completion.chunk SSE (an app proxying the model)
  kPlainSse,         // text/event-stream with no known dialect
  kWebSocket,        // ws:// URL or 101/426 upgrade answers
  kPlainText,        // a streamed body that is not SSE
};
const char* ProtocolName(Protocol p);  // "durable-streams", "ai-sdk-ui-stream", ...

// How a dropped stream came back (research §4.3, RD step 4).
enum class ResumeKind {
  kNotTested,
  kCursor,       // continued at the next token, nothing repeated
  kFullReplay,   // started again at the first token
  kSnapshot,     // one frame with the text so far, then live
  kLossy,        // came back with tokens missing
  kNone,         // 204/404/empty: nothing to resume
  kUndetermined  // the probe could not tell (timeouts, no tokens seen, garbage)
};
const char* ResumeKindName(ResumeKind k);

// One HTTP request, possibly templated. Placeholders expanded per generation:
//   {{id}}        a fresh id for this generation (chat id, stream id, session id)
//   {{marker}}    a unique "dsx-probe-..." word; put it in the prompt so the mock-LLM log
//                 can be matched to this generation (the mock logs only that word)
//   {{stream_id}} taken from the start response (x-resumable-stream-id, Content-Location,
//                 x-dsx-stream-id headers) when present
//   {{offset}}    the last cursor seen: SSE id:, or the Stream-Next-Offset header
//   {{chars}}     characters of body received before the drop (resumable-stream resumeAt)
//   {{offset}} also comes from Durable Streams control events (streamNextOffset)
//   {{run}}       the first "run":"..." string seen in the stream (dsx sessions, LangGraph)
struct RequestSpec {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;
  bool send_last_event_id = true;  // resume only: add Last-Event-ID when an id: was seen
};

struct ProbeOptions {
  RequestSpec start;                  // starts a generation (--url, --method, --header, --body)
  std::optional<RequestSpec> resume;  // GET that re-attaches to a generation (--resume)
  std::optional<RequestSpec> cancel;  // the stop contract (--cancel METHOD URL)
  std::optional<RequestSpec> steer;   // steer mid-run (--steer METHOD URL, --steer-body)
  // The mock LLM's log: an http(s) URL (GET /log of `dsx audit mock-llm`) or a file.
  // Empty: stop/drop verdicts fall back to what the app itself shows and say so.
  std::string mock_log;
  // Optional shell command run (sh -c, not waited for) just before each generation's start
  // request, with the same placeholders: for endpoints where generation is started by an
  // agent process rather than by the request (Durable Streams, dsx sessions). Processes
  // still running when the probe ends get SIGTERM.
  // The probe waits (up to 15 s) until the command prints its first line on stdout, so
  // the command can say "ready"; later output is discarded.
  std::string start_command;
  // Text that marks the end of a generation in a stream that stays open after it (a dsx
  // session's SSE: "\"type\":\"run.end\""); reading stops there. Empty: the fingerprint's
  // default, else the response's own end.
  std::string end_marker;
  // Fresh id strategy for {{id}}: random hex unless the probe file fixes a prefix.
  std::string id_prefix = "dsx-probe";

  int drop_after_tokens = 4;         // drop / stop / second reader after this many tokens
  double connect_timeout_s = 5.0;    // TCP + TLS connect
  double first_byte_timeout_s = 10;  // start request: no response header by then = hang
  double idle_timeout_s = 10.0;      // no body byte for this long = stalled stream
  double max_stream_s = 120.0;       // one read never lasts longer than this
  double settle_s = 1.5;             // wait after a drop/stop before reading the oracle
  bool run_drop = true, run_second = true, run_stop = true, run_steer = true;
  bool guess_conventions = true;  // try documented default routes (research §4.2)
};

struct Check {         // one observation, in the order it was made; printed as evidence
  std::string step;    // "fingerprint", "drop", "resume", "second-reader", "stop", "steer"
  std::string detail;  // what was sent and seen, one line
};

// What the probe concluded: the shared audit Report (source live: capabilities with
// criteria and evidence, failure modes, notes for what could not be determined), plus
// the probe's own details.
struct LiveResult {
  audit::Report report;
  Protocol protocol = Protocol::kUnknown;
  ResumeKind resume = ResumeKind::kNotTested;
  bool oracle_used = false;  // stop/drop verdicts came from the mock-LLM log
  std::vector<Check> checks;
};

// Run the whole procedure. Errors (exit codes): kUsage for bad options, kUnavailable when
// the start URL cannot be reached at all. A hang, garbage or a missing contract is not an
// error: the result says what could not be determined and why.
Result<LiveResult> RunLiveProbe(const ProbeOptions& options);

// Read a YAML probe file (docs/cli/audit-probe.md) into options; flags given on the command
// line are applied afterwards by the caller and win.
Status LoadProbeFile(const std::string& path, ProbeOptions* options);

}  // namespace dsx::audit::probe
