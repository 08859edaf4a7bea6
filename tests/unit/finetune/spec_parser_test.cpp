// The plain-language parser: a table of phrasings (varied order, units, aliases, typos) -> the
// exact fields understood; then contradictory and incomplete requests -> their error after
// Complete(); then the lexer's number, money and duration readers.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "finetune/spec_lexer.hpp"
#include "finetune/spec_parser.hpp"

using namespace dsx;
using namespace dsx::finetune;

namespace {

// A small catalog, matched the way Catalog::ResolveAlias matches (case and ' '/'-'/'_' ignored).
std::string Norm(std::string_view s) {
  std::string out;
  for (char c : s) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (l == ' ' || l == '_') ? '-' : l;
  }
  return out;
}

std::optional<std::string> Resolve(std::string_view alias) {
  static const std::map<std::string, std::string> kModels = {
      {"qwen2.5-0.5b-instruct", "Qwen/Qwen2.5-0.5B-Instruct"},
      {"qwen/qwen2.5-0.5b-instruct", "Qwen/Qwen2.5-0.5B-Instruct"},
      {"qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B"},
      {"qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct"},
      {"qwen/qwen2.5-7b-instruct", "Qwen/Qwen2.5-7B-Instruct"},
      {"llama-3.1-8b", "meta-llama/Llama-3.1-8B"},
      {"llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct"},
      {"meta-llama/llama-3.1-8b-instruct", "meta-llama/Llama-3.1-8B-Instruct"},
      {"gemma-2-2b", "google/gemma-2-2b"},
      {"smollm2-135m", "HuggingFaceTB/SmolLM2-135M"},
  };
  auto it = kModels.find(Norm(alias));
  if (it == kModels.end()) return std::nullopt;
  return it->second;
}

struct Case {
  const char* text;
  const char* fields;  // JSON: field -> value; exactly these fields must be set
  std::vector<std::string> unparsed = {};
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> kCases = {
      // --- the issue's example and word-order variations
      {"fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2 epochs, push to my-org/qwen-capy",
       R"({"model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"trl-lib/Capybara","adapter":"lora","epochs":2,
           "output_repo":"my-org/qwen-capy"})"},
      {"push to my-org/qwen-capy: 2 epochs of LoRA on trl-lib/Capybara, model Qwen2.5-0.5B-Instruct",
       R"({"model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"trl-lib/Capybara","adapter":"lora","epochs":2,
           "output_repo":"my-org/qwen-capy"})"},
      {"on trl-lib/Capybara, finetune qwen2.5-0.5b-instruct w/ lora",
       R"({"model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"trl-lib/Capybara","adapter":"lora"})"},
      {"train Qwen/Qwen2.5-0.5B on trl-lib/Capybara", R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"Qwen/Qwen2.5-0.5B trl-lib/Capybara", R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"trl-lib/Capybara dataset, Qwen/Qwen2.5-0.5B model",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"using trl-lib/Capybara fine tune my-org/custom-7b",
       R"({"model":"my-org/custom-7b","dataset":"trl-lib/Capybara"})"},
      {"using Qwen/Qwen2.5-7B-Instruct, train on HuggingFaceH4/ultrachat_200k",
       R"({"model":"Qwen/Qwen2.5-7B-Instruct","dataset":"HuggingFaceH4/ultrachat_200k"})"},
      {"FINE-TUNE QWEN/QWEN2.5-0.5B-INSTRUCT ON TRL-LIB/CAPYBARA",
       R"({"model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"TRL-LIB/CAPYBARA"})"},
      {"sft https://huggingface.co/Qwen/Qwen2.5-0.5B on https://huggingface.co/datasets/trl-lib/Capybara",
       R"({"method":"sft","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"please fine-tune the model qwen2.5-0.5b with the dataset trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"fine-tune gpt2 on dataset imdb", R"({"dataset":"imdb"})", {"gpt2"}},
      // --- model aliases
      {"finetune llama 3.1 8b on trl-lib/Capybara",
       R"({"model":"meta-llama/Llama-3.1-8B","dataset":"trl-lib/Capybara"})"},
      {"finetune Llama 3.1 8B Instruct on trl-lib/Capybara",
       R"({"model":"meta-llama/Llama-3.1-8B-Instruct","dataset":"trl-lib/Capybara"})"},
      {"qwen 2.5 0.5b on trl-lib/Capybara", R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"train gemma-2-2b using trl-lib/Capybara", R"({"model":"google/gemma-2-2b","dataset":"trl-lib/Capybara"})"},
      {"smollm2 135m on trl-lib/Capybara, 100 steps",
       R"({"model":"HuggingFaceTB/SmolLM2-135M","dataset":"trl-lib/Capybara","max_steps":100})"},
      {"meta-llama/llama-3.1-8b-instruct on trl-lib/Capybara",
       R"({"model":"meta-llama/Llama-3.1-8B-Instruct","dataset":"trl-lib/Capybara"})"},
      // --- methods, and typos in their names
      {"dpo Qwen/Qwen2.5-0.5B-Instruct on trl-lib/ultrafeedback_binarized",
       R"({"method":"dpo","model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"trl-lib/ultrafeedback_binarized"})"},
      {"GRPO on trl-lib/DeepMath-103K for qwen2.5-0.5b-instruct",
       R"({"method":"grpo","model":"Qwen/Qwen2.5-0.5B-Instruct","dataset":"trl-lib/DeepMath-103K"})"},
      {"kto qwen2.5-0.5b trl-lib/kto-mix-14k",
       R"({"method":"kto","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/kto-mix-14k"})"},
      {"train a reward model from qwen2.5-0.5b on trl-lib/ultrafeedback_binarized",
       R"({"method":"reward","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/ultrafeedback_binarized"})"},
      {"supervised fine-tuning of qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"sft","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"sfft qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"sft","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"dpoo qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"dpo","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"gpro qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"grpo","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"grp0 qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"grpo","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"Sft qwen2.5-0.5b on trl-lib/Capybara with lroa",
       R"({"method":"sft","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"lora"})"},
      {"ppo qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"ppo","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      // --- adapters
      {"qwen2.5-7b-instruct on trl-lib/Capybara with QLoRA",
       R"({"model":"Qwen/Qwen2.5-7B-Instruct","dataset":"trl-lib/Capybara","adapter":"qlora"})"},
      {"qwen2.5-7b-instruct on trl-lib/Capybara in 4-bit",
       R"({"model":"Qwen/Qwen2.5-7B-Instruct","dataset":"trl-lib/Capybara","adapter":"qlora"})"},
      {"qwen2.5-7b-instruct on trl-lib/Capybara 4bit lora r=8",
       R"({"model":"Qwen/Qwen2.5-7B-Instruct","dataset":"trl-lib/Capybara","adapter":"qlora","lora_rank":8})"},
      {"qwen2.5-0.5b on trl-lib/Capybara, full fine-tune",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"full"})"},
      {"full-parameter sft of qwen2.5-0.5b on trl-lib/Capybara",
       R"({"method":"sft","model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"full"})"},
      {"qwen2.5-0.5b on the full dataset trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})"},
      {"lora r=16 alpha=32 qwen2.5-0.5b trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"lora","lora_rank":16,"lora_alpha":32})"},
      {"qwen2.5-0.5b trl-lib/Capybara rank 64",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","lora_rank":64})"},
      {"qwen2.5-0.5b trl-lib/Capybara lora_r 32 lora_alpha 64",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"lora","lora_rank":32,"lora_alpha":64})"},
      {"qwen2.5-0.5b trl-lib/Capybara peft r16",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"lora","lora_rank":16})"},
      // --- epochs and steps
      {"qwen2.5-0.5b trl-lib/Capybara 1 epoch",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":1})"},
      {"qwen2.5-0.5b trl-lib/Capybara for three epochs",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":3})"},
      {"qwen2.5-0.5b trl-lib/Capybara 1.5 epochs",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":1.5})"},
      {"qwen2.5-0.5b trl-lib/Capybara epochs=4",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":4})"},
      {"qwen2.5-0.5b trl-lib/Capybara num_train_epochs 2",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":2})"},
      {"qwen2.5-0.5b trl-lib/Capybara 2k steps",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":2000})"},
      {"qwen2.5-0.5b trl-lib/Capybara 500 steps",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":500})"},
      {"qwen2.5-0.5b trl-lib/Capybara max steps 1000",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":1000})"},
      {"qwen2.5-0.5b trl-lib/Capybara 2,000 steps",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":2000})"},
      {"qwen2.5-0.5b trl-lib/Capybara 1.5k steps",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":1500})"},
      {"qwen2.5-0.5b trl-lib/Capybara max_steps=300",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":300})"},
      {"qwen2.5-0.5b trl-lib/Capybara max 800 steps",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":800})"},
      // --- learning rate, batch, accumulation, sequence length, checkpointing
      {"qwen2.5-0.5b trl-lib/Capybara lr 2e-5",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","learning_rate":2e-5})"},
      {"qwen2.5-0.5b trl-lib/Capybara learning rate 1e-4",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","learning_rate":1e-4})"},
      {"qwen2.5-0.5b trl-lib/Capybara lr=3e-4",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","learning_rate":3e-4})"},
      {"qwen2.5-0.5b trl-lib/Capybara learning_rate: 0.0002",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","learning_rate":0.0002})"},
      {"qwen2.5-0.5b trl-lib/Capybara with a learning rate of 5e-6",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","learning_rate":5e-6})"},
      {"qwen2.5-0.5b trl-lib/Capybara batch 8",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","batch_size":8})"},
      {"qwen2.5-0.5b trl-lib/Capybara batch size 16 grad accum 2",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","batch_size":16,"grad_accum":2})"},
      {"qwen2.5-0.5b trl-lib/Capybara bs 4, gradient accumulation steps 8",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","batch_size":4,"grad_accum":8})"},
      {"qwen2.5-0.5b trl-lib/Capybara seq len 4096",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","seq_len":4096})"},
      {"qwen2.5-0.5b trl-lib/Capybara context 8k",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","seq_len":8192})"},
      {"qwen2.5-0.5b trl-lib/Capybara max length 2048",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","seq_len":2048})"},
      {"qwen2.5-0.5b trl-lib/Capybara with 4k context",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","seq_len":4096})"},
      {"qwen2.5-0.5b trl-lib/Capybara no gradient checkpointing",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gradient_checkpointing":false})"},
      {"qwen2.5-0.5b trl-lib/Capybara with gradient checkpointing",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gradient_checkpointing":true})"},
      // --- output repository
      {"qwen2.5-0.5b trl-lib/Capybara save as my-org/qwen-sft",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","output_repo":"my-org/qwen-sft"})"},
      {"qwen2.5-0.5b trl-lib/Capybara output me/run1",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","output_repo":"me/run1"})"},
      {"qwen2.5-0.5b trl-lib/Capybara and push it to the hub as my-org/x",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","output_repo":"my-org/x"})"},
      {"qwen2.5-0.5b trl-lib/Capybara push to qwen-capy",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","output_repo":"qwen-capy"})"},
      // --- hardware
      {"qwen2.5-0.5b trl-lib/Capybara on a100",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gpu":"a100"})"},
      {"qwen2.5-0.5b trl-lib/Capybara on an H200",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gpu":"h200"})"},
      {"qwen2.5-0.5b trl-lib/Capybara flavor a10g-large",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","flavor":"a10g-large"})"},
      {"on t4 qwen2.5-0.5b trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gpu":"t4"})"},
      {"qwen2.5-0.5b trl-lib/Capybara on h200x2",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","flavor":"h200x2"})"},
      // --- cost and time limits
      {"qwen2.5-0.5b trl-lib/Capybara under $20",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_cost_usd":20})"},
      {"qwen2.5-0.5b trl-lib/Capybara budget 5 dollars",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_cost_usd":5})"},
      {"qwen2.5-0.5b trl-lib/Capybara max cost $10",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_cost_usd":10})"},
      {"qwen2.5-0.5b trl-lib/Capybara budget: 7.5",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_cost_usd":7.5})"},
      {"qwen2.5-0.5b trl-lib/Capybara timeout 3h",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":10800})"},
      {"qwen2.5-0.5b trl-lib/Capybara time limit 90m",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":5400})"},
      {"qwen2.5-0.5b trl-lib/Capybara timeout of 2 hours",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":7200})"},
      {"qwen2.5-0.5b trl-lib/Capybara within 1h30m",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":5400})"},
      {"qwen2.5-0.5b trl-lib/Capybara under 3 hours and under $4",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":10800,"max_cost_usd":4})"},
      // --- trackers, samples, split, columns
      {"qwen2.5-0.5b trl-lib/Capybara with trackio",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","tracker":"trackio"})"},
      {"qwen2.5-0.5b trl-lib/Capybara report to wandb",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","tracker":"wandb"})"},
      {"qwen2.5-0.5b trl-lib/Capybara log to weights & biases",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","tracker":"wandb"})"},
      {"qwen2.5-0.5b trl-lib/Capybara no tracking",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","tracker":"none"})"},
      {"qwen2.5-0.5b trl-lib/Capybara 10k samples",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_samples":10000})"},
      {"qwen2.5-0.5b on 5000 examples of trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_samples":5000})"},
      {"qwen2.5-0.5b trl-lib/Capybara split test",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","split":"test"})"},
      {"qwen2.5-0.5b on the validation split of trl-lib/Capybara",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","split":"validation"})"},
      {"qwen2.5-0.5b trl-lib/Capybara text column content",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","text_column":"content"})"},
      // --- everything at once, shuffled
      {"push to acme/llama-dpo: dpo w/ qlora r 32 llama 3.1 8b instruct on trl-lib/ultrafeedback_binarized, "
       "lr 5e-6, 1k steps, bs 2, grad accum 8, seq len 1024, on a100, under $30, timeout 6h, trackio",
       R"({"output_repo":"acme/llama-dpo","method":"dpo","adapter":"qlora","lora_rank":32,
           "model":"meta-llama/Llama-3.1-8B-Instruct","dataset":"trl-lib/ultrafeedback_binarized","learning_rate":5e-6,
           "max_steps":1000,"batch_size":2,"grad_accum":8,"seq_len":1024,"gpu":"a100","max_cost_usd":30,
           "timeout_s":21600,"tracker":"trackio"})"},
      // --- found while trying phrasings by hand (regressions)
      {"qwen2.5-0.5b trl-lib/Capybara for 1 full epoch",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":1})"},
      {"qwen2.5-0.5b on trl-lib/Capybara; it should take at most 45 minutes and cost no more than $3",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","timeout_s":2700,"max_cost_usd":3})"},
      {"qwen2.5-0.5b trl-lib/Capybara on 2 a100s",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","gpu":"a100"})"},
      {"qwen2.5-0.5b trl-lib/Capybara 500 training steps 4096 token context",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":500,"seq_len":4096})"},
      {"dataset: trl-lib/Capybara, model: Qwen/Qwen2.5-0.5B, epochs: 3, r: 16",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","epochs":3,"lora_rank":16})"},
      {"Qwen/Qwen2.5-0.5B trl-lib/Capybara --max_steps 100 --learning_rate 1e-5 --per_device_train_batch_size 2 "
       "--gradient_accumulation_steps 16 --max_length 512 --use_peft --lora_r 8",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","max_steps":100,"learning_rate":1e-5,"batch_size":2,
           "grad_accum":16,"seq_len":512,"adapter":"lora","lora_rank":8})"},
      {"Qwen/Qwen2.5-0.5B trl-lib/Capybara report_to trackio push_to_hub my-org/out",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","tracker":"trackio","output_repo":"my-org/out"})"},
      {"qwen2.5-0.5b on trl-lib/Capybara without LoRA",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","adapter":"full"})"},
      // too big for the field: left for the user to see, never wrapped around
      {"qwen2.5-0.5b trl-lib/Capybara batch 99999999999",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})",
       {"batch", "99999999999"}},
      {"qwen2.5-0.5b trl-lib/Capybara timeout 99999999999999999h",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})",
       {"timeout", "99999999999999999h"}},
      {"qwen2.5-0.5b on trl-lib/Capybara split train[:10%]",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara","split":"train[:10%]"})"},
      // --- words left for --llm
      {"fine-tune qwen2.5-0.5b on trl-lib/Capybara with cosine schedule",
       R"({"model":"Qwen/Qwen2.5-0.5B","dataset":"trl-lib/Capybara"})",
       {"cosine", "schedule"}},
      {"fine-tune mistral-7b on trl-lib/Capybara", R"({"dataset":"trl-lib/Capybara"})", {"mistral-7b"}},
  };
  return kCases;
}

}  // namespace

TEST_CASE("the parser understands at least 60 phrasings, field by field") {
  CHECK(Cases().size() >= 60);
  for (const Case& c : Cases()) {
    std::string text = c.text;
    CAPTURE(text);
    auto r = ParseInstruction(c.text, Resolve);
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    nlohmann::json got = ToJson(r->spec);
    nlohmann::json want = nlohmann::json::parse(c.fields);
    for (const auto& item : want.items()) {
      std::string key = item.key();  // a copy: CAPTURE keeps a reference
      CAPTURE(key);
      REQUIRE(got.contains(key));
      CHECK(got[key]["value"] == item.value());
    }
    for (const auto& item : got.items()) {
      std::string key = item.key();
      CAPTURE(key);
      CHECK_MESSAGE(want.contains(key), "unexpected field " << key << " = " << item.value().dump());
    }
    CHECK(r->unparsed == c.unparsed);
  }
}

TEST_CASE("every field the text gives is said; 4-bit alone infers qlora") {
  auto r = ParseInstruction("sft qwen2.5-0.5b on trl-lib/Capybara lora 2 epochs lr 1e-4 push to a/b", Resolve);
  REQUIRE(r.ok());
  nlohmann::json j = ToJson(r->spec);
  CHECK(j.size() == 7);
  for (const auto& item : j.items()) {
    std::string key = item.key();
    CAPTURE(key);
    CHECK(item.value()["source"] == "said");
  }
  r = ParseInstruction("qwen2.5-0.5b on trl-lib/Capybara in 4-bit", Resolve);
  REQUIRE(r.ok());
  CHECK(r->spec.adapter.source == Source::kInferred);
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("4-bit") != std::string::npos);
}

TEST_CASE("a corrected typo is recorded in a note; real words are not corrected") {
  auto r = ParseInstruction("sfft qwen2.5-0.5b on trl-lib/Capybara", Resolve);
  REQUIRE(r.ok());
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0] == "'sfft' read as 'sft'");
  r = ParseInstruction("set qwen2.5-0.5b on trl-lib/Capybara soft", Resolve);
  REQUIRE(r.ok());
  CHECK_FALSE(r->spec.method.has());
  CHECK(r->notes.empty());
  CHECK(r->unparsed == std::vector<std::string>{"soft"});
}

TEST_CASE("a model-looking word the catalog does not know gets a note saying to use the Hub id") {
  auto r = ParseInstruction("fine-tune mistral-7b on trl-lib/Capybara", Resolve);
  REQUIRE(r.ok());
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("Hub id") != std::string::npos);
}

TEST_CASE("without a resolver only Hub ids name models") {
  auto r = ParseInstruction("fine-tune qwen2.5-0.5b on trl-lib/Capybara", nullptr);
  REQUIRE(r.ok());
  CHECK_FALSE(r->spec.model.has());
  CHECK(r->unparsed == std::vector<std::string>{"qwen2.5-0.5b"});
}

TEST_CASE("push to the hub with no repository notes what to add") {
  auto r = ParseInstruction("qwen2.5-0.5b trl-lib/Capybara push to hub", Resolve);
  REQUIRE(r.ok());
  CHECK_FALSE(r->spec.output_repo.has());
  REQUIRE(r->notes.size() == 1);
  CHECK(r->notes[0].find("names no repository") != std::string::npos);
}

// Contradictory, incomplete and impossible requests: the error comes from the parser (two values
// in the text) or from Complete (the whole spec), always kUsage naming what to fix.
TEST_CASE("bad requests give a usage error that says what is wrong") {
  struct Bad {
    const char* text;
    const char* error;
  };
  const Bad bad[] = {
      {"qwen2.5-0.5b on trl-lib/Capybara with lora, full fine-tune", "both 'full fine-tune' and 'lora'"},
      {"full finetune of qwen2.5-0.5b in 4-bit on trl-lib/Capybara", "both 'full finetune' and '4-bit'"},
      {"qwen2.5-0.5b on trl-lib/Capybara qlora full", "both 'full' and 'qlora'"},
      {"fine-tune qwen2.5-0.5b and llama 3.1 8b on trl-lib/Capybara",
       "two different models: 'qwen2.5-0.5b' and 'llama 3.1 8b'"},
      {"model Qwen/Qwen2.5-0.5B model meta-llama/Llama-3.1-8B on trl-lib/Capybara",
       "two different models: 'Qwen/Qwen2.5-0.5B' and 'meta-llama/Llama-3.1-8B'"},
      {"sft then dpo qwen2.5-0.5b on trl-lib/Capybara", "two different methods: 'sft' and 'dpo'"},
      {"qwen2.5-0.5b on trl-lib/Capybara 2 epochs, 3 epochs", "two different epoch counts: '2 epochs' and '3 epochs'"},
      {"qwen2.5-0.5b on trl-lib/Capybara lr 1e-4 learning rate 2e-4", "two different learning rates"},
      {"qwen2.5-0.5b on trl-lib/Capybara under $5 budget $10", "two different cost limits"},
      {"qwen2.5-0.5b on trl-lib/Capybara on a100 on h200", "two different GPUs: 'a100' and 'h200'"},
      {"on trl-lib/Capybara with lora", "no model"},
      {"fine-tune qwen2.5-0.5b with LoRA for 2 epochs", "no dataset: add one, e.g. 'on trl-lib/Capybara'"},
      {"fine-tune qwen2.5-0.5b", "no dataset"},
      {"qwen2.5-0.5b on trl-lib/Capybara for 2 epochs and 500 steps", "say epochs or steps, not both"},
      {"qwen2.5-0.5b on trl-lib/Capybara -1 epochs", "epochs must be above zero (got -1)"},
      {"qwen2.5-0.5b on trl-lib/Capybara 0 steps", "max_steps must be above zero"},
      {"qwen2.5-0.5b on trl-lib/Capybara lr 2", "learning rate 2 is too large"},
      {"qwen2.5-0.5b on trl-lib/Capybara batch 0", "batch size must be above zero"},
      {"qwen2.5-0.5b on trl-lib/Capybara full fine-tune rank 16", "a LoRA rank (r=16) contradicts a full fine-tune"},
      {"qwen2.5-0.5b on trl-lib/Capybara push to qwen-capy", "'qwen-capy' is not a Hub id"},
      {"ppo qwen2.5-0.5b on trl-lib/Capybara", "unknown method 'ppo': use one of sft, dpo, grpo, kto, reward"},
      {"qwen2.5-0.5b on trl-lib/Capybara report to tensorboard", "unknown tracker 'tensorboard'"},
      {"   ", "empty request"},
  };
  for (const Bad& b : bad) {
    std::string text = b.text;
    CAPTURE(text);
    auto r = ParseInstruction(b.text, Resolve);
    Status st = r.ok() ? Complete(r->spec) : r.status();
    CHECK(st.code() == Code::kUsage);
    CHECK_MESSAGE(st.message().find(b.error) != std::string::npos, st.message());
  }
}

TEST_CASE("a parsed and completed request has every field with a source") {
  auto r = ParseInstruction(
      "fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2 epochs, push to "
      "my-org/qwen-capy",
      Resolve);
  REQUIRE(r.ok());
  REQUIRE(Complete(r->spec).ok());
  nlohmann::json j = ToJson(r->spec);
  CHECK(j["model"]["source"] == "said");
  CHECK(j["adapter"]["source"] == "said");
  CHECK(j["epochs"]["value"] == 2);
  CHECK(j["method"]["source"] == "default");
  CHECK(j["lora_rank"]["value"] == 16);
  CHECK(j["text_column"]["source"] == "inferred");
  CHECK(j["learning_rate"]["value"] == 2e-4);
  CHECK_FALSE(j.contains("max_steps"));
}

TEST_CASE("Tokenize strips punctuation, reads w/ and splits key=value and snake_case") {
  auto t = Tokenize("(w/ LoRA), lr=3e-4; max_steps: 10 \"trl-lib/Capybara.\"");
  std::vector<std::string> raw;
  for (auto& x : t) raw.push_back(x.raw);
  CHECK(raw ==
        std::vector<std::string>{"with", "LoRA", "lr", "=", "3e-4", "max", "steps", "=", "10", "trl-lib/Capybara"});
  CHECK(t[1].lower == "lora");
  auto ft = Tokenize("fine-tune HuggingFaceH4/ultrachat_200k");
  REQUIRE(ft.size() == 2);
  CHECK(ft[0].words == std::vector<std::string>{"fine", "tune"});
  CHECK(ft[1].raw == "HuggingFaceH4/ultrachat_200k");
}

TEST_CASE("ParseQuantity reads the ways people write numbers") {
  CHECK(*ParseQuantity("500") == 500);
  CHECK(*ParseQuantity("2k") == 2000);
  CHECK(*ParseQuantity("1.5k") == 1500);
  CHECK(*ParseQuantity("8k", 1024) == 8192);
  CHECK(*ParseQuantity("2,000") == 2000);
  CHECK(*ParseQuantity("1,000,000") == 1000000);
  CHECK(*ParseQuantity("1,000.5") == doctest::Approx(1000.5));
  CHECK(*ParseQuantity("1e-4") == doctest::Approx(1e-4));
  CHECK(*ParseQuantity("3e-5") == doctest::Approx(3e-5));
  CHECK(*ParseQuantity("2m") == 2e6);
  CHECK_FALSE(ParseQuantity("2m", 1000, false));
  CHECK_FALSE(ParseQuantity("20,00"));
  CHECK_FALSE(ParseQuantity("2,0000"));
  CHECK_FALSE(ParseQuantity("nan"));
  CHECK_FALSE(ParseQuantity("inf"));
  CHECK_FALSE(ParseQuantity("0x10"));
  CHECK_FALSE(ParseQuantity("k"));
  CHECK_FALSE(ParseQuantity("abc"));
  CHECK(*WordNumber("three") == 3);
}

TEST_CASE("money and durations") {
  CHECK(*ParseMoneyToken("$20") == 20);
  CHECK(*ParseMoneyToken("$5.50") == doctest::Approx(5.5));
  CHECK(*ParseMoneyToken("20$") == 20);
  CHECK(*ParseMoneyToken("20usd") == 20);
  CHECK_FALSE(ParseMoneyToken("$"));
  CHECK_FALSE(ParseMoneyToken("usd"));
  CHECK(*ParseDurationToken("3h") == 10800);
  CHECK(*ParseDurationToken("90m") == 5400);
  CHECK(*ParseDurationToken("90min") == 5400);
  CHECK(*ParseDurationToken("1h30m") == 5400);
  CHECK(*ParseDurationToken("1.5h") == 5400);
  CHECK(*ParseDurationToken("2d") == 172800);
  CHECK_FALSE(ParseDurationToken("8b"));
  CHECK_FALSE(ParseDurationToken("500"));
  CHECK_FALSE(ParseDurationToken("h200"));
}

TEST_CASE("Hub references and edit distance") {
  CHECK(ParseHubRef("trl-lib/Capybara")->id == "trl-lib/Capybara");
  CHECK(ParseHubRef("https://huggingface.co/datasets/trl-lib/Capybara")->is_dataset);
  CHECK(ParseHubRef("hf.co/Qwen/Qwen2.5-0.5B")->id == "Qwen/Qwen2.5-0.5B");
  CHECK_FALSE(ParseHubRef("1/2"));
  CHECK_FALSE(ParseHubRef("a/b/c"));
  CHECK_FALSE(ParseHubRef("-x/y"));
  CHECK(EditDistance("sfft", "sft") == 1);
  CHECK(EditDistance("gpro", "grpo") == 1);
  CHECK(EditDistance("dpo", "dpo") == 0);
  CHECK(EditDistance("lora", "full") == 4);
}

// Random requests from the parser's own words plus junk: it never crashes, and every outcome is a
// spec or a usage error; a spec that completes always has its model and dataset. (An ASan/UBSan run
// of this over 200k inputs found the 2 x rank overflow fixed in Complete.)
TEST_CASE("random requests give a spec or a usage error, never anything else") {
  const std::vector<std::string> vocab = {"fine-tune",
                                          "qwen2.5-0.5b",
                                          "qwen",
                                          "2.5",
                                          "0.5b",
                                          "on",
                                          "trl-lib/Capybara",
                                          "Qwen/Qwen2.5-0.5B",
                                          "lora",
                                          "full",
                                          "qlora",
                                          "4-bit",
                                          "r=16",
                                          "r",
                                          "=",
                                          "rank",
                                          "alpha",
                                          "epochs",
                                          "2",
                                          "2k",
                                          "1.5k",
                                          "2,000",
                                          "1e-4",
                                          "lr",
                                          "steps",
                                          "max",
                                          "under",
                                          "$20",
                                          "$",
                                          "dollars",
                                          "timeout",
                                          "3h",
                                          "minutes",
                                          "push",
                                          "to",
                                          "my-org/x",
                                          "save",
                                          "as",
                                          "split",
                                          "test",
                                          "context",
                                          "8k",
                                          "batch",
                                          "bs",
                                          "with",
                                          "w/",
                                          "without",
                                          "trackio",
                                          "a100",
                                          "h200x2",
                                          "flavor",
                                          "samples",
                                          "-1",
                                          "0",
                                          "sfft",
                                          "reward",
                                          "model",
                                          "dataset",
                                          ",",
                                          ":",
                                          "(",
                                          "1/2",
                                          "https://huggingface.co/datasets/a/b",
                                          "9e999",
                                          "99999999999999999999",
                                          "nan",
                                          "",
                                          ".5",
                                          "1,00",
                                          "--",
                                          "a/b/c",
                                          "_",
                                          "r99999999999",
                                          "train[:5%]",
                                          "8-bit",
                                          "2 a100s"};
  std::mt19937 rng(1234);
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    for (int k = 0, n = static_cast<int>(rng() % 12); k < n; ++k) {
      if (rng() % 12 == 0) {
        for (int b = 0, len = static_cast<int>(rng() % 5); b < len; ++b) text += static_cast<char>(rng() % 256);
      } else {
        text += vocab[rng() % vocab.size()];
      }
      if (rng() % 4) text += ' ';
    }
    CAPTURE(text);
    auto r = ParseInstruction(text, Resolve);
    if (!r.ok()) {
      REQUIRE(r.status().code() == Code::kUsage);
      continue;
    }
    Spec s = r->spec;
    Status st = Complete(s);
    if (!st.ok()) {
      REQUIRE(st.code() == Code::kUsage);
      continue;
    }
    REQUIRE(s.model.has());
    REQUIRE(s.dataset.has());
  }
}

// Regression (fuzz_client_inputs): a byte that is not UTF-8 went into the spec, and writing the
// spec as JSON (--json, job.json) threw and ended dsx.
TEST_CASE("a request or --set value that is not UTF-8 is a usage error") {
  auto r = ParseInstruction("fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara, push to m\x81-org/qwen", Resolve);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == dsx::Code::kUsage);
  CHECK(r.status().message().find("UTF-8") != std::string::npos);
  auto ok = ParseInstruction("fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara", Resolve);
  REQUIRE(ok.ok());
  Spec spec = ok->spec;
  dsx::Status set = ApplySet(spec, "flavor=aer $2\xff\xff\xff;");
  CHECK(set.code() == dsx::Code::kUsage);
  CHECK(set.message().find("UTF-8") != std::string::npos);
  CHECK(!spec.flavor.has());
  CHECK_NOTHROW((void)ToJson(spec).dump());
}
