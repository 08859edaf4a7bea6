// Hub lookups (finetune/hub_lookup.hpp) against a scripted transport: the exact URLs and headers, a
// model found / not found / gated, config.json -> ModelInfo, dataset columns per method, a missing
// split, rows filled into the plan, an unreachable Hub as a note, offline as no request at all.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "finetune/hub_lookup.hpp"
#include "finetune/submit.hpp"
#include "net/fake_transport.hpp"

using namespace dsx;
using namespace dsx::finetune;
using net::testing::FakeTransport;
using net::testing::NetError;
using net::testing::Reply;
namespace stdfs = std::filesystem;

namespace {

const char* kApi = R"({"id": "acme/tiny-7b", "gated": false, "private": false,
  "cardData": {"license": "apache-2.0"}, "safetensors": {"parameters": {"BF16": 7241732096}, "total": 7241732096}})";
const char* kConfig = R"({"model_type": "mistral", "hidden_size": 4096, "num_hidden_layers": 32,
  "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 32000, "intermediate_size": 14336,
  "tie_word_embeddings": false, "max_position_embeddings": 32768})";
const char* kInfo = R"({"dataset_info": {"default": {"config_name": "default",
  "features": {"prompt": {"dtype": "string", "_type": "Value"}, "chosen": {"dtype": "string", "_type": "Value"},
               "rejected": {"dtype": "string", "_type": "Value"}},
  "splits": {"train": {"name": "train", "num_bytes": 100, "num_examples": 62135},
             "test": {"name": "test", "num_bytes": 10, "num_examples": 1000}}}}, "pending": [], "failed": [], "partial": false})";

// A FakeTransport the code under test owns, with the test keeping a view of its requests.
struct Fake {
  std::shared_ptr<FakeTransport> t = std::make_shared<FakeTransport>();
  HubOptions Options(std::string token = "") {
    HubOptions o;
    o.endpoint = "http://hub.test";
    o.datasets_server = "http://viewer.test";
    o.token = std::move(token);
    auto shared = t;
    // Each lookup makes its transport; all share one script and one request log.
    struct View final : net::Transport {
      std::shared_ptr<FakeTransport> f;
      net::Exchange Send(const net::HttpRequest& r) override { return f->Send(r); }
      net::Exchange Stream(const net::HttpRequest& r, const net::StreamHandler& h) override { return f->Stream(r, h); }
    };
    o.transport = [shared] {
      auto v = std::make_unique<View>();
      v->f = shared;
      return v;
    };
    return o;
  }
};

Spec DpoSpec() {
  Spec s;
  s.model.Set("acme/tiny-7b", Source::kSaid);
  s.dataset.Set("trl-lib/ultrafeedback_binarized", Source::kSaid);
  s.method.Set("dpo", Source::kSaid);
  REQUIRE(Complete(s).ok());
  return s;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string RepoPath(const char* rel) {
  return (stdfs::path(__FILE__).parent_path() / ".." / ".." / ".." / rel).lexically_normal().string();
}

}  // namespace

TEST_CASE("model found: the model API and config.json become a ModelInfo, exact URLs and limits") {
  Fake f;
  f.t->script.push_back(Reply(200, {}, kApi));
  f.t->script.push_back(Reply(200, {}, kConfig));
  auto r = LookupModel("acme/tiny-7b", f.Options("hf_secret"));
  REQUIRE(r.ok());
  REQUIRE(f.t->requests.size() == 2);
  CHECK(f.t->requests[0].url == "http://hub.test/api/models/acme/tiny-7b");
  CHECK(f.t->requests[1].url == "http://hub.test/acme/tiny-7b/resolve/main/config.json");
  CHECK(f.t->requests[0].method == "GET");
  CHECK(f.t->requests[0].connect_timeout_ms == 3000);
  CHECK(f.t->requests[0].timeout_ms == 10000);
  CHECK(f.t->Header(0, "Authorization") == "Bearer hf_secret");
  CHECK(f.t->Header(1, "Authorization") == "Bearer hf_secret");
  REQUIRE(r->model);
  const ModelInfo& m = *r->model;
  CHECK(m.id == "acme/tiny-7b");
  CHECK(m.params_b == doctest::Approx(7.241732096));
  CHECK(m.hidden == 4096);
  CHECK(m.layers == 32);
  CHECK(m.heads == 32);
  CHECK(m.kv_heads == 8);
  CHECK(m.head_dim == 128);
  CHECK(m.vocab == 32000);
  CHECK(m.intermediate == 14336);
  CHECK(m.max_context == 32768);
  CHECK_FALSE(m.tied_embeddings);
  CHECK(m.family == "mistral");
  CHECK(m.license == "apache-2.0");
  CHECK_FALSE(m.gated);
  CHECK(Contains(r->note, "7.24B parameters"));
  CHECK_FALSE(Contains(r->note, "hf_secret"));
  // Anonymous: no Authorization header at all.
  Fake g;
  g.t->script.push_back(Reply(200, {}, kApi));
  g.t->script.push_back(Reply(200, {}, kConfig));
  REQUIRE(LookupModel("acme/tiny-7b", g.Options()).ok());
  CHECK(g.t->Header(0, "Authorization").empty());
}

TEST_CASE("model not found: 404, or huggingface_hub's RepoNotFound 401 for anonymous callers, is a usage error") {
  for (auto reply : {Reply(404, {}, R"({"error":"Repository not found"})"),
                     Reply(401, {{"X-Error-Code", "RepoNotFound"}}, R"({"error":"Repository not found"})")}) {
    Fake f;
    f.t->script.push_back(reply);
    auto r = LookupModel("acme/nope", f.Options());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kUsage);
    CHECK(r.status().message().rfind("no model 'acme/nope' on the Hub (check the name, or --set model=...)", 0) == 0);
    CHECK(f.t->requests.size() == 1);
  }
}

TEST_CASE("gated model: config.json refused -> needs a token with access (exit 4), the token never shown") {
  Fake f;
  f.t->script.push_back(
      Reply(200, {}, R"({"id":"meta/gated-8b","gated":"manual","safetensors":{"total":8000000000}})"));
  f.t->script.push_back(Reply(403, {{"X-Error-Code", "GatedRepo"}}, "Access restricted"));
  auto r = LookupModel("meta/gated-8b", f.Options("hf_tok123"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK(Contains(r.status().message(), "needs a Hugging Face token with access"));
  CHECK_FALSE(Contains(r.status().message(), "hf_tok123"));
  Fake g;
  g.t->script.push_back(Reply(200, {}, R"({"id":"meta/gated-8b","gated":"auto"})"));
  g.t->script.push_back(Reply(401, {}, ""));
  auto a = LookupModel("meta/gated-8b", g.Options());
  REQUIRE_FALSE(a.ok());
  CHECK(a.status().code() == Code::kConflict);
  CHECK(Contains(a.status().message(), "export HF_TOKEN"));
}

TEST_CASE("config.json -> ModelInfo: text_config of multimodal models, defaults, bad fields") {
  auto m = ModelInfoFromHub("g/mm", R"({"gated":"manual"})",
                            R"({"model_type":"gemma3","text_config":{"model_type":"gemma3_text","hidden_size":2560,
                                "num_hidden_layers":34,"num_attention_heads":8,"num_key_value_heads":4,"head_dim":256,
                                "vocab_size":262208,"intermediate_size":10240}})");
  REQUIRE(m.ok());
  CHECK(m->hidden == 2560);
  CHECK(m->head_dim == 256);
  CHECK(m->gated);
  CHECK(m->tied_embeddings);  // transformers' default when the config is silent
  CHECK(m->params_b > 0);     // no safetensors: counted from the architecture
  auto no_kv = ModelInfoFromHub(
      "a/b", "{}", R"({"hidden_size":768,"num_hidden_layers":12,"num_attention_heads":12,"vocab_size":50257})");
  REQUIRE(no_kv.ok());
  CHECK(no_kv->kv_heads == 12);
  CHECK(no_kv->intermediate == 3072);
  auto missing = ModelInfoFromHub("a/b", "{}", R"({"hidden_size":768})");
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status().message(), "num_hidden_layers"));
  auto wrong = ModelInfoFromHub("a/b", "{}", R"({"hidden_size":"big","num_hidden_layers":12})");
  REQUIRE_FALSE(wrong.ok());
  CHECK(Contains(wrong.status().message(), "'hidden_size' is not a non-negative integer"));
  CHECK_FALSE(ModelInfoFromHub("a/b", "not json", "{}").ok());
  CHECK_FALSE(ModelInfoFromHub("a/b", "{}", "[1]").ok());
  CHECK_FALSE(ModelInfoFromHub("a/b", R"({"safetensors":{"total":-5}})", kConfig).ok());
}

TEST_CASE("dataset: columns fit the method, rows from the split, exact URL") {
  Fake f;
  f.t->script.push_back(Reply(200, {}, kInfo));
  auto r = LookupDataset(DpoSpec(), f.Options());
  REQUIRE(r.ok());
  REQUIRE(f.t->requests.size() == 1);
  CHECK(f.t->requests[0].url == "http://viewer.test/info?dataset=trl-lib%2Fultrafeedback_binarized");
  CHECK(r->rows == 62135);
  CHECK(r->config == "default");
  CHECK(Contains(r->note, "62135 rows"));
}

TEST_CASE("dataset: a missing column is a usage error naming the columns and the --set") {
  Spec s = DpoSpec();
  REQUIRE(ApplySet(s, "chosen_column=better").ok());
  Fake f;
  f.t->script.push_back(Reply(200, {}, kInfo));
  auto r = LookupDataset(s, f.Options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUsage);
  CHECK(Contains(r.status().message(), "no column 'better'"));
  CHECK(Contains(r.status().message(), "its columns: chosen, prompt, rejected"));
  CHECK(Contains(r.status().message(), "--set chosen_column=COLUMN"));

  DatasetConfigInfo chat{"default", {"messages"}, {{"train", 10}}};
  DatasetConfigInfo plain{"default", {"text", "id"}, {{"train", 10}}};
  DatasetConfigInfo pc{"default", {"prompt", "completion"}, {{"train", 10}}};
  DatasetConfigInfo other{"default", {"question", "answer"}, {{"train", 10}}};
  Spec sft;
  sft.model.Set("m", Source::kSaid);
  sft.dataset.Set("d/x", Source::kSaid);
  REQUIRE(Complete(sft).ok());
  CHECK(CheckColumns(sft, chat).ok());
  CHECK(CheckColumns(sft, plain).ok());
  CHECK(CheckColumns(sft, pc).ok());
  Status bad = CheckColumns(sft, other);
  CHECK(bad.code() == Code::kUsage);
  CHECK(Contains(bad.message(), "its columns: question, answer"));
  CHECK(Contains(bad.message(), "--set text_column=COLUMN"));
  REQUIRE(ApplySet(sft, "text_column=question").ok());
  CHECK(CheckColumns(sft, other).ok());

  Spec grpo = sft;
  grpo.method.Set("grpo", Source::kSaid);
  grpo.text_column = {};
  grpo.prompt_column.Set("prompt", Source::kDefault);
  CHECK(CheckColumns(grpo, pc).ok());
  CHECK(Contains(CheckColumns(grpo, other).message(), "--set prompt_column=COLUMN"));
  Spec kto = grpo;
  kto.method.Set("kto", Source::kSaid);
  CHECK(CheckColumns(kto, DatasetConfigInfo{"default", {"prompt", "completion", "label"}, {}}).ok());
  CHECK(CheckColumns(kto, DatasetConfigInfo{"default", {"prompt", "chosen", "rejected"}, {}}).ok());
  CHECK(CheckColumns(kto, pc).code() == Code::kUsage);
  Spec reward = grpo;
  reward.method.Set("reward", Source::kSaid);
  CHECK(CheckColumns(reward, DatasetConfigInfo{"default", {"chosen", "rejected"}, {}}).ok());
  CHECK(Contains(CheckColumns(reward, pc).message(), "--set chosen_column=COLUMN"));
}

TEST_CASE("dataset: a split that does not exist lists the splits") {
  Spec s = DpoSpec();
  REQUIRE(ApplySet(s, "split=validation").ok());
  Fake f;
  f.t->script.push_back(Reply(200, {}, kInfo));
  auto r = LookupDataset(s, f.Options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUsage);
  CHECK(Contains(r.status().message(), "has no split 'validation'; its splits: test, train"));
  CHECK(Contains(r.status().message(), "--set split=NAME"));
}

TEST_CASE("dataset: /info with one subset (config asked) parses; a 404 asks the Hub whether it exists") {
  auto one = ParseDatasetInfo(
      R"({"dataset_info":{"config_name":"SelfRC","features":{"plot":{}},"splits":{"train":{"num_examples":5}}}})");
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].config == "SelfRC");
  CHECK((*one)[0].splits.at("train") == 5);
  CHECK_FALSE(ParseDatasetInfo(R"({"error":"x"})").ok());
  CHECK_FALSE(ParseDatasetInfo(R"({"dataset_info":{"a":{"splits":{}}}})").ok());
  CHECK_FALSE(ParseDatasetInfo(R"({"dataset_info":{"a":3}})").ok());

  Fake f;  // no such dataset anywhere
  f.t->script.push_back(Reply(404, {}, R"({"error":"The dataset does not exist, or is not accessible"})"));
  f.t->script.push_back(Reply(404, {{"X-Error-Code", "RepoNotFound"}}, ""));
  auto r = LookupDataset(DpoSpec(), f.Options());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUsage);
  CHECK(Contains(r.status().message(), "no dataset 'trl-lib/ultrafeedback_binarized' on the Hub"));
  CHECK(f.t->requests[1].url == "http://hub.test/api/datasets/trl-lib/ultrafeedback_binarized");

  Fake g;  // exists, but the viewer has nothing on it: a note, not an error
  g.t->script.push_back(Reply(404, {}, R"({"error":"viewer disabled"})"));
  g.t->script.push_back(Reply(200, {}, R"({"id":"trl-lib/ultrafeedback_binarized"})"));
  auto n = LookupDataset(DpoSpec(), g.Options());
  REQUIRE(n.ok());
  CHECK(n->rows == 0);
  CHECK(Contains(n->note, "viewer disabled"));
}

TEST_CASE("unreachable: no answer or a 5xx is a note, not an error, one attempt only") {
  Fake f;
  f.t->script.push_back(NetError(false, "connection refused"));
  auto m = LookupModel("acme/tiny-7b", f.Options());
  REQUIRE(m.ok());
  CHECK_FALSE(m->model);
  CHECK(Contains(m->note, "Hub not reachable (connection refused, http://hub.test)"));
  CHECK(f.t->requests.size() == 1);
  Fake g;
  g.t->script.push_back(Reply(503, {}, "down"));
  auto d = LookupDataset(DpoSpec(), g.Options());
  REQUIRE(d.ok());
  CHECK(d->rows == 0);
  CHECK(Contains(d->note, "Hub not reachable (HTTP 503 from http://viewer.test)"));
  CHECK(g.t->requests.size() == 1);
}

TEST_CASE("offline: no request at all; HF_HUB_OFFLINE, HF_ENDPOINT, DSX_HF_DATASETS_SERVER and the token from env") {
  Fake f;
  HubOptions o = f.Options();
  o.offline = true;
  REQUIRE(LookupModel("acme/tiny-7b", o).ok());
  REQUIRE(LookupDataset(DpoSpec(), o).ok());
  CHECK(f.t->requests.empty());

  std::map<std::string, std::string> env{{"HF_HUB_OFFLINE", "true"},
                                         {"HF_ENDPOINT", "http://127.0.0.1:9/"},
                                         {"DSX_HF_DATASETS_SERVER", "http://127.0.0.1:8"},
                                         {"HF_TOKEN", " hf_abc\n"}};
  auto getenv = [&](const char* k) -> const char* {
    auto it = env.find(k);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  HubOptions e = HubOptionsFromEnv(getenv);
  CHECK(e.offline);
  CHECK(e.endpoint == "http://127.0.0.1:9");
  CHECK(e.datasets_server == "http://127.0.0.1:8");
  CHECK(e.token == "hf_abc");
  env = {};
  HubOptions d = HubOptionsFromEnv(getenv);
  CHECK_FALSE(d.offline);
  CHECK(d.endpoint == "https://huggingface.co");
  CHECK(d.datasets_server == "https://datasets-server.huggingface.co");
  CHECK(d.token.empty());
  // The token file: HF_TOKEN_PATH, then $HF_HOME/token.
  const stdfs::path dir = stdfs::temp_directory_path() / ("dsx-hub-token-" + std::to_string(::getpid()));
  stdfs::create_directories(dir);
  std::ofstream(dir / "token") << "hf_fromfile\n";
  env = {{"HF_HOME", dir.string()}};
  CHECK(HubToken(getenv) == "hf_fromfile");
  env = {{"HF_TOKEN_PATH", (dir / "token").string()}, {"HF_HOME", "/nonexistent"}};
  CHECK(HubToken(getenv) == "hf_fromfile");
  stdfs::remove_all(dir);
}

TEST_CASE("Prepare: a model not in the catalog is planned from the Hub, rows fill the plan; offline asks nothing") {
  Fake f;
  f.t->script.push_back(Reply(200, {}, kApi));
  f.t->script.push_back(Reply(200, {}, kConfig));
  f.t->script.push_back(Reply(200, {}, kInfo));
  SubmitInputs in;
  in.instruction = "dpo acme/tiny-7b on trl-lib/ultrafeedback_binarized with qlora";
  in.configs_dir = RepoPath("configs");
  in.templates_dir = RepoPath("skills/finetune/templates");
  in.transport = f.Options().transport;
  ::unsetenv("HF_HUB_OFFLINE");
  auto p = Prepare(in);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(f.t->requests.size() == 3);
  bool from_hub = false, size_unknown = false;
  for (const auto& n : p->plan.notes) {
    from_hub = from_hub || Contains(n, "from the Hub: 7.24B parameters");
    size_unknown = size_unknown || Contains(n, "dataset size unknown") || Contains(n, "rows unknown");
  }
  CHECK(from_hub);
  CHECK_FALSE(size_unknown);
  CHECK(p->plan.memory.weights_gb > 3);  // 7B in NF4: ~3.6+ GB

  Fake off;
  in.transport = off.Options().transport;
  in.offline = true;
  auto q = Prepare(in);
  REQUIRE_FALSE(q.ok());
  CHECK(q.status().code() == Code::kNotFound);  // the catalog does not know it, and nothing was asked
  CHECK(off.t->requests.empty());
}
