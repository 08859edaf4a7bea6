// The audit report model, shared by the static audit (lib/audit/static) and the live probe
// (lib/audit/probe), and the printers that render it (text, markdown, json, sarif).
//
// A Report is what ONE source (static code analysis or a live probe) concluded about an app:
// three capabilities, each with a verdict (yes|partial|no|undetermined), a 0-100 score and the derivation of
// that score (which criteria held, with their evidence); the failure modes found; and a migration
// plan. A Comparison holds a static and a live report side by side with their disagreements, and
// is what every printer takes (a single report is a Comparison with one side empty).
//
// The JSON shape produced by ToJson() is documented in man/dsx-audit.1 (JSON OUTPUT) and is stable:
// fields may be added, never renamed or removed.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::audit {

// kUndetermined: nothing to judge (no streaming AI code was recognised). It is not a rank: it is
// neither better nor worse than no, so Compare() takes the other source's verdict over it and
// scores skip it (JSON score null).
enum class Verdict { kNo = 0, kPartial = 1, kYes = 2, kUndetermined = 3 };
enum class Source { kStatic, kLive };

std::string_view VerdictName(Verdict v);           // "no" | "partial" | "yes" | "undetermined"
Result<Verdict> ParseVerdict(std::string_view s);  // accepts those four names
std::string_view SourceName(Source s);             // "static" | "live"

// Capability ids, in report order.
inline constexpr std::string_view kResilientDelivery = "resilient_delivery";
inline constexpr std::string_view kContinuity = "continuity";
inline constexpr std::string_view kLiveControl = "live_control";
// Parts of live control, in report order.
inline constexpr std::string_view kStop = "stop";                // the user can stop a run
inline constexpr std::string_view kDistinguish = "distinguish";  // stop is not the same as a drop
inline constexpr std::string_view kSteer = "steer";              // steer/interrupt/approve mid-run

// One piece of evidence. Static: file (relative to the audited root) + 1-based line + a short
// excerpt of that line. Live: file holds the URL or probe step ("GET /api/chat/1/stream"), line 0,
// excerpt what was observed ("204 after drop at token 12 while the mock kept streaming").
struct Evidence {
  std::string file;
  int line = 0;         // 1-based; 0 = not a source line
  std::string excerpt;  // one line, trimmed, at most ~160 chars
  std::string fact;     // the fact or probe observation it supports ("server.resume_endpoint")
};

// The exact change that fixes a finding, with the migration kit piece to use (issue 17). Static
// fixes name the app's own file and line where the audit found the place to change (where it
// builds its model client, calls useChat, runs its streaming loop); live ones have no file.
// Kit ids and their names: kKit* below; the texts come from configs/audit/capabilities/fixes.yaml
// (static) and lib/audit/probe/judge.cpp (live).
struct Fix {
  std::string kit;       // kKitLlmProxy | kKitAiSdkTransport | kKitPythonAgent | kKitSession
  std::string kit_name;  // how the user reaches it: "dsx session serve --llm-proxy URL", ...
  std::string file;      // relative to the audited root; "" = no place found (live, or no code here)
  int line = 0;          // 1-based; 0 = none
  std::string change;    // the change, one sentence
};
inline constexpr std::string_view kKitLlmProxy = "llm_proxy";
inline constexpr std::string_view kKitAiSdkTransport = "ai_sdk_transport";
inline constexpr std::string_view kKitPythonAgent = "python_agent";
inline constexpr std::string_view kKitSession = "dsx_session";  // the session API itself (/ui/dsx-session.js)
// The name shown for a kit id ("" for an unknown id).
std::string_view KitName(std::string_view kit);

// One scoring criterion of a capability (or part): `points` of `max_points` were earned.
// A criterion either holds (points == max_points) or not (0); caps applied by failure modes are
// listed on the capability, not here.
struct Criterion {
  std::string id;           // "producer_decoupled"
  std::string description;  // "the producer outlives the client's request"
  int points = 0;
  int max_points = 0;
  bool met = false;
  std::vector<Evidence> evidence;
  // Not met: the lines that keep it from holding (a resume route that answers 204, a cancel on
  // disconnect); empty when it fails for want of something (lib/audit/rules/condition.hpp Against).
  std::vector<Evidence> against;
};

// A verdict with its score and how both were derived. Used for capabilities and for the parts
// of live control (stop, distinguish, steer).
struct Assessment {
  std::string id;  // "resilient_delivery", "stop", ...
  Verdict verdict = Verdict::kNo;
  int score = 0;           // 0-100; meaningless (JSON null) when verdict is undetermined
  std::string derivation;  // one sentence: "30 (producer decoupled) + 30 (...) = 60, capped at 40 by half_wired_resume"
  std::string verdict_rule;         // which verdict rule decided it ("yes: all of ..."), for disputes
  std::vector<Criterion> criteria;  // every criterion, met or not
  std::vector<std::string> caps;    // "capped at 40 by half_wired_resume"
  std::vector<Evidence> evidence;   // the evidence of the met criteria, deduplicated
  std::vector<Fix> fixes;           // when not yes: the kit changes that close the gap, best first
};

struct Capability : Assessment {
  std::vector<Assessment> parts;                  // live_control: stop, distinguish, steer; empty otherwise
  std::map<std::string, std::string> properties;  // free extra facts, e.g. live "resume": "cursor"
  const Assessment* Part(std::string_view id) const;
};

struct FailureMode {
  std::string id;                         // "single_connection_trap", ...
  std::string title;                      // "Single-connection trap"
  std::string severity;                   // "high" | "medium" | "low"
  std::string message;                    // what is wrong and why it matters, one paragraph
  std::string rule;                       // the rule that found it ("FM-SCT-001")
  std::vector<std::string> capabilities;  // capabilities it hurts
  std::vector<Evidence> evidence;
  std::vector<Fix> fixes;  // the exact changes, best first (JSON: "fix" is the first, "fixes" all)
};

// One of the ten migration steps, filled in for this codebase.
struct MigrationStep {
  int number = 0;                  // 1..10
  std::string id;                  // "audit", "score", "failure_modes", "design_session_layer", ...
  std::string title;               // "Redirect agents"
  std::string status;              // "done" | "todo" | "not_needed"
  std::string action;              // what to do here, naming this codebase's code
  std::string dsx_feature;         // the `dsx session` feature it maps to
  std::vector<std::string> files;  // files to change (relative paths)
};

// Something the audit could not read or chose to skip; the audit still finishes.
struct Skipped {
  std::string path;
  std::string reason;  // "binary file", "larger than 2 MiB", "permission denied", "symlink loop"
};

// A file the grammar parsed with errors: it WAS checked (detectors ran over the tree, ERROR nodes
// and all), so it is not skipped, but a pattern near the error may have been missed.
struct PartialParse {
  std::string path;
  int line = 0;  // 1-based line of the first syntax error
};

struct Stats {
  int files_seen = 0;     // candidate files after ignore rules
  int files_parsed = 0;   // parsed with a grammar
  int files_skipped = 0;  // in Report::skipped
  int facts = 0;
  double seconds = 0;  // wall time of the audit
};

struct Report {
  Source source = Source::kStatic;
  std::string target;                    // audited path or URL
  std::vector<Capability> capabilities;  // resilient_delivery, continuity, live_control
  std::vector<FailureMode> failure_modes;
  std::vector<MigrationStep> migration;
  std::vector<std::string> stacks;  // detected stacks ("vercel-ai-sdk@5", "fastapi", ...)
  std::vector<Skipped> skipped;
  std::vector<PartialParse> partial;              // parsed with syntax errors, still checked
  std::vector<std::string> notes;                 // warnings for the reader ("no streaming code found")
  std::map<std::string, std::string> properties;  // live: "fingerprint", ... static: "rules"
  Stats stats;
  // Static: the file a finding with no source line of its own is anchored at (SARIF needs a
  // location for every result): the root-most manifest, else the root-most source file; "" = none.
  std::string project_file;

  const Capability* Find(std::string_view capability_id) const;
  // Mean of the scores of the capabilities that are not undetermined, rounded; what --fail-under
  // compares. 0 when HasScore() is false.
  int OverallScore() const;
  // False when every capability is undetermined (or there is none): nothing to score.
  bool HasScore() const;
};

// A place where the static and live reports disagree ("live_control.stop": static yes, live no).
struct Disagreement {
  std::string what;  // "resilient_delivery" or "live_control.stop"
  Verdict static_verdict = Verdict::kNo;
  Verdict live_verdict = Verdict::kNo;
  std::string note;  // why this can happen, e.g. platforms that never deliver the client's abort
};

// Static and/or live reports side by side. `merged` is what top-level consumers read:
// with one source it is that report; with both, each capability (and part) takes the LOWER
// verdict and score of the two (live behaviour can refute code, and code can show a path the
// probe did not exercise), failure modes are the union.
struct Comparison {
  std::optional<Report> static_report;
  std::optional<Report> live_report;
  Report merged;
  std::vector<Disagreement> disagreements;
};

// Build a Comparison from one or both reports (at least one must be present).
Comparison Compare(std::optional<Report> static_report, std::optional<Report> live_report);

// ----- printers -----

enum class Format { kText, kMarkdown, kJson, kSarif };
Result<Format> ParseFormat(std::string_view name);  // text | markdown | json | sarif

struct RenderOptions {
  bool color = false;        // ANSI colours in text output (only when stdout is a TTY)
  int fail_under = -1;       // shown in the text summary when >= 0
  std::string tool_version;  // "0.1.0", used by SARIF's tool.driver.version
  // SARIF: the audited folder as an absolute path (originalUriBaseIds %SRCROOT%); "" = the
  // report's target when that is absolute, else none.
  std::string source_root;
  // SARIF: the text of an audited file by its relative path, for the exact line (region snippet)
  // and the lines around it (contextRegion); nullopt when it cannot be read. Unset: excerpts only.
  std::function<std::optional<std::string>(const std::string& relative_path)> read_source;
};

nlohmann::json ToJson(const Report& report);
nlohmann::json ToJson(const Comparison& comparison);  // the documented --format json document
std::string RenderText(const Comparison& comparison, const RenderOptions& options);
std::string RenderMarkdown(const Comparison& comparison, const RenderOptions& options);
nlohmann::json RenderSarif(const Comparison& comparison, const RenderOptions& options);  // SARIF 2.1.0
// Dispatch on format; json and sarif come back as pretty-printed text with a trailing newline.
std::string Render(const Comparison& comparison, Format format, const RenderOptions& options);

}  // namespace dsx::audit
