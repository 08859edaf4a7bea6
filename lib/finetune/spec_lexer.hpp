// The words and quantities of a plain-language fine-tuning request, before any grammar: the
// tokenizer (punctuation, "w/", "key=value"), numbers with their units ("2k", "1.5k", "2,000",
// "1e-4"), money ("$20", "5 dollars"), durations ("3h", "90m", "1h30m") and the edit distance used
// to accept a typo in a method name. spec_parser.cpp builds its cue grammar on these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsx::finetune {

struct Token {
  std::string raw;                 // as written, punctuation stripped ("Qwen/Qwen2.5-0.5B")
  std::string lower;               // lower-cased raw
  std::vector<std::string> words;  // lower split at '-' ("fine-tune" -> fine, tune) for phrase matching
  bool pause = false;              // punctuation followed it (",", ";", ".", ":"): a clause may end here
};

// Splits on white space; strips quotes, brackets and trailing sentence punctuation; "w/" becomes
// "with", "w/o" "without"; "key=value" and "key:value" become key, "=", value; '_' separates words
// ("max_steps" -> max, steps) except inside Hub ids and URLs, whose spelling is kept.
std::vector<Token> Tokenize(std::string_view text);

// A Hub id "owner/name" (or a huggingface.co URL of one, or "datasets/owner/name"). `is_dataset`
// is set when the spelling itself says dataset (".../datasets/owner/name").
struct HubRef {
  std::string id;
  bool is_dataset = false;
};
std::optional<HubRef> ParseHubRef(std::string_view raw);

// A number as people write it: "500", "2,000", "1.5", "1e-4", "3e-5", "2k", "1.5k", "2m".
// `k` is what the 'k' suffix multiplies by (1000 for steps and samples, 1024 for context sizes);
// 'm' multiplies by 1e6 (never for sizes written like "90m", which are durations: see below).
// Word numbers one..ten and "a"/"an"/"single" are not numbers here (see WordNumber).
std::optional<double> ParseQuantity(std::string_view lower, double k = 1000, bool allow_m = true);
// "one".."ten", "single" -> 1..10.
std::optional<double> WordNumber(std::string_view lower);

// "$20", "$5.50", "20$", "20usd" (one token). nullopt otherwise.
std::optional<double> ParseMoneyToken(std::string_view lower);
// "dollars", "dollar", "usd", "bucks", "$".
bool IsMoneyUnit(std::string_view lower);

// "3h", "90m", "90min", "1h30m", "1.5h", "45s", "2d" (one token) -> seconds.
std::optional<std::int64_t> ParseDurationToken(std::string_view lower);
// Seconds per unit for a separate unit word: "hours"/"hour"/"hrs"/"h" 3600, "minutes"/"min"/"m"
// 60, "seconds"/"s" 1, "days"/"d" 86400.
std::optional<std::int64_t> DurationUnit(std::string_view lower);

// Optimal string alignment distance (Levenshtein plus adjacent transposition: "gpro" is 1 from
// "grpo").
int EditDistance(std::string_view a, std::string_view b);

}  // namespace dsx::finetune
