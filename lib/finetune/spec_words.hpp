// The words the request parser (spec_parser.cpp) knows: cue phrases and what value follows each,
// stop words, the request's verbs, method/GPU/flavor names, and small word-shape tests. Kept apart
// from the grammar so that a new phrasing is a table edit.
#pragma once

#include <initializer_list>
#include <string_view>
#include <vector>

#include "finetune/spec_lexer.hpp"

namespace dsx::finetune {

// What a cue phrase is followed by.
enum class Key {
  kLr,
  kBatch,
  kAccum,
  kSeq,
  kSteps,
  kEpochs,
  kRank,
  kAlpha,
  kSamples,
  kBound,    // "under", "max", "up to": money -> max cost, a duration -> timeout
  kCost,     // "budget", "max cost": money, or a plain number of dollars
  kTimeout,  // "timeout", "time limit": a duration
  kFlavor,
  kGpu,
  kSplit,
  kOutput,   // "push to", "save as", "output": the next name, even without an owner (Complete checks it)
  kDataset,  // "dataset", "data": the next name
  kTextColumn,
  kPromptColumn,
  kChosenColumn,
  kRejectedColumn,
  kCheckpointingOn,
  kCheckpointingOff,
  kTrackerNone,
};

struct Phrase {
  std::vector<std::string_view> words;
  Key key;
};

// A cue phrase, matched against Token::words, so "max_steps", "max-steps" and "max steps" are one
// phrase. The parser takes the longest phrase that matches.
const std::vector<Phrase>& Phrases();

// Words that carry no field (the parser also lets "on", "to", "model"... steer a following Hub id).
bool IsStopWord(std::string_view lower);
// "fine-tune", "train", ...: the request's verb; a Hub id right after it is the model.
bool IsVerb(const Token& t);
bool IsMethodName(std::string_view lower);  // sft dpo grpo kto reward
bool IsOtherMethodName(
    std::string_view lower);  // trainers dsx does not run (ppo, orpo...): Complete names the ones it does
bool IsRealWordNearName(std::string_view lower);  // "set", "soft", "lore": one edit from a name, never a typo of it
bool IsGpu(std::string_view lower);               // a GPU class: t4, a10g, a100, h200...
// HF Jobs flavor names: cpu-basic..., a GPU class with a size ("a10g-large", "t4-small") or a count
// ("h200x2", "l4x4"). configs/flavors.toml (the planner) has the real list and checks it.
bool IsFlavor(std::string_view lower);

bool IsIntegral(double v);  // a whole number a 64-bit field holds exactly
bool FitsInt(double v);     // ... and an int field (batch, rank, sequence length): past INT_MAX it stays unparsed
bool IsNameish(std::string_view w);
bool IsSplitSlice(std::string_view w);  // a datasets split slice: "train[:10%]", "train[100:200]"           // letters,
                                        // digits, - _ . /
bool LooksLikeModelName(std::string_view w);  // "mistral-7b": a size in billions, for the "not in the catalog" note

inline bool InList(std::string_view w, std::initializer_list<const char*> list) {
  for (const char* s : list) {
    if (w == s) return true;
  }
  return false;
}

}  // namespace dsx::finetune
