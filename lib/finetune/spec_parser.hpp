// Plain language -> Spec: "fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2
// epochs, push to my-org/qwen-capy". Deterministic: a tokenizer (spec_lexer.hpp) and a small
// grammar of cues, tried at each word in any order:
//   cue value      "lr 2e-5", "batch size 16", "rank 64", "split test", "flavor a10g-large",
//                  "push to ORG/NAME", "under $20", "timeout 3h", "max steps 1000"
//   value unit     "2 epochs", "2k steps", "10k samples", "8k context", "5 dollars", "3 hours"
//   plain values   method and adapter names (one typo forgiven, with a note), Hub ids, GPU
//                  classes and flavors, trackers, "$20", "3h", "4-bit", model aliases
// A Hub id goes to model, dataset or output by the cue before it ("on", "dataset", "using" ->
// dataset; "push to", "save as", "output" -> output; "model" -> model) or after it ("X dataset"),
// else the first unknown one is the model and the next the dataset; the resolver also marks ids
// it knows as models. Every field the text gives is source kSaid (kInferred where derived: "4-bit"
// alone -> qlora). Two different values for one field, or full with LoRA, are kUsage naming both.
// Words not understood are returned, never guessed at: `--llm` (llm_fill.hpp) may take them.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "finetune/spec.hpp"

namespace dsx::finetune {

// Model alias -> Hub id ("qwen2.5-0.5b", "llama 3.1 8b" -> "meta-llama/Llama-3.1-8B"); nullopt when
// unknown. Catalog::ResolveAlias fits (it ignores case and treats ' ', '-', '_' alike). The parser
// asks with the words as written, joined by spaces, and with a name fused to its version
// ("qwen 2.5 0.5b" -> also "qwen2.5 0.5b"). May be empty: then only Hub ids name models.
using ModelResolver = std::function<std::optional<std::string>(std::string_view alias)>;

struct ParseResult {
  Spec spec;
  std::vector<std::string> unparsed;  // words not understood, as written, in order
  std::vector<std::string> notes;     // what the parser corrected or inferred ("'sfft' read as 'sft'")
};

// kUsage on a contradiction inside the text; otherwise the fields found (Complete() adds the rest
// and checks the whole).
Result<ParseResult> ParseInstruction(std::string_view text, const ModelResolver& resolve);

}  // namespace dsx::finetune
