// libFuzzer target for what dsx's clients parse from outside: an SSE stream from any server
// (net::SseParser, with a small bound so overflow paths are reached), a job record read back
// from the registry (jobs::RecordFromJson: a job.json edited or damaged by hand), and a
// fine-tuning instruction (finetune::ParseInstruction -> --set -> Complete -> MakePlan over the
// shipped catalogs), and what the Hub answers about a model or a dataset (finetune::ModelInfoFromHub,
// ParseDatasetInfo, CheckColumns). The first byte picks the parser; the rest is its input. Properties: no
// crash, no sanitizer report, bounded memory, and a plan is only made from a complete spec.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: FuzzSse(in); break;
    case 1: FuzzJobRecord(in); break;
    case 2: FuzzInstruction(in); break;
    case 3: FuzzHubAnswers(in, /*model=*/true); break;
    default: FuzzHubAnswers(in, /*model=*/false); break;
  }
  return 0;
}
