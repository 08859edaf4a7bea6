// A fine-tuning spec: what `dsx finetune submit "<instruction>"` understood, field by field, with
// where each value came from. The parser (spec_parser.hpp) fills it from plain language, `--set`
// overrides fields, the planner (plan.hpp) sizes hardware and cost from it, and the script
// generator (script.hpp) turns spec + plan into a TRL training script and a jobs::JobRequest.
//
// JSON shape (stable, man/dsx-finetune.1): {"model": {"value": "Qwen/Qwen2.5-0.5B-Instruct",
// "source": "said"}, ...}; a field never set is absent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::finetune {

// Where a field's value came from.
//   said      written in the instruction (or by --set)
//   default   dsx's default for the method (documented in man/dsx-finetune.1)
//   inferred  derived from other fields (a "messages" column from a chat dataset, qlora -> 4-bit)
//   llm       proposed by the --llm provider for words the parser did not understand
enum class Source { kSaid, kDefault, kInferred, kLlm };
const char* SourceName(Source s);

template <typename T>
struct Field {
  std::optional<T> value;
  Source source = Source::kDefault;
  bool has() const { return value.has_value(); }
  void Set(T v, Source s) {
    value = std::move(v);
    source = s;
  }
};

struct Spec {
  Field<std::string> model;         // Hub id, aliases resolved ("qwen2.5-0.5b-instruct" -> "Qwen/Qwen2.5-0.5B-Instruct")
  Field<std::string> dataset;       // Hub id ("trl-lib/Capybara")
  Field<std::string> split;         // "train"
  Field<std::string> text_column;   // sft: "text" or "messages"
  Field<std::string> prompt_column; // dpo/kto/grpo/reward
  Field<std::string> chosen_column;
  Field<std::string> rejected_column;
  Field<std::string> method;        // sft | dpo | grpo | kto | reward
  Field<std::string> adapter;       // full | lora | qlora
  Field<int> lora_rank;             // r
  Field<int> lora_alpha;
  Field<double> epochs;             // exclusive with max_steps unless they agree
  Field<std::int64_t> max_steps;
  Field<double> learning_rate;
  Field<int> batch_size;            // per device
  Field<int> grad_accum;
  Field<int> seq_len;               // max_length
  Field<bool> gradient_checkpointing;
  Field<std::string> output_repo;   // "my-org/qwen-capy"; absent = no push
  Field<std::string> flavor;        // a hardware flavor the user named ("a10g-large", "h200")
  Field<std::string> gpu;           // a GPU class the user named ("a100", "h200", "t4")
  Field<double> max_cost_usd;       // "under $20", "budget 5 dollars"
  Field<std::int64_t> timeout_s;    // "timeout 3h"
  Field<std::string> tracker;       // "trackio" | "wandb" | "none"
  Field<std::int64_t> max_samples;  // "on 10k examples"
};

// {"model": {"value": ..., "source": ...}, ...}: every field that has a value.
nlohmann::json ToJson(const Spec& spec);

// Applies "key=value" (--set): key is a JSON field name above; the value is converted to the
// field's type (kUsage naming the key and the expected type when it does not convert). Source
// becomes kSaid.
Status ApplySet(Spec& spec, std::string_view assignment);

// Fills defaults for what is still empty (source kDefault, or kInferred where derived) and
// checks the whole: required fields (model, dataset), contradictions (full + a LoRA rank,
// epochs and max_steps both said), impossible values (negative, zero, lr > 1). kUsage with a
// message that says what to add or change.
Status Complete(Spec& spec);

}  // namespace dsx::finetune
