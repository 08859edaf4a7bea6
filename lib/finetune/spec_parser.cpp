// The cue grammar of spec_parser.hpp. One pass over the tokens; at each unread token the rules
// are tried in a fixed order (Hub id, cue phrase + value, number + unit, single-word value, model
// alias, typo of a method or adapter); what none of them reads is a stop word or left unparsed.
#include "finetune/spec_parser.hpp"

#include <cctype>
#include <cmath>
#include <map>

#include "core/utf8.hpp"
#include "finetune/spec_lexer.hpp"
#include "finetune/spec_words.hpp"

namespace dsx::finetune {

namespace {

enum class Cue { kNone, kModel, kDataset, kOutput };

class Parser {
 public:
  Parser(std::vector<Token> tokens, const ModelResolver& resolve) : t_(std::move(tokens)), resolve_(resolve) {}

  Result<ParseResult> Run() {
    size_t i = 0;
    while (i < t_.size() && status_.ok()) {
      size_t n = 0;
      for (auto rule : {&Parser::HubId, &Parser::CuePhrase, &Parser::NumberUnit, &Parser::SingleWord, &Parser::Alias,
                        &Parser::Typo}) {
        n = (this->*rule)(i);
        if (n > 0 || !status_.ok()) break;
      }
      if (!status_.ok()) break;
      if (n > 0) {
        // A value ends the cue before it; a rule that is itself a cue (a method used as the verb)
        // leaves one for the next value.
        cue_ = next_cue_;
        next_cue_ = Cue::kNone;
        i += n;
        continue;
      }
      const Token& tok = t_[i];
      if (IsVerb(tok)) cue_ = Cue::kModel;
      else if (InList(tok.lower, {"on", "using", "with", "from"})) cue_ = Cue::kDataset;
      else if (InList(tok.lower, {"to", "as", "into"})) cue_ = Cue::kOutput;
      else if (tok.lower == "model" && cue_ == Cue::kNone) cue_ = Cue::kModel;
      else if (!IsStopWord(tok.lower)) Unparsed(tok);
      ++i;
    }
    if (status_.ok()) ResolveAdapter();
    if (!status_.ok()) return status_;
    return std::move(out_);
  }

 private:
  // ---- recording ----------------------------------------------------------------------------

  // Sets a field the text gave; a second, different value for it is a contradiction.
  template <typename T>
  void Put(Field<T>& f, T v, const char* what, const std::string& text, Source source = Source::kSaid) {
    if (f.has()) {
      if (*f.value == v) return;
      status_ = Status::Usage("the request says two different " + std::string(what) + ": '" + said_[&f] + "' and '" +
                              text + "'; say one");
      return;
    }
    f.Set(std::move(v), source);
    said_[&f] = text;
  }

  void Unparsed(const Token& t) {
    out_.unparsed.push_back(t.raw);
    if (LooksLikeModelName(t.lower)) {
      out_.notes.push_back("'" + t.raw + "' looks like a model name that is not in the model catalog: " +
                           "write its Hub id (owner/name)");
    }
  }

  std::string Text(size_t from, size_t to) const {  // tokens [from, to) as written
    std::string s;
    for (size_t k = from; k < to && k < t_.size(); ++k) s += (s.empty() ? "" : " ") + t_[k].raw;
    return s;
  }

  const Token* At(size_t i) const { return i < t_.size() ? &t_[i] : nullptr; }

  // Tokens consumed when t_[i...] spells `words` (a token may hold several words: "max-steps").
  size_t Match(size_t i, const std::vector<std::string_view>& words) const {
    size_t w = 0, k = i;
    while (w < words.size()) {
      if (k >= t_.size()) return 0;
      const auto& tw = t_[k].words;
      if (w + tw.size() > words.size()) return 0;
      for (size_t j = 0; j < tw.size(); ++j) {
        if (tw[j] != words[w + j]) return 0;
      }
      w += tw.size();
      ++k;
    }
    return k - i;
  }

  // ---- rules: each returns the tokens it read, 0 when it does not apply ----------------------

  size_t HubId(size_t i) {
    auto ref = ParseHubRef(t_[i].raw);
    if (!ref) return 0;
    size_t n = 1;
    Cue where = cue_;
    if (ref->is_dataset) where = Cue::kDataset;
    // "trl-lib/Capybara dataset", "Qwen/Qwen2.5-7B model": the word after says what it is.
    // Not across punctuation ("..., model X"), nor when that word is the cue of another name.
    const Token* after = At(i + 2);
    bool names_next =
        At(i + 1) && !At(i + 1)->pause && after && (ParseHubRef(after->raw) || (resolve_ && resolve_(after->raw)));
    if (const Token* next = t_[i].pause || names_next ? nullptr : At(i + 1)) {
      if (InList(next->lower, {"dataset", "data", "datasets"})) where = Cue::kDataset, n = 2;
      else if (next->lower == "model") where = Cue::kModel, n = 2;
    }
    std::optional<std::string> known = resolve_ ? resolve_(ref->id) : std::nullopt;
    // A weak dataset cue ("using", "on") before an id the catalog knows as a model, while no model
    // is named yet: the model ("using Qwen/Qwen2.5-7B on trl-lib/Capybara").
    if (where == Cue::kDataset && known && !out_.spec.model.has() && n == 1 && !ref->is_dataset) where = Cue::kModel;
    if (where == Cue::kNone) {
      if (known || !out_.spec.model.has()) where = Cue::kModel;
      else if (!out_.spec.dataset.has()) where = Cue::kDataset;
      else return 0;  // a third id with no cue: unparsed
    }
    switch (where) {
      case Cue::kModel: Put(out_.spec.model, known.value_or(ref->id), "models", t_[i].raw); break;
      case Cue::kDataset: Put(out_.spec.dataset, ref->id, "datasets", t_[i].raw); break;
      case Cue::kOutput: Put(out_.spec.output_repo, ref->id, "output repositories", t_[i].raw); break;
      case Cue::kNone: break;
    }
    return n;
  }

  size_t CuePhrase(size_t i) {
    const Phrase* best = nullptr;
    size_t best_n = 0;
    for (const Phrase& p : Phrases()) {
      size_t n = Match(i, p.words);
      if (n > best_n || (n == best_n && n > 0 && p.words.size() > best->words.size())) best = &p, best_n = n;
    }
    if (!best) return 0;
    size_t v = best_n;  // index of the value, relative to i
    auto skip_connectors = [&] {
      while (const Token* t = At(i + v)) {
        if (!InList(t->lower, {"=", "of", "is", "to", "at", "about", "around", "~", "be"})) break;
        ++v;
      }
    };
    const std::string cue_text = Text(i, i + best_n);
    if (best->words[0] == "lora" && lora_.empty()) lora_ = t_[i].raw;  // "lora r=16", "lora alpha 32"
    switch (best->key) {
      case Key::kCheckpointingOn:
        Put(out_.spec.gradient_checkpointing, true, "gradient checkpointing settings", cue_text);
        return best_n;
      case Key::kCheckpointingOff:
        Put(out_.spec.gradient_checkpointing, false, "gradient checkpointing settings", cue_text);
        return best_n;
      case Key::kTrackerNone: Put(out_.spec.tracker, std::string("none"), "trackers", cue_text); return best_n;
      case Key::kOutput:
      case Key::kDataset: {
        // The next word that is not a stop word: a Hub id, or (after a strong cue) a bare name.
        while (const Token* t = At(i + v)) {
          if (!IsStopWord(t->lower) || t->lower == "data") break;
          ++v;
        }
        const Token* t = At(i + v);
        bool dataset = best->key == Key::kDataset;
        if (!t && !dataset) return NoOutputName(cue_text, best_n);
        if (!t) return 0;
        auto ref = ParseHubRef(t->raw);
        if (!ref) {
          // A bare name: only a plausible name that is not itself a cue or a value.
          if (!IsNameish(t->raw) || ParseQuantity(t->lower) || IsGpu(t->lower) || IsFlavor(t->lower) || IsVerb(*t) ||
              BestPhraseLength(i + v) > 0 || IsMethodName(t->lower))
            return dataset ? 0 : NoOutputName(cue_text, best_n);
          if (dataset && (t->lower == "split" || t->lower == "column")) return 0;
        }
        std::string value = ref ? ref->id : t->raw;
        if (dataset) Put(out_.spec.dataset, value, "datasets", t->raw);
        else Put(out_.spec.output_repo, value, "output repositories", t->raw);
        return v + 1;
      }
      default: break;
    }
    skip_connectors();
    const Token* t = At(i + v);
    if (!t) return BoundFallback(best->key, best_n);
    const std::string text = Text(i, i + v + 1);
    auto integer = [&](double k) -> std::optional<std::int64_t> {
      auto q = ParseQuantity(t->lower, k);
      if (!q) q = WordNumber(t->lower);
      if (!q || !IsIntegral(*q)) return std::nullopt;
      return static_cast<std::int64_t>(*q);
    };
    auto small_integer = [&](double k) -> std::optional<int> {
      auto n = integer(k);
      if (!n || !FitsInt(static_cast<double>(*n))) return std::nullopt;
      return static_cast<int>(*n);
    };
    switch (best->key) {
      case Key::kLr: {
        auto q = ParseQuantity(t->lower, 1000, false);
        if (!q) return 0;
        Put(out_.spec.learning_rate, *q, "learning rates", text);
        return v + 1;
      }
      case Key::kBatch:
      case Key::kAccum:
      case Key::kRank:
      case Key::kAlpha: {
        auto n = small_integer(1000);
        if (!n) return 0;
        int x = *n;
        if (best->key == Key::kBatch) Put(out_.spec.batch_size, x, "batch sizes", text);
        if (best->key == Key::kAccum) Put(out_.spec.grad_accum, x, "gradient accumulations", text);
        if (best->key == Key::kRank) Put(out_.spec.lora_rank, x, "LoRA ranks", text);
        if (best->key == Key::kAlpha) Put(out_.spec.lora_alpha, x, "LoRA alphas", text);
        return v + 1;
      }
      case Key::kSeq: {
        auto n = small_integer(1024);  // "8k context" is 8192 tokens
        if (!n) return 0;
        Put(out_.spec.seq_len, *n, "sequence lengths", text);
        return v + 1 + (At(i + v + 1) && InList(At(i + v + 1)->lower, {"tokens", "token"}) ? 1 : 0);
      }
      case Key::kSteps: {
        auto n = integer(1000);
        if (!n) return 0;
        Put(out_.spec.max_steps, *n, "step counts", text);
        return v + 1 + (At(i + v + 1) && InList(At(i + v + 1)->lower, {"steps", "step"}) ? 1 : 0);
      }
      case Key::kEpochs: {
        auto q = ParseQuantity(t->lower, 1000, false);
        if (!q) q = WordNumber(t->lower);
        if (!q) return 0;
        Put(out_.spec.epochs, *q, "epoch counts", text);
        return v + 1;
      }
      case Key::kSamples: {
        auto n = integer(1000);
        if (!n) return 0;
        Put(out_.spec.max_samples, *n, "sample counts", text);
        const Token* unit = At(i + v + 1);
        return v + 1 + (unit && InList(unit->lower, {"samples", "examples", "rows"}) ? 1 : 0);
      }
      case Key::kBound:
      case Key::kCost:
      case Key::kTimeout: {
        if (best->key != Key::kTimeout) {
          if (size_t n = Money(i + v, text, best->key == Key::kCost)) return v + n;
        }
        if (best->key != Key::kCost) {
          if (size_t n = Duration(i + v, Text(i, i + v))) return v + n;
        }
        return BoundFallback(best->key, best_n);
      }
      case Key::kFlavor:
        if (!IsFlavor(t->lower) && !IsGpu(t->lower)) return 0;
        Put(out_.spec.flavor, t->lower, "hardware flavors", text);
        return v + 1;
      case Key::kGpu:
        if (!IsGpu(t->lower)) return BoundFallback(best->key, best_n);
        Put(out_.spec.gpu, t->lower, "GPUs", text);
        return v + 1;
      case Key::kSplit:
        if (!(IsNameish(t->raw) || IsSplitSlice(t->raw)) || IsStopWord(t->lower)) return 0;
        Put(out_.spec.split, t->raw, "splits", text);
        return v + 1;
      case Key::kTextColumn:
      case Key::kPromptColumn:
      case Key::kChosenColumn:
      case Key::kRejectedColumn: {
        if (!IsNameish(t->raw)) return 0;
        Field<std::string>& f = best->key == Key::kTextColumn     ? out_.spec.text_column
                                : best->key == Key::kPromptColumn ? out_.spec.prompt_column
                                : best->key == Key::kChosenColumn ? out_.spec.chosen_column
                                                                  : out_.spec.rejected_column;
        Put(f, t->raw, "columns", text);
        return v + 1;
      }
      default: return 0;
    }
  }

  // "push to hub" with no repository after it: read, with a note saying what to add.
  size_t NoOutputName(const std::string& cue_text, size_t n) {
    out_.notes.push_back("'" + cue_text +
                         "' names no repository: add one as owner/name, e.g. 'push to my-org/my-model'");
    return n;
  }

  // A bound word ("under", "max", "limit", "gpu") with nothing it can bound after it is a filler:
  // "max 3 epochs" reads on as "3 epochs". A specific cue ("timeout", "budget") is not.
  size_t BoundFallback(Key key, size_t n) const {
    if (key == Key::kBound || key == Key::kGpu || key == Key::kCost) return n;
    return 0;
  }

  size_t BestPhraseLength(size_t i) const {
    size_t best = 0;
    for (const Phrase& p : Phrases()) best = std::max(best, Match(i, p.words));
    return best;
  }

  // "$20" | "20$" | "20usd" | "20 dollars" | "$ 20"; a plain number too after "budget".
  size_t Money(size_t i, const std::string& cue_text, bool plain_ok) {
    const Token* t = At(i);
    if (!t) return 0;
    if (auto m = ParseMoneyToken(t->lower)) {
      Put(out_.spec.max_cost_usd, *m, "cost limits", cue_text);
      return 1;
    }
    if (t->lower == "$" && At(i + 1)) {
      if (auto q = ParseQuantity(At(i + 1)->lower, 1000, false)) {
        Put(out_.spec.max_cost_usd, *q, "cost limits", cue_text + " " + At(i + 1)->raw);
        return 2;
      }
    }
    auto q = ParseQuantity(t->lower, 1000, false);
    if (!q) return 0;
    const Token* unit = At(i + 1);
    if (unit && IsMoneyUnit(unit->lower)) {
      Put(out_.spec.max_cost_usd, *q, "cost limits", cue_text + " " + unit->raw);
      return 2;
    }
    if (!plain_ok || (unit && DurationUnit(unit->lower))) return 0;
    Put(out_.spec.max_cost_usd, *q, "cost limits", cue_text);
    return 1;
  }

  // "3h" | "1h30m" | "3 hours" | "90 minutes".
  size_t Duration(size_t i, const std::string& cue) {
    const Token* t = At(i);
    if (!t) return 0;
    std::string text = cue.empty() ? t->raw : cue + " " + t->raw;
    if (auto d = ParseDurationToken(t->lower)) {
      Put(out_.spec.timeout_s, *d, "time limits", text);
      return 1;
    }
    auto q = ParseQuantity(t->lower, 1000, false);
    if (!q) q = WordNumber(t->lower);
    const Token* unit = At(i + 1);
    if (!q || !unit) return 0;
    auto per = DurationUnit(unit->lower);
    if (!per || !(*q * static_cast<double>(*per) < 1e15)) return 0;
    Put(out_.spec.timeout_s, static_cast<std::int64_t>(std::llround(*q * static_cast<double>(*per))), "time limits",
        text + " " + unit->raw);
    return 2;
  }

  // <number> <unit>: "2 epochs", "2k steps", "10k samples", "8k context", "5 dollars", "3 hours", "4 bit".
  size_t NumberUnit(size_t i) {
    const Token& t = t_[i];
    auto q = ParseQuantity(t.lower, 1000);
    if (!q) q = WordNumber(t.lower);
    // "2 full epochs", "500 training steps", "10k more examples": one filler between number and unit.
    size_t n = 2;
    if (At(i + 2) && InList(t_[i + 1].lower, {"full", "complete", "whole", "training", "optimizer", "total", "more",
                                              "additional", "extra", "train"}))
      n = 3;
    const Token* unit = At(i + n - 1);
    if (!q || !unit) return 0;
    const std::string& u = unit->lower;
    const std::string text = Text(i, i + n);
    if (InList(u, {"epoch", "epochs", "ep", "eps", "pass", "passes"})) {
      auto e = ParseQuantity(t.lower, 1000, false);
      if (!e) e = WordNumber(t.lower);
      if (!e) return 0;
      Put(out_.spec.epochs, *e, "epoch counts", text);
      return n;
    }
    if (InList(u, {"step", "steps", "iterations", "iters", "updates"})) {
      if (!IsIntegral(*q)) return 0;
      Put(out_.spec.max_steps, static_cast<std::int64_t>(*q), "step counts", text);
      return n;
    }
    if (InList(u, {"sample", "samples", "example", "examples", "rows", "records", "conversations", "items"})) {
      if (!IsIntegral(*q)) return 0;
      Put(out_.spec.max_samples, static_cast<std::int64_t>(*q), "sample counts", text);
      return n;
    }
    if (InList(u, {"context", "ctx", "tokens", "token"})) {
      auto len = ParseQuantity(t.lower, 1024, false);  // "8k context" is 8192 tokens
      if (!len || !FitsInt(*len)) return 0;
      size_t extra =
          (u == "token" || u == "tokens") && At(i + n) && InList(At(i + n)->lower, {"context", "ctx"}) ? 1 : 0;
      Put(out_.spec.seq_len, static_cast<int>(*len), "sequence lengths", Text(i, i + n + extra));
      return n + extra;
    }
    if (InList(u, {"bit", "bits"})) return Bits(t.lower, Text(i, i + n)) ? n : 0;
    if (n == 2 && IsMoneyUnit(u)) return Money(i, "", true);
    if (n == 2 && DurationUnit(u) && !IsGpu(u)) return Duration(i, "");
    // "2 a100s": the GPU class is kept; a count has no field (a flavor names several GPUs).
    std::string gpu =
        u.size() > 1 && u.back() == 's' && IsGpu(u.substr(0, u.size() - 1)) ? u.substr(0, u.size() - 1) : u;
    if (n == 2 && IsGpu(gpu) && IsIntegral(*q)) {
      Put(out_.spec.gpu, gpu, "GPUs", text);
      if (*q != 1)
        out_.notes.push_back("'" + text + "': the GPU count is not used; name a flavor for several GPUs (e.g. h200x2)");
      return n;
    }
    return 0;
  }

  bool Bits(std::string_view n, const std::string& text) {
    if (n == "4") {
      if (fourbit_.empty()) fourbit_ = text;
      return true;
    }
    out_.notes.push_back("'" + text + "' is not supported: dsx quantizes only to 4-bit (QLoRA)");
    return false;
  }

  size_t SingleWord(size_t i) {
    const Token& t = t_[i];
    const std::string& w = t.lower;
    if (size_t n = MethodWord(i, w, t.raw)) return n;
    if (size_t n = AdapterWord(i)) return n;
    if (w == "trackio" || w == "wandb" || w == "w&b" || w == "tensorboard") {
      Put(out_.spec.tracker, std::string(w == "w&b" ? "wandb" : w), "trackers", t.raw);
      return 1;
    }
    if (size_t n = Match(i, {"weights", "&", "biases"}) + Match(i, {"weights", "and", "biases"})) {
      Put(out_.spec.tracker, std::string("wandb"), "trackers", Text(i, i + n));
      return n;
    }
    if (IsFlavor(w)) {
      Put(out_.spec.flavor, w, "hardware flavors", t.raw);
      return 1;
    }
    if (IsGpu(w) || (w.size() > 1 && w.back() == 's' && IsGpu(w.substr(0, w.size() - 1)))) {
      Put(out_.spec.gpu, IsGpu(w) ? w : w.substr(0, w.size() - 1), "GPUs", t.raw);
      return 1;
    }
    if (auto m = ParseMoneyToken(w)) {
      Put(out_.spec.max_cost_usd, *m, "cost limits", t.raw);
      return 1;
    }
    if (auto d = ParseDurationToken(w)) {
      Put(out_.spec.timeout_s, *d, "time limits", t.raw);
      return 1;
    }
    // "r16", "r64": a LoRA rank.
    if (w.size() >= 2 && w[0] == 'r') {
      auto q = ParseQuantity(w.substr(1), 1000, false);
      if (q && FitsInt(*q)) {
        Put(out_.spec.lora_rank, static_cast<int>(*q), "LoRA ranks", t.raw);
        return 1;
      }
    }
    // "test split", "validation set".
    if (InList(w, {"train", "test", "validation", "valid", "dev", "eval", "evaluation"}) && At(i + 1) &&
        InList(At(i + 1)->lower, {"split", "set"})) {
      Put(out_.spec.split, t.raw, "splits", Text(i, i + 2));
      return 2;
    }
    if (InList(w, {"4bit", "int4", "nf4"})) return Bits("4", t.raw) ? 1 : 0;
    if (t.words.size() == 2 && InList(t.words[1], {"bit", "bits"}) && ParseQuantity(t.words[0]))  // "4-bit"
      return Bits(t.words[0], t.raw) ? 1 : 0;
    return 0;
  }

  size_t MethodWord(size_t i, const std::string& w, const std::string& raw) {
    if (w == "reward" || w == "reward-model" || w == "rm") {
      size_t n = w == "reward" && At(i + 1) && InList(At(i + 1)->lower, {"model", "modeling", "modelling"}) ? 2 : 1;
      if (w == "rm" && !(At(i + 1) && At(i + 1)->lower == "training")) return 0;
      Put(out_.spec.method, std::string("reward"), "methods", Text(i, i + n));
      return n;
    }
    if (w == "supervised") {
      size_t n = 1;
      while (At(i + n) && (IsVerb(*At(i + n)) || InList(At(i + n)->lower, {"learning", "fine", "tune"}))) ++n;
      Put(out_.spec.method, std::string("sft"), "methods", Text(i, i + n));
      return n;
    }
    if (IsMethodName(w) || IsOtherMethodName(w)) {
      Put(out_.spec.method, w, "methods", raw);
      next_cue_ = Cue::kModel;  // "dpo Qwen/Qwen2.5-0.5B on ...": a method name is used as the verb
      return 1;
    }
    return 0;
  }

  // lora | qlora | q-lora | peft | full [fine-tune|parameter|...]: recorded, resolved at the end.
  // "without LoRA" / "no lora" asks for a full fine-tune.
  size_t AdapterWord(size_t i) {
    const Token& t = t_[i];
    const std::string& w = t.lower;
    if (InList(w, {"without", "no", "not"}) && At(i + 1) &&
        InList(At(i + 1)->lower, {"lora", "qlora", "q-lora", "peft", "adapter", "adapters"})) {
      if (full_.empty()) full_ = Text(i, i + 2);
      return 2;
    }
    if (w == "lora" || w == "peft") {
      if (lora_.empty()) lora_ = t.raw;
      return 1;
    }
    if (w == "qlora" || w == "q-lora") {
      if (qlora_.empty()) qlora_ = t.raw;
      return 1;
    }
    bool full = w == "full" || w == "fully" || (t.words.size() > 1 && t.words[0] == "full");
    if (!full) return 0;
    size_t n = 1;
    if (w == "full" || w == "fully") {
      const Token* next = At(i + 1);
      // "full dataset", "1 full epoch": not the adapter.
      if (next && InList(next->lower, {"dataset", "data", "epoch", "epochs", "split", "set", "pass", "precision"}))
        return 0;
      if (next && (IsVerb(*next) || InList(next->lower, {"parameter", "parameters", "params", "weights", "weight",
                                                         "sft", "model", "rank"})))
        n = 2;
    }
    if (full_.empty()) full_ = Text(i, i + n);
    next_cue_ = Cue::kModel;
    return n;
  }

  // Model aliases: the longest run of up to 4 words the resolver knows ("llama 3.1 8b instruct").
  size_t Alias(size_t i) {
    if (!resolve_ || !std::isalpha(static_cast<unsigned char>(t_[i].lower[0])) || IsStopWord(t_[i].lower) ||
        IsVerb(t_[i]))
      return 0;
    size_t max = 0;
    while (max < 4 && i + max < t_.size() && !IsStopWord(t_[i + max].lower) && t_[i + max].lower != "=" &&
           !ParseHubRef(t_[i + max].raw))
      ++max;
    for (size_t n = max; n >= 1; --n) {
      std::vector<std::string> candidates = {Text(i, i + n)};
      if (n >= 2 && std::isdigit(static_cast<unsigned char>(t_[i + 1].lower[0])))
        candidates.push_back(t_[i].raw + t_[i + 1].raw + (n > 2 ? " " + Text(i + 2, i + n) : ""));
      for (const std::string& c : candidates) {
        if (auto id = resolve_(c)) {
          Put(out_.spec.model, *id, "models", Text(i, i + n));
          return n;
        }
      }
    }
    return 0;
  }

  // One typo in a method or adapter name ("sfft", "dpoo", "gpro", "lroa"), with a note.
  size_t Typo(size_t i) {
    const Token& t = t_[i];
    const std::string& w = t.lower;
    if (w.size() < 3 || IsStopWord(w) || IsRealWordNearName(w) || ParseQuantity(w)) return 0;
    for (char c : w) {
      if (!std::isalnum(static_cast<unsigned char>(c))) return 0;
    }
    std::string match;
    for (const char* target : {"sft", "dpo", "grpo", "kto", "lora", "qlora"}) {
      if (w[0] != target[0] || EditDistance(w, target) != 1) continue;
      if (!match.empty()) return 0;  // one edit from two names: ambiguous, leave it
      match = target;
    }
    if (match.empty()) return 0;
    out_.notes.push_back("'" + t.raw + "' read as '" + match + "'");
    if (match == "lora") lora_ = lora_.empty() ? t.raw : lora_;
    else if (match == "qlora") qlora_ = qlora_.empty() ? t.raw : qlora_;
    else Put(out_.spec.method, match, "methods", t.raw);
    return 1;
  }

  // full vs LoRA words -> one adapter, or the contradiction naming both.
  void ResolveAdapter() {
    const std::string& peft = !qlora_.empty() ? qlora_ : !lora_.empty() ? lora_ : fourbit_;
    if (!full_.empty() && !peft.empty()) {
      status_ = Status::Usage("the request says both '" + full_ + "' and '" + peft +
                              "': a full fine-tune has no LoRA adapter or 4-bit base; say one");
      return;
    }
    Field<std::string>& a = out_.spec.adapter;
    if (!full_.empty()) a.Set("full", Source::kSaid);
    else if (!qlora_.empty()) a.Set("qlora", Source::kSaid);
    else if (!lora_.empty() && !fourbit_.empty()) a.Set("qlora", Source::kSaid);
    else if (!lora_.empty()) a.Set("lora", Source::kSaid);
    else if (!fourbit_.empty()) {
      a.Set("qlora", Source::kInferred);
      out_.notes.push_back("'" + fourbit_ + "' means LoRA on a 4-bit base: adapter qlora");
    }
  }

  std::vector<Token> t_;
  const ModelResolver& resolve_;
  ParseResult out_;
  Status status_;
  std::map<const void*, std::string> said_;  // field -> the words that set it, for conflict messages
  Cue cue_ = Cue::kNone;
  Cue next_cue_ = Cue::kNone;
  std::string full_, lora_, qlora_, fourbit_;  // adapter words as written
};

}  // namespace

Result<ParseResult> ParseInstruction(std::string_view text, const ModelResolver& resolve) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return Status::Usage(
        "empty request: say what to fine-tune, e.g. \"fine-tune Qwen/Qwen2.5-0.5B-Instruct on "
        "trl-lib/Capybara\"");
  // Everything understood ends up in JSON (--json, job.json) and in a Python script: both need
  // UTF-8 (found by fuzz_client_inputs: a stray byte made the JSON writer throw).
  if (!IsValidUtf8(text)) return Status::Usage("the request is not valid UTF-8 text");
  Parser parser(Tokenize(text), resolve);
  return parser.Run();
}

}  // namespace dsx::finetune
