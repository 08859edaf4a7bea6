// Spec: --set conversions, Complete's defaults (with their sources) and checks, the JSON shape.
#include <doctest/doctest.h>

#include <string>

#include "finetune/spec.hpp"

using namespace dsx;
using namespace dsx::finetune;

namespace {

Spec Minimal() {
  Spec s;
  s.model.Set("Qwen/Qwen2.5-0.5B-Instruct", Source::kSaid);
  s.dataset.Set("trl-lib/Capybara", Source::kSaid);
  return s;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("SourceName spells the four sources as the JSON does") {
  CHECK(std::string(SourceName(Source::kSaid)) == "said");
  CHECK(std::string(SourceName(Source::kDefault)) == "default");
  CHECK(std::string(SourceName(Source::kInferred)) == "inferred");
  CHECK(std::string(SourceName(Source::kLlm)) == "llm");
}

TEST_CASE("ApplySet converts to each field's type and marks it said") {
  Spec s;
  REQUIRE(ApplySet(s, "model=Qwen/Qwen2.5-7B").ok());
  REQUIRE(ApplySet(s, "epochs=2.5").ok());
  REQUIRE(ApplySet(s, "max_steps=1500").ok());
  REQUIRE(ApplySet(s, "learning_rate=1e-4").ok());
  REQUIRE(ApplySet(s, "lora_rank = 64").ok());
  REQUIRE(ApplySet(s, "gradient_checkpointing=false").ok());
  REQUIRE(ApplySet(s, "timeout_s=7200").ok());
  CHECK(*s.model.value == "Qwen/Qwen2.5-7B");
  CHECK(*s.epochs.value == doctest::Approx(2.5));
  CHECK(*s.max_steps.value == 1500);
  CHECK(*s.learning_rate.value == doctest::Approx(1e-4));
  CHECK(*s.lora_rank.value == 64);
  CHECK(*s.gradient_checkpointing.value == false);
  CHECK(*s.timeout_s.value == 7200);
  CHECK(s.lora_rank.source == Source::kSaid);
}

TEST_CASE("ApplySet overrides a value from any source") {
  Spec s = Minimal();
  s.learning_rate.Set(2e-4, Source::kDefault);
  REQUIRE(ApplySet(s, "learning_rate=3e-5").ok());
  CHECK(*s.learning_rate.value == doctest::Approx(3e-5));
  CHECK(s.learning_rate.source == Source::kSaid);
}

TEST_CASE("ApplySet with an empty value clears the field, whatever its type") {
  Spec s = Minimal();
  s.output_repo.Set("me/x", Source::kSaid);
  REQUIRE(ApplySet(s, "output_repo=").ok());
  CHECK_FALSE(s.output_repo.has());
  // Trading the request's epochs for steps: without the clear, Complete refuses both.
  s.epochs.Set(2, Source::kSaid);
  REQUIRE(ApplySet(s, "max_steps=500").ok());
  CHECK(Complete(s).message().find("--set epochs=") != std::string::npos);
  REQUIRE(ApplySet(s, "epochs=").ok());
  REQUIRE(Complete(s).ok());
  CHECK_FALSE(s.epochs.has());
  CHECK(*s.max_steps.value == 500);
}

TEST_CASE("ApplySet errors name the key and the expected type, and change nothing") {
  Spec s = Minimal();
  s.lora_rank.Set(8, Source::kSaid);
  Status st = ApplySet(s, "lora_rank=sixteen");
  CHECK(st.code() == Code::kUsage);
  CHECK(Contains(st.message(), "lora_rank"));
  CHECK(Contains(st.message(), "integer"));
  CHECK(*s.lora_rank.value == 8);

  st = ApplySet(s, "epochs=two");
  CHECK(st.code() == Code::kUsage);
  CHECK(Contains(st.message(), "a number"));
  st = ApplySet(s, "gradient_checkpointing=maybe");
  CHECK(Contains(st.message(), "boolean"));
  st = ApplySet(s, "max_steps=12.5");  // not an integer: no silent truncation
  CHECK(st.code() == Code::kUsage);
  st = ApplySet(s, "batch_size=8x");
  CHECK(st.code() == Code::kUsage);
  st = ApplySet(s, "learning_rate=nan");
  CHECK(st.code() == Code::kUsage);
  st = ApplySet(s, "bogus=1");
  CHECK(st.code() == Code::kUsage);
  CHECK(Contains(st.message(), "unknown key 'bogus'"));
  st = ApplySet(s, "no_equals_sign");
  CHECK(st.code() == Code::kUsage);
  CHECK(Contains(st.message(), "key=value"));
}

TEST_CASE("Complete fills SFT + LoRA defaults with their sources") {
  Spec s = Minimal();
  REQUIRE(Complete(s).ok());
  CHECK(*s.method.value == "sft");
  CHECK(s.method.source == Source::kDefault);
  CHECK(*s.adapter.value == "lora");
  CHECK(*s.lora_rank.value == 16);
  CHECK(*s.lora_alpha.value == 32);
  CHECK(*s.learning_rate.value == doctest::Approx(2e-4));
  CHECK(*s.epochs.value == doctest::Approx(1.0));
  CHECK(s.epochs.source == Source::kDefault);
  CHECK_FALSE(s.max_steps.has());
  CHECK(*s.batch_size.value == 4);
  CHECK(*s.grad_accum.value == 4);
  CHECK(*s.seq_len.value == 2048);
  CHECK(*s.gradient_checkpointing.value == true);
  CHECK(*s.split.value == "train");
  CHECK(*s.text_column.value == "messages");
  CHECK(s.text_column.source == Source::kInferred);
  CHECK(*s.tracker.value == "none");
  CHECK_FALSE(s.output_repo.has());
  CHECK_FALSE(s.prompt_column.has());
}

TEST_CASE("Complete picks the learning rate per method and adapter") {
  struct Row {
    const char* method;
    const char* adapter;
    double lr;
  };
  for (Row r :
       {Row{"sft", "full", 2e-5}, Row{"sft", "lora", 2e-4}, Row{"sft", "qlora", 2e-4}, Row{"dpo", "full", 5e-7},
        Row{"dpo", "lora", 5e-6}, Row{"grpo", "full", 1e-6}, Row{"kto", "full", 5e-7}, Row{"reward", "lora", 1e-4}}) {
    std::string method = r.method, adapter = r.adapter;
    CAPTURE(method);
    CAPTURE(adapter);
    Spec s = Minimal();
    s.method.Set(r.method, Source::kSaid);
    s.adapter.Set(r.adapter, Source::kSaid);
    REQUIRE(Complete(s).ok());
    CHECK(*s.learning_rate.value == doctest::Approx(r.lr));
    CHECK(s.learning_rate.source == Source::kDefault);
  }
}

TEST_CASE("Complete: DPO gets preference columns and 1024 tokens; full gets no LoRA fields") {
  Spec s = Minimal();
  s.method.Set("dpo", Source::kSaid);
  s.adapter.Set("full", Source::kSaid);
  REQUIRE(Complete(s).ok());
  CHECK(*s.seq_len.value == 1024);
  CHECK(*s.prompt_column.value == "prompt");
  CHECK(*s.chosen_column.value == "chosen");
  CHECK(*s.rejected_column.value == "rejected");
  CHECK_FALSE(s.text_column.has());
  CHECK_FALSE(s.lora_rank.has());
  CHECK_FALSE(s.lora_alpha.has());
}

TEST_CASE("Complete infers LoRA from a said rank and alpha from the rank") {
  Spec s = Minimal();
  s.lora_rank.Set(64, Source::kSaid);
  REQUIRE(Complete(s).ok());
  CHECK(*s.adapter.value == "lora");
  CHECK(s.adapter.source == Source::kInferred);
  CHECK(*s.lora_alpha.value == 128);
  CHECK(s.lora_alpha.source == Source::kInferred);
}

TEST_CASE("Complete lower-cases method, adapter, tracker and hardware names") {
  Spec s = Minimal();
  REQUIRE(ApplySet(s, "method=DPO").ok());
  REQUIRE(ApplySet(s, "adapter=LoRA").ok());
  REQUIRE(ApplySet(s, "gpu=A100").ok());
  REQUIRE(Complete(s).ok());
  CHECK(*s.method.value == "dpo");
  CHECK(*s.adapter.value == "lora");
  CHECK(*s.gpu.value == "a100");
  CHECK(*s.learning_rate.value == doctest::Approx(5e-6));
}

TEST_CASE("Complete accepts bare Hub names and split slices") {
  Spec s = Minimal();
  s.model.Set("gpt2", Source::kSaid);
  s.dataset.Set("imdb", Source::kSaid);
  s.split.Set("train[:10%]", Source::kSaid);
  CHECK(Complete(s).ok());
}

TEST_CASE("Complete keeps what was said and is idempotent") {
  Spec s = Minimal();
  s.max_steps.Set(500, Source::kSaid);
  s.learning_rate.Set(1e-5, Source::kSaid);
  REQUIRE(Complete(s).ok());
  CHECK_FALSE(s.epochs.has());  // steps said: no default epochs
  CHECK(*s.learning_rate.value == doctest::Approx(1e-5));
  Spec again = s;
  REQUIRE(Complete(again).ok());
  CHECK(ToJson(again) == ToJson(s));
}

TEST_CASE("Complete refuses incomplete, contradictory and impossible specs, leaving the spec as it was") {
  struct Row {
    const char* name;
    void (*edit)(Spec&);
    const char* expect;
  };
  const Row rows[] = {
      {"no model", [](Spec& s) { s.model = {}; }, "no model"},
      {"no dataset", [](Spec& s) { s.dataset = {}; }, "no dataset: add one, e.g. 'on trl-lib/Capybara'"},
      {"full + rank",
       [](Spec& s) {
         s.adapter.Set("full", Source::kSaid);
         s.lora_rank.Set(16, Source::kSaid);
       },
       "a LoRA rank (r=16) contradicts a full fine-tune"},
      {"epochs + steps",
       [](Spec& s) {
         s.epochs.Set(2, Source::kSaid);
         s.max_steps.Set(500, Source::kSaid);
       },
       "say epochs or steps, not both (got 2 epochs and 500 steps;"},
      {"negative epochs", [](Spec& s) { s.epochs.Set(-1, Source::kSaid); }, "epochs must be above zero (got -1)"},
      {"zero steps", [](Spec& s) { s.max_steps.Set(0, Source::kSaid); }, "max_steps must be above zero"},
      {"lr 2", [](Spec& s) { s.learning_rate.Set(2, Source::kSaid); }, "learning rate 2 is too large"},
      {"lr 1", [](Spec& s) { s.learning_rate.Set(1, Source::kSaid); }, "learning rate 1 is too large"},
      {"lr 0", [](Spec& s) { s.learning_rate.Set(0, Source::kSaid); }, "learning rate must be above zero"},
      {"batch 0", [](Spec& s) { s.batch_size.Set(0, Source::kSaid); }, "batch size must be above zero"},
      {"seq -5", [](Spec& s) { s.seq_len.Set(-5, Source::kSaid); }, "sequence length must be above zero"},
      {"cost 0", [](Spec& s) { s.max_cost_usd.Set(0, Source::kSaid); }, "max cost must be above zero"},
      {"bad repo", [](Spec& s) { s.output_repo.Set("qwen-capy", Source::kSaid); }, "'qwen-capy' is not a Hub id"},
      {"bad repo 2", [](Spec& s) { s.output_repo.Set("a/b/c", Source::kSaid); }, "is not a Hub id"},
      {"huge rank (2 x rank overflowed int)", [](Spec& s) { s.lora_rank.Set(2000000000, Source::kSaid); },
       "LoRA rank 2000000000 is larger than any layer"},
      {"model with a quote", [](Spec& s) { s.model.Set("Qwen/x\"); import os", Source::kLlm); }, "is not a Hub id"},
      {"dataset with a space", [](Spec& s) { s.dataset.Set("trl lib/x", Source::kSaid); }, "dataset 'trl lib/x'"},
      {"split with a quote", [](Spec& s) { s.split.Set("train'", Source::kSaid); }, "is not a split name"},
      {"column with a paren", [](Spec& s) { s.text_column.Set("text)", Source::kSaid); }, "is not a column"},
      {"bad method", [](Spec& s) { s.method.Set("ppo", Source::kSaid); }, "unknown method 'ppo'"},
      {"bad adapter", [](Spec& s) { s.adapter.Set("ia3", Source::kSaid); }, "unknown adapter 'ia3'"},
      {"bad tracker", [](Spec& s) { s.tracker.Set("mlflow", Source::kSaid); }, "unknown tracker 'mlflow'"},
  };
  for (const Row& r : rows) {
    std::string name = r.name;
    CAPTURE(name);
    Spec s = Minimal();
    r.edit(s);
    nlohmann::json before = ToJson(s);
    Status st = Complete(s);
    CHECK(st.code() == Code::kUsage);
    CHECK(Contains(st.message(), r.expect));
    CHECK(ToJson(s) == before);
  }
}

TEST_CASE("ToJson has each set field as {value, source} and leaves unset fields out") {
  Spec s = Minimal();
  s.max_steps.Set(2000, Source::kSaid);
  s.learning_rate.Set(2e-5, Source::kLlm);
  nlohmann::json j = ToJson(s);
  CHECK(j["model"]["value"] == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(j["model"]["source"] == "said");
  CHECK(j["max_steps"]["value"] == 2000);
  CHECK(j["max_steps"]["value"].is_number_integer());
  CHECK(j["learning_rate"]["source"] == "llm");
  CHECK_FALSE(j.contains("epochs"));
  CHECK_FALSE(j.contains("output_repo"));
  CHECK(j.size() == 4);
}
