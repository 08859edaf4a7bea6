// The parser's vocabulary (spec_words.hpp): cue phrases, stop words, verbs, method, GPU and flavor
// names. Adding a phrasing is usually a line here.
#include "finetune/spec_words.hpp"

#include <cctype>
#include <cmath>
#include <limits>

namespace dsx::finetune {

// Matched against Token::words, so "max_steps", "max-steps" and "max steps" are one phrase. The
// longest phrase that matches wins.
const std::vector<Phrase>& Phrases() {
  static const std::vector<Phrase> kPhrases = {
      {{"lr"}, Key::kLr},
      {{"learning", "rate"}, Key::kLr},
      {{"learningrate"}, Key::kLr},
      {{"batch"}, Key::kBatch},
      {{"batch", "size"}, Key::kBatch},
      {{"bs"}, Key::kBatch},
      {{"batchsize"}, Key::kBatch},
      {{"per", "device", "batch", "size"}, Key::kBatch},
      {{"per", "device", "train", "batch", "size"}, Key::kBatch},
      {{"micro", "batch"}, Key::kBatch},
      {{"grad", "accum"}, Key::kAccum},
      {{"gradient", "accumulation"}, Key::kAccum},
      {{"gradient", "accumulation", "steps"}, Key::kAccum},
      {{"grad", "accumulation"}, Key::kAccum},
      {{"accumulation", "steps"}, Key::kAccum},
      {{"ga"}, Key::kAccum},
      {{"seq", "len"}, Key::kSeq},
      {{"seq", "length"}, Key::kSeq},
      {{"seqlen"}, Key::kSeq},
      {{"sequence", "length"}, Key::kSeq},
      {{"max", "length"}, Key::kSeq},
      {{"max", "len"}, Key::kSeq},
      {{"max", "seq", "len"}, Key::kSeq},
      {{"max", "seq", "length"}, Key::kSeq},
      {{"max", "sequence", "length"}, Key::kSeq},
      {{"context"}, Key::kSeq},
      {{"context", "length"}, Key::kSeq},
      {{"context", "window"}, Key::kSeq},
      {{"ctx"}, Key::kSeq},
      {{"max", "steps"}, Key::kSteps},
      {{"steps"}, Key::kSteps},
      {{"training", "steps"}, Key::kSteps},
      {{"maxsteps"}, Key::kSteps},
      {{"epochs"}, Key::kEpochs},
      {{"num", "epochs"}, Key::kEpochs},
      {{"num", "train", "epochs"}, Key::kEpochs},
      {{"r"}, Key::kRank},
      {{"rank"}, Key::kRank},
      {{"lora", "r"}, Key::kRank},
      {{"lora", "rank"}, Key::kRank},
      {{"alpha"}, Key::kAlpha},
      {{"lora", "alpha"}, Key::kAlpha},
      {{"max", "samples"}, Key::kSamples},
      {{"samples"}, Key::kSamples},
      {{"num", "samples"}, Key::kSamples},
      {{"max", "examples"}, Key::kSamples},
      {{"first"}, Key::kSamples},
      {{"under"}, Key::kBound},
      {{"below"}, Key::kBound},
      {{"within"}, Key::kBound},
      {{"max"}, Key::kBound},
      {{"up", "to"}, Key::kBound},
      {{"at", "most"}, Key::kBound},
      {{"less", "than"}, Key::kBound},
      {{"no", "more", "than"}, Key::kBound},
      {{"cap"}, Key::kBound},
      {{"limit"}, Key::kBound},
      {{"budget"}, Key::kCost},
      {{"max", "cost"}, Key::kCost},
      {{"cost"}, Key::kCost},
      {{"cost", "limit"}, Key::kCost},
      {{"spend"}, Key::kCost},
      {{"max", "cost", "usd"}, Key::kCost},
      {{"max", "spend"}, Key::kCost},
      {{"cost", "under"}, Key::kCost},
      {{"cost", "cap"}, Key::kCost},
      {{"timeout"}, Key::kTimeout},
      {{"time", "limit"}, Key::kTimeout},
      {{"max", "time"}, Key::kTimeout},
      {{"time", "budget"}, Key::kTimeout},
      {{"walltime"}, Key::kTimeout},
      {{"wall", "time"}, Key::kTimeout},
      {{"timeout", "s"}, Key::kTimeout},
      {{"flavor"}, Key::kFlavor},
      {{"flavour"}, Key::kFlavor},
      {{"hardware"}, Key::kFlavor},
      {{"gpu"}, Key::kGpu},
      {{"split"}, Key::kSplit},
      {{"dataset", "split"}, Key::kSplit},
      {{"push"}, Key::kOutput},
      {{"push", "to"}, Key::kOutput},
      {{"push", "it", "to"}, Key::kOutput},
      {{"push", "to", "hub"}, Key::kOutput},
      {{"output"}, Key::kOutput},
      {{"output", "repo"}, Key::kOutput},
      {{"save", "as"}, Key::kOutput},
      {{"save", "to"}, Key::kOutput},
      {{"upload", "to"}, Key::kOutput},
      {{"publish", "to"}, Key::kOutput},
      {{"publish", "as"}, Key::kOutput},
      {{"hub", "model", "id"}, Key::kOutput},
      {{"push", "to", "hub", "as"}, Key::kOutput},
      {{"push", "to", "the", "hub", "as"}, Key::kOutput},
      {{"dataset"}, Key::kDataset},
      {{"data"}, Key::kDataset},
      {{"dataset", "name"}, Key::kDataset},
      {{"text", "column"}, Key::kTextColumn},
      {{"text", "field"}, Key::kTextColumn},
      {{"dataset", "text", "field"}, Key::kTextColumn},
      {{"messages", "column"}, Key::kTextColumn},
      {{"prompt", "column"}, Key::kPromptColumn},
      {{"chosen", "column"}, Key::kChosenColumn},
      {{"rejected", "column"}, Key::kRejectedColumn},
      {{"gradient", "checkpointing"}, Key::kCheckpointingOn},
      {{"grad", "ckpt"}, Key::kCheckpointingOn},
      {{"grad", "checkpointing"}, Key::kCheckpointingOn},
      {{"no", "gradient", "checkpointing"}, Key::kCheckpointingOff},
      {{"without", "gradient", "checkpointing"}, Key::kCheckpointingOff},
      {{"disable", "gradient", "checkpointing"}, Key::kCheckpointingOff},
      {{"no", "grad", "ckpt"}, Key::kCheckpointingOff},
      {{"gradient", "checkpointing", "off"}, Key::kCheckpointingOff},
      {{"no", "tracking"}, Key::kTrackerNone},
      {{"no", "tracker"}, Key::kTrackerNone},
      {{"no", "logging"}, Key::kTrackerNone},
      {{"without", "tracking"}, Key::kTrackerNone},
  };
  return kPhrases;
}

// Words that carry no field. Some also steer where a following Hub id goes (Run()).
bool IsStopWord(std::string_view w) {
  // clang-format off
  static const char* kStop[] = {
      // function words
      "a", "an", "the", "and", "or", "but", "so", "then", "also", "finally", "after", "afterwards", "while", "if",
      "for", "of", "on", "in", "at", "to", "into", "onto", "from", "with", "without", "by", "via", "as", "over",
      "through", "about", "around", "approx", "up", "only", "just", "each", "per", "every", "total", "all", "any",
      "no", "not", "is", "are", "be", "been", "it", "its", "this", "that", "these", "those", "there", "here", "now",
      "i", "me", "my", "we", "us", "our", "you", "your", "their", "s", "hey", "please", "thanks", "thank", "ok",
      "okay", "let's", "lets", "let", "can", "could", "would", "should", "must", "will", "may", "might", "want",
      "like", "need", "needs", "make", "sure", "keep", "take", "takes", "do", "some", "very", "really", "again",
      "set",
      // launch words
      "use", "using", "run", "start", "launch", "submit", "kick", "off", "go", "create", "job", "jobs", "task",
      "experiment", "quick", "quickly", "cheap", "cheaply", "fast", "small", "tiny", "new",
      // nouns that carry no field here (the cue tables read the ones that do)
      "model", "models", "llm", "lm", "base", "version", "weights", "adapter", "adapters", "results", "result",
      "checkpoint", "checkpoints", "hf", "hub", "huggingface", "hugging", "face", "report", "log", "logging",
      "track", "tracking", "training", "data", "mode", "method", "approach", "style", "way", "gpu", "gpus", "card",
      "instance", "machine", "fine", "full", "limit", "max", "under", "within", "below",
      // punctuation left alone as a word
      "=", "+", "&", "-", "/", "~",
  };
  // clang-format on
  for (const char* s : kStop) {
    if (w == s) return true;
  }
  return false;
}

// "fine-tune", "train", ...: the request's verb; a Hub id right after it is the model.
bool IsVerb(const Token& t) {
  static const char* kVerbs[] = {"finetune",  "finetuning",  "train",      "tune",      "tuning",  "ft",
                                 "fine-tune", "fine-tuning", "fine-tuned", "finetuned", "retrain", "trainer"};
  for (const char* v : kVerbs) {
    if (t.lower == v) return true;
  }
  return t.words.size() == 2 && t.words[0] == "fine" && (t.words[1] == "tune" || t.words[1] == "tuning");
}

namespace {

constexpr const char* kMethods[] = {"sft", "dpo", "grpo", "kto", "reward"};
// Trainers people name that dsx does not run: kept as the method so Complete's error lists the ones it does.
constexpr const char* kOtherMethods[] = {"ppo", "orpo", "rloo", "cpo", "simpo", "ipo", "gkd", "nash-md", "xpo"};
constexpr const char* kGpus[] = {"t4",   "l4",   "a10g",  "a10",  "l40s",         "a100",   "h100",
                                 "h200", "v100", "a6000", "b200", "rtx-pro-6000", "rtx6000"};
// Real words one edit away from a method or adapter name: never "corrected".
constexpr const char* kNotTypos[] = {"set", "sit",  "sat",  "soft",  "aft",   "art", "duo",  "dog",  "dot",  "top",
                                     "kit", "lore", "lord", "loan",  "load",  "lot", "lots", "grow", "grip", "gore",
                                     "ski", "sky",  "spot", "shift", "draft", "dpi", "kti",  "koto"};

template <size_t N>
bool InArray(std::string_view w, const char* const (&arr)[N]) {
  for (const char* s : arr) {
    if (w == s) return true;
  }
  return false;
}

}  // namespace

bool IsMethodName(std::string_view w) { return InArray(w, kMethods); }
bool IsOtherMethodName(std::string_view w) { return InArray(w, kOtherMethods); }
bool IsRealWordNearName(std::string_view w) { return InArray(w, kNotTypos); }
bool IsGpu(std::string_view w) { return InArray(w, kGpus); }

// HF Jobs flavor names: cpu-basic..., or a GPU class with a size ("a10g-large", "t4-small") or a
// count ("h200x2", "l4x4", "a10g-largex2"). configs/flavors.toml (the planner) has the real list.
bool IsFlavor(std::string_view w) {
  if (InList(w, {"cpu-basic", "cpu-upgrade", "cpu-xl", "cpu-performance"})) return true;
  for (const char* g : kGpus) {
    std::string_view gv(g);
    if (w.size() <= gv.size() || w.substr(0, gv.size()) != gv) continue;
    std::string_view rest = w.substr(gv.size());
    for (std::string_view size : {"-small", "-medium", "-large"}) {
      if (rest.substr(0, size.size()) == size) rest.remove_prefix(size.size());
    }
    if (rest.empty()) return w.size() > gv.size();
    if (rest.size() >= 2 && rest[0] == 'x') {
      bool digits = true;
      for (char c : rest.substr(1)) digits = digits && std::isdigit(static_cast<unsigned char>(c));
      if (digits) return true;
    }
  }
  return false;
}

bool IsIntegral(double v) { return std::isfinite(v) && std::floor(v) == v && std::fabs(v) < 9e15; }
// For the int fields (batch, rank, sequence length): a value past INT_MAX is left unparsed, not wrapped.
bool FitsInt(double v) { return IsIntegral(v) && std::fabs(v) <= std::numeric_limits<int>::max(); }

bool IsNameish(std::string_view w) {
  if (w.empty()) return false;
  for (char c : w) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' && c != '/') return false;
  }
  return true;
}

// "mistral-7b", "phi-3.5b-mini": looks like a model with a size, for the "not in the catalog" note.
bool IsSplitSlice(std::string_view w) {
  size_t open = w.find('[');
  if (open == 0 || open == std::string_view::npos || w.back() != ']' || !IsNameish(w.substr(0, open))) return false;
  for (char c : w.substr(open + 1, w.size() - open - 2)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != ':' && c != '%' && c != '-') return false;
  }
  return true;
}

bool LooksLikeModelName(std::string_view w) {
  if (w.empty() || !std::isalpha(static_cast<unsigned char>(w[0]))) return false;
  for (size_t i = 1; i + 1 <= w.size(); ++i) {
    if (w[i] == 'b' && std::isdigit(static_cast<unsigned char>(w[i - 1])) && (i + 1 == w.size() || w[i + 1] == '-'))
      return true;
  }
  return false;
}

}  // namespace dsx::finetune
