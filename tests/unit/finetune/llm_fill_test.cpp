// The --llm fallback against a fake chat function: what is sent, what a reply may fill, and every
// way a reply is refused.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "finetune/llm_fill.hpp"

using namespace dsx;
using namespace dsx::finetune;

namespace {

// Replies with `text` and records the requests it got.
struct FakeChat {
  explicit FakeChat(std::string reply = "") : text(std::move(reply)) {}
  std::string text;
  Status error;
  std::vector<llm::ChatRequest> requests;
  ChatFn fn() {
    return [this](const llm::ChatRequest& r) -> Result<llm::ChatReply> {
      requests.push_back(r);
      if (!error.ok()) return error;
      llm::ChatReply reply;
      reply.text = text;
      reply.stop_reason = "stop";
      return reply;
    };
  }
};

std::optional<std::string> Resolve(std::string_view alias) {
  if (alias == "qwen2.5-0.5b" || alias == "Qwen 2.5 0.5B") return "Qwen/Qwen2.5-0.5B";
  return std::nullopt;
}

ParseResult Parse(const char* text) {
  auto r = ParseInstruction(text, Resolve);
  REQUIRE(r.ok());
  return *r;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("NeedsLlm: only when something required is missing or words are left") {
  CHECK_FALSE(NeedsLlm(Parse("qwen2.5-0.5b on trl-lib/Capybara 2 epochs")));
  CHECK(NeedsLlm(Parse("qwen2.5-0.5b on trl-lib/Capybara with cosine decay")));
  CHECK(NeedsLlm(Parse("qwen2.5-0.5b 2 epochs")));
}

TEST_CASE("the request carries the instruction, what is understood, the leftovers and the schema") {
  FakeChat fake{R"({"dataset": "HuggingFaceH4/ultrachat_200k"})"};
  ParseResult parsed = Parse("qwen2.5-0.5b for 2 epochs on the ultrachat corpus");
  auto r = FillWithLlm("qwen2.5-0.5b for 2 epochs on the ultrachat corpus", parsed, fake.fn());
  REQUIRE(r.ok());
  REQUIRE(fake.requests.size() == 1);
  const llm::ChatRequest& req = fake.requests[0];
  CHECK(req.temperature == 0);
  CHECK(Contains(req.system, "\"additionalProperties\": false"));
  CHECK(Contains(req.system, "\"learning_rate\""));
  REQUIRE(req.messages.size() == 1);
  CHECK(req.messages[0].role == "user");
  const std::string& user = req.messages[0].content;
  CHECK(Contains(user, "Request: qwen2.5-0.5b for 2 epochs on the ultrachat corpus"));
  CHECK(Contains(user, R"("model":"Qwen/Qwen2.5-0.5B")"));
  CHECK(Contains(user, R"("epochs":2.0)"));
  CHECK(Contains(user, "did not understand: ultrachat corpus"));
  CHECK(*r->spec.dataset.value == "HuggingFaceH4/ultrachat_200k");
  CHECK(r->spec.dataset.source == Source::kLlm);
  CHECK(r->filled == std::vector<std::string>{"dataset"});
}

TEST_CASE("the reply fills only empty fields and never overrides what the request said") {
  FakeChat fake{R"({"model": "meta-llama/Llama-3.1-8B", "dataset": "trl-lib/Capybara", "epochs": 5,
                   "learning_rate": 1e-5, "lora_rank": 8, "tracker": null, "gradient_checkpointing": false})"};
  ParseResult parsed = Parse("qwen2.5-0.5b for 2 epochs, something capybara");
  auto r = FillWithLlm("...", parsed, fake.fn());
  REQUIRE(r.ok());
  CHECK(*r->spec.model.value == "Qwen/Qwen2.5-0.5B");
  CHECK(r->spec.model.source == Source::kSaid);
  CHECK(*r->spec.epochs.value == 2);
  CHECK(r->spec.epochs.source == Source::kSaid);
  CHECK(*r->spec.dataset.value == "trl-lib/Capybara");
  CHECK(*r->spec.learning_rate.value == doctest::Approx(1e-5));
  CHECK(*r->spec.lora_rank.value == 8);
  CHECK(*r->spec.gradient_checkpointing.value == false);
  CHECK_FALSE(r->spec.tracker.has());
  CHECK(r->filled == std::vector<std::string>{"dataset", "lora_rank", "learning_rate", "gradient_checkpointing"});
  CHECK(r->ignored == std::vector<std::string>{"model", "epochs"});
  nlohmann::json j = ToJson(r->spec);
  CHECK(j["dataset"]["source"] == "llm");
  // The filled spec goes through the same checks as any other.
  REQUIRE(Complete(r->spec).ok());
  CHECK(r->spec.adapter.source == Source::kInferred);  // from the LLM's rank
}

TEST_CASE("a model alias in the reply is resolved to its Hub id") {
  FakeChat fake{R"({"model": "qwen2.5-0.5b"})"};
  auto r = FillWithLlm("tune the small qwen on trl-lib/Capybara", Parse("tune the small qwen on trl-lib/Capybara"),
                       fake.fn(), Resolve);
  REQUIRE(r.ok());
  CHECK(*r->spec.model.value == "Qwen/Qwen2.5-0.5B");
  CHECK(r->spec.model.source == Source::kLlm);
}

TEST_CASE("a fenced JSON reply is accepted; prose is not") {
  FakeChat fenced{"```json\n{\"max_steps\": 300}\n```"};
  auto r = FillWithLlm("x", Parse("qwen2.5-0.5b on trl-lib/Capybara briefly"), fenced.fn());
  REQUIRE(r.ok());
  CHECK(*r->spec.max_steps.value == 300);

  FakeChat prose{"Sure! Here is the JSON: {\"max_steps\": 300}"};
  r = FillWithLlm("x", Parse("qwen2.5-0.5b on trl-lib/Capybara briefly"), prose.fn());
  CHECK(r.status().code() == Code::kFailed);
  CHECK(Contains(r.status().message(), "not a JSON object"));
}

TEST_CASE("replies that break the schema are refused with the key named, and fill nothing") {
  struct Bad {
    const char* reply;
    const char* error;
  };
  const Bad bad[] = {
      {R"({"dataset": "trl-lib/Capybara", "warmup_ratio": 0.1})", "unknown key 'warmup_ratio'"},
      {R"({"dataset": 42})", "'dataset' is 42, not a string"},
      {R"({"lora_rank": 16.0})", "'lora_rank' is 16.0, not an integer"},
      {R"({"lora_rank": "16"})", "'lora_rank' is \"16\", not an integer"},
      {R"({"max_steps": 1.5})", "'max_steps' is 1.5, not an integer"},
      {R"({"learning_rate": "2e-5"})", "'learning_rate' is \"2e-5\", not a number"},
      {R"({"gradient_checkpointing": "yes"})", "not a boolean"},
      {R"({"lora_rank": 99999999999})", "not an integer"},
      {R"({"max_steps": 18446744073709551615})", "not an integer"},
      {R"(["dataset", "trl-lib/Capybara"])", "not a JSON object"},
      {"", "not a JSON object"},
      {R"({"dataset": "trl-lib/Capybara")", "not a JSON object"},
  };
  for (const Bad& b : bad) {
    std::string reply = b.reply;
    CAPTURE(reply);
    FakeChat fake{b.reply};
    auto r = FillWithLlm("x", Parse("qwen2.5-0.5b with cosine decay"), fake.fn());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kFailed);
    CHECK_MESSAGE(Contains(r.status().message(), b.error), r.status().message());
  }
}

TEST_CASE("a chat error comes back with its own code") {
  FakeChat fake;
  fake.error = Status::Unavailable("cannot connect to https://api.openai.com");
  auto r = FillWithLlm("x", Parse("qwen2.5-0.5b with cosine decay"), fake.fn());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(Contains(r.status().message(), "--llm: cannot connect"));
  CHECK(FillWithLlm("x", Parse("qwen2.5-0.5b"), nullptr).status().code() == Code::kUsage);
}

TEST_CASE("the schema lists every spec field, typed and nullable") {
  nlohmann::json s = SpecReplySchema();
  CHECK(s["additionalProperties"] == false);
  CHECK(s["properties"].size() == 25);
  CHECK(s["properties"]["max_steps"]["type"] == nlohmann::json::array({"integer", "null"}));
  CHECK(s["properties"]["epochs"]["type"] == nlohmann::json::array({"number", "null"}));
  CHECK(s["properties"]["gradient_checkpointing"]["type"] == nlohmann::json::array({"boolean", "null"}));
  CHECK(s["properties"]["model"]["type"] == nlohmann::json::array({"string", "null"}));
}
