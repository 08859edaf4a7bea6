// The Spec's fields as a table: JSON name, a one-line meaning, and the member. ToJson, --set
// (ApplySet) and the --llm reply check (llm_fill) all walk this one list, so a field added to Spec
// and here is printed, settable and fillable everywhere at once, under one name.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "finetune/spec.hpp"

namespace dsx::finetune {

// Calls f(name, description, field) for every field of `spec` (Spec or const Spec), in the
// order of the JSON output.
template <typename SpecT, typename F>
void ForEachSpecField(SpecT& spec, F&& f) {
  static_assert(std::is_same_v<std::remove_const_t<SpecT>, Spec>);
  f("model", "base model, a Hugging Face Hub id (\"Qwen/Qwen2.5-0.5B-Instruct\")", spec.model);
  f("dataset", "training dataset, a Hub id (\"trl-lib/Capybara\")", spec.dataset);
  f("split", "dataset split to train on (\"train\")", spec.split);
  f("text_column", "sft: the column with the text or the chat messages", spec.text_column);
  f("prompt_column", "dpo/kto/grpo/reward: the prompt column", spec.prompt_column);
  f("chosen_column", "dpo/reward: the preferred answer column", spec.chosen_column);
  f("rejected_column", "dpo/reward: the rejected answer column", spec.rejected_column);
  f("method", "one of sft, dpo, grpo, kto, reward", spec.method);
  f("adapter", "one of full, lora, qlora (qlora = LoRA on a 4-bit base)", spec.adapter);
  f("lora_rank", "LoRA rank r (integer)", spec.lora_rank);
  f("lora_alpha", "LoRA alpha (integer)", spec.lora_alpha);
  f("epochs", "passes over the dataset (number); never together with max_steps", spec.epochs);
  f("max_steps", "optimizer steps (integer); never together with epochs", spec.max_steps);
  f("learning_rate", "peak learning rate (number, below 1, e.g. 2e-5)", spec.learning_rate);
  f("batch_size", "per-device batch size (integer)", spec.batch_size);
  f("grad_accum", "gradient accumulation steps (integer)", spec.grad_accum);
  f("seq_len", "maximum sequence length in tokens (integer)", spec.seq_len);
  f("gradient_checkpointing", "trade compute for memory (boolean)", spec.gradient_checkpointing);
  f("output_repo", "Hub repository to push the result to, \"owner/name\"", spec.output_repo);
  f("flavor", "a Hugging Face Jobs hardware flavor the user named (\"a10g-large\")", spec.flavor);
  f("gpu", "a GPU class the user named (\"a100\", \"h200\", \"t4\")", spec.gpu);
  f("max_cost_usd", "most the job may cost, US dollars (number)", spec.max_cost_usd);
  f("timeout_s", "wall-clock limit of the job in seconds (integer)", spec.timeout_s);
  f("tracker", "one of trackio, wandb, none", spec.tracker);
  f("max_samples", "train on at most this many examples (integer)", spec.max_samples);
}

// The JSON type name of a field's value, for messages and the JSON schema.
template <typename T>
constexpr const char* SpecTypeName() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "boolean";
  else if constexpr (std::is_same_v<T, double>) return "number";
  else return "integer";
}

}  // namespace dsx::finetune
