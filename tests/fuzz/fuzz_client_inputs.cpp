// libFuzzer target for what dsx's clients parse from outside: an SSE stream from any server
// (net::SseParser, with a small bound so overflow paths are reached), a job record read back
// from the registry (jobs::RecordFromJson: a job.json edited or damaged by hand), and a
// fine-tuning instruction (finetune::ParseInstruction -> --set -> Complete -> MakePlan over the
// shipped catalogs), and what the Hub answers about a model or a dataset (finetune::ModelInfoFromHub,
// ParseDatasetInfo, CheckColumns). The first byte picks the parser; the rest is its input. Properties: no
// crash, no sanitizer report, bounded memory, and a plan is only made from a complete spec.
// AutoLab's researcher adds its own inputs on first bytes 0xA0-0xA3 (see FuzzResearcher below), and
// its run folder and live inputs on 0xA4-0xA6 (FuzzAutolabRun), plans, command templates and
// experiment output on 0xA7-0xA9 (FuzzAutolabInputs).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "autolab/hub_dataset.hpp"
#include "autolab/command_template.hpp"
#include "autolab/hypothesis_json.hpp"
#include "autolab/metrics.hpp"
#include "autolab/plan.hpp"
#include "autolab/papers.hpp"
#include "autolab/run_plan.hpp"
#include "autolab/session/progress_text.hpp"
#include "autolab/session/steer_control.hpp"
#include "core/json_limits.hpp"
#include "core/utf8.hpp"
#include "finetune/catalog.hpp"
#include "finetune/hub_lookup.hpp"
#include "finetune/plan.hpp"
#include "finetune/spec.hpp"
#include "finetune/spec_parser.hpp"
#include "jobs/job.hpp"
#include "net/sse_parser.hpp"

namespace {

const dsx::finetune::Catalog* ShippedCatalog() {
  // The shipped catalogs, found from this file's path (the fuzzer runs from any directory).
  static const auto catalog = dsx::finetune::Catalog::Load(std::string(__FILE__) + "/../../../configs");
  return catalog.ok() ? &catalog.value() : nullptr;
}

void FuzzSse(std::string_view in) {
  size_t events = 0;
  dsx::net::SseParser parser([&](const dsx::net::SseEvent& e) { events += e.data.size() < 4096 ? 1 : 0; }, 4096);
  // Feed in uneven pieces: splits inside CRLF, the BOM and fields are where parsers break.
  size_t i = 0, step = 1;
  while (i < in.size()) {
    size_t n = std::min(step, in.size() - i);
    if (!parser.Feed(in.substr(i, n))) {
      if (parser.pending_bytes() != 0) __builtin_trap();  // an overflow holds nothing
      parser.Reset();
    }
    if (parser.pending_bytes() > 4096 + n) __builtin_trap();  // the bound holds
    i += n;
    step = step * 3 % 17 + 1;
  }
  parser.Finish();
}

void FuzzJobRecord(std::string_view in) {
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) return;
  auto record = dsx::jobs::RecordFromJson(j);
  if (!record.ok()) return;
  // What was accepted must write back and read again to the same record.
  auto again = dsx::jobs::RecordFromJson(dsx::jobs::ToJson(*record));
  if (!again.ok() || dsx::jobs::ToJson(*again) != dsx::jobs::ToJson(*record)) __builtin_trap();
}

void FuzzInstruction(std::string_view in) {
  // "instruction\n--set a=b\n--set c=d"
  std::string_view text = in.substr(0, in.find('\n'));
  const dsx::finetune::Catalog* catalog = ShippedCatalog();
  auto parsed = dsx::finetune::ParseInstruction(text, [&](std::string_view alias) -> std::optional<std::string> {
    if (catalog) return catalog->ResolveAlias(alias);
    return std::nullopt;
  });
  if (!parsed.ok()) return;
  dsx::finetune::Spec spec = parsed->spec;
  for (size_t pos = in.find('\n'); pos != std::string_view::npos;) {
    size_t end = in.find('\n', pos + 1);
    std::string_view set = in.substr(pos + 1, end == std::string_view::npos ? std::string_view::npos : end - pos - 1);
    (void)dsx::finetune::ApplySet(spec, set);
    pos = end;
  }
  (void)dsx::finetune::ToJson(spec).dump();
  if (!dsx::finetune::Complete(spec).ok()) return;
  if (!spec.model.has() || !spec.dataset.has()) __builtin_trap();  // Complete lets nothing required through
  if (catalog) {
    for (const char* backend : {"hf", "slurm"}) {
      dsx::finetune::PlanInputs inputs;
      inputs.backend = backend;
      auto plan = dsx::finetune::MakePlan(spec, *catalog, inputs);
      if (plan.ok()) (void)dsx::finetune::ToJson(*plan).dump();
    }
  }
}

// "<models api json>\0<config.json>" or a datasets-server /info body.
void FuzzHubAnswers(std::string_view in, bool model) {
  if (model) {
    size_t nul = in.find('\0');
    std::string_view api = in.substr(0, nul);
    std::string_view config = nul == std::string_view::npos ? std::string_view("{}") : in.substr(nul + 1);
    auto info = dsx::finetune::ModelInfoFromHub("org/model", api, config);
    if (info.ok() && !(info->params_b >= 0)) __builtin_trap();  // NaN or negative never reach the planner
    return;
  }
  auto configs = dsx::finetune::ParseDatasetInfo(in);
  if (!configs.ok()) return;
  dsx::finetune::Spec spec;
  for (const char* method : {"sft", "dpo", "grpo", "kto", "reward"}) {
    spec.method.Set(method, dsx::finetune::Source::kSaid);
    for (const auto& c : *configs) (void)dsx::finetune::CheckColumns(spec, c);
  }
}

// AutoLab's researcher: what a model answers ({"hypotheses": [...]}, checked against a plan) and what
// the Hub's paper API (JSON) and arXiv's export API (Atom) send back. Properties: whatever is accepted
// is within the documented bounds and valid UTF-8 (it goes into JSON: the ledger, the next prompt),
// and every reason for a dropped hypothesis is valid UTF-8 too (it reaches logs and error messages).
void FuzzResearcher(std::string_view in, int which) {
  if (which == 0) {
    static const dsx::autolab::Plan plan = [] {
      dsx::autolab::Plan p;
      dsx::autolab::Evolve ev;
      ev.base = {{"lr", 0.01}, {"width", 64}, {"optimizer", "adam"}, {"nesterov", false}, {"list", {1, 2}}};
      dsx::autolab::Hypothesis own;
      own.id = "wider";
      own.overrides = {{"width", 128}};
      ev.hypotheses.push_back(own);
      p.evolve = ev;
      return p;
    }();
    auto answer = dsx::autolab::ParseHypothesisAnswer(in, plan, {"tried"}, 3);
    if (!answer.ok()) {
      (void)dsx::IsValidUtf8(answer.status().message());
      return;
    }
    if (answer->accepted.size() > 3) __builtin_trap();
    for (const auto& d : answer->dropped) {
      if (!dsx::IsValidUtf8(d)) __builtin_trap();
      if (d.find('\n') != std::string::npos) __builtin_trap();  // one log line each
    }
    for (const auto& h : answer->accepted) {
      if (!dsx::autolab::IsResearcherId(h.id) || h.id == "tried" || h.id == "wider") __builtin_trap();
      if (h.rationale.empty() || h.rationale.size() > dsx::autolab::kMaxRationaleBytes ||
          h.rationale.find('\n') != std::string::npos || !dsx::IsValidUtf8(h.rationale))
        __builtin_trap();
      if (h.overrides.empty() && h.patch.empty()) __builtin_trap();
      if (!h.patch.empty() &&
          (h.patch.size() > dsx::autolab::kMaxPatchBytes + 1 || h.patch.find("+++ ") == std::string::npos))
        __builtin_trap();
      for (const auto& [k, v] : h.overrides) {
        auto b = plan.evolve->base.find(k);
        if (b == plan.evolve->base.end() || !v.is_primitive() || v.is_null()) __builtin_trap();
        if (b->second.is_number_integer() && !v.is_number_integer()) __builtin_trap();
      }
      nlohmann::json j = {{"id", h.id}, {"rationale", h.rationale}, {"patch", h.patch}};
      for (const auto& [k, v] : h.overrides) j["overrides"][k] = v;
      (void)j.dump();  // throws (a crash here) on invalid UTF-8
    }
    return;
  }
  if (which == 3) {
    auto ref = dsx::autolab::ParsePaperRef(in);
    if (ref && (ref->id.empty() || ref->id.find_first_of("?&#%: ") != std::string::npos)) __builtin_trap();
    return;
  }
  auto paper = which == 1 ? dsx::autolab::ParseHfPaper(in) : dsx::autolab::ParseArxivAtom(in);
  if (!paper.ok()) return;
  for (const std::string* s : {&paper->title, &paper->abstract}) {
    if (!dsx::IsValidUtf8(*s) || s->find('\n') != std::string::npos) __builtin_trap();
  }
}

}  // namespace

// AutoLab's run folder and live inputs: a plan.json read back (PlanFromJson: whatever it accepts
// writes back to a plan with the same hash), a steer sent to the run's session (ControlFromSteer and
// the text line shown for any event), and what the Hub answers to preupload and LFS batch requests.
void FuzzAutolabRun(std::string_view in, int which) {
  const nlohmann::json j = dsx::ParseJsonOrDiscarded(in);
  if (which == 0) {
    if (j.is_discarded()) return;
    auto plan = dsx::autolab::PlanFromJson(j);
    if (!plan.ok()) return;
    auto again = dsx::autolab::PlanFromJson(dsx::autolab::ToJson(*plan));
    if (!again.ok() || dsx::autolab::PlanHash(*again) != dsx::autolab::PlanHash(*plan)) __builtin_trap();
  } else if (which == 1) {
    if (j.is_discarded()) return;
    auto control = dsx::autolab::ControlFromSteer(j);
    if (!control.ok() && !dsx::IsValidUtf8(control.status().message())) __builtin_trap();
    dsx::autolab::ProgressText text;
    (void)text.Line(j);
  } else {
    auto pre = dsx::autolab::ParsePreuploadAnswer(std::string(in));
    auto lfs = dsx::autolab::ParseLfsBatchAnswer(std::string(in));
    (void)pre;
    (void)lfs;
  }
}

// What a person or an agent writes for AutoLab and what an experiment prints: a whole plan (YAML,
// every key; what is accepted has a canonical JSON that reads back to the same hash), a command
// template split and expanded (no argument ever holds an unexpanded placeholder's braces split
// apart), and an experiment's output fed to the metric readers in uneven pieces.
void FuzzAutolabInputs(std::string_view in, int which) {
  if (which == 0) {
    auto check = dsx::autolab::CheckPlan(in, "/nonexistent-dir/plan.yaml");
    if (check.plan) {
      auto again = dsx::autolab::PlanFromJson(dsx::autolab::ToJson(*check.plan));
      if (!again.ok() || dsx::autolab::PlanHash(*again) != dsx::autolab::PlanHash(*check.plan)) __builtin_trap();
    } else if (check.errors.empty()) {
      __builtin_trap();  // no plan must mean at least one error
    }
  } else if (which == 1) {
    auto argv = dsx::autolab::ExpandCommand(in, {{"lr", 0.1}, {"name", "a b"}}, "/work dir", 3);
    if (argv.ok())
      for (const auto& a : *argv)
        if (!dsx::IsValidUtf8(a) && dsx::IsValidUtf8(in)) __builtin_trap();
    (void)dsx::autolab::Placeholders(in);
  } else {
    auto json = dsx::autolab::MetricStream::Json("loss", "step");
    auto regex = dsx::autolab::MetricStream::Regex("loss", "loss=([0-9.eE+-]+)");
    size_t i = 0, step = 1;
    while (i < in.size()) {
      size_t n = std::min(step, in.size() - i);
      json.Feed(in.substr(i, n));
      if (regex.ok()) regex->Feed(in.substr(i, n));
      i += n;
      step = step * 5 % 23 + 1;
    }
    json.Finish();
    auto out = json.Outcome();
    if (out.kind == dsx::autolab::MetricKind::kOk && (!out.value || !std::isfinite(*out.value))) __builtin_trap();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] >= 0xA0 && data[0] <= 0xA3) {  // the researcher's inputs, outside the rotation below
    FuzzResearcher(in, data[0] - 0xA0);
    return 0;
  }
  if (data[0] >= 0xA4 && data[0] <= 0xA6) {  // AutoLab's run folder and live inputs
    FuzzAutolabRun(in, data[0] - 0xA4);
    return 0;
  }
  if (data[0] >= 0xA7 && data[0] <= 0xA9) {  // AutoLab's plans, commands and experiment output
    FuzzAutolabInputs(in, data[0] - 0xA7);
    return 0;
  }
  switch (data[0] % 5) {
    case 0: FuzzSse(in); break;
    case 1: FuzzJobRecord(in); break;
    case 2: FuzzInstruction(in); break;
    case 3: FuzzHubAnswers(in, /*model=*/true); break;
    default: FuzzHubAnswers(in, /*model=*/false); break;
  }
  return 0;
}
