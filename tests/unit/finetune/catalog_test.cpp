// The shipped model and flavor catalogs load, every architecture matches its stated parameter
// count, aliases resolve (and only to one model), and a malformed file is refused with file:line.
#include "finetune/catalog.hpp"

#include <doctest/doctest.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ft = dsx::finetune;

namespace {

std::string ConfigsDir() {
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "configs").lexically_normal().string();
}

const ft::Catalog& Shipped() {
  static const ft::Catalog c = [] {
    auto r = ft::Catalog::Load(ConfigsDir());
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return *r;
  }();
  return c;
}

const char* kOneFlavor = R"(
[[flavor]]
name = "t4-small"
gpu = "t4"
gpus = 1
gpu_mem_gb = 16
usd_per_hour = 0.40
bf16_tflops_per_gpu = 65
bf16 = false
cpus = 4
ram_gb = 15
)";

const char* kOneModel = R"(
[[model]]
id = "Org/Tiny-1B"
family = "tiny"
params_b = 1.0
layers = 16
hidden = 2048
intermediate = 8192
heads = 32
kv_heads = 8
vocab = 128256
aliases = ["tiny one"]
)";

}  // namespace

TEST_CASE("the shipped catalogs load with the families the planner promises") {
  const auto& c = Shipped();
  CHECK(c.models().size() >= 50);
  for (const char* id : {"Qwen/Qwen2.5-0.5B-Instruct", "Qwen/Qwen2.5-72B", "Qwen/Qwen3-32B", "Qwen/Qwen3-0.6B-Base",
                         "meta-llama/Llama-3.1-70B-Instruct", "meta-llama/Llama-3.2-1B", "mistralai/Mistral-7B-v0.3",
                         "google/gemma-2-27b-it", "google/gemma-3-12b-pt", "microsoft/Phi-3.5-mini-instruct",
                         "HuggingFaceTB/SmolLM2-135M", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"}) {
    INFO(id);
    CHECK(c.Model(id) != nullptr);
  }
  const ft::ModelInfo* q = c.Model("Qwen/Qwen2.5-0.5B-Instruct");
  REQUIRE(q);
  CHECK(q->layers == 24);
  CHECK(q->hidden == 896);
  CHECK(q->intermediate == 4864);
  CHECK(q->heads == 14);
  CHECK(q->kv_heads == 2);
  CHECK(q->head_dim == 64);  // hidden / heads
  CHECK(q->tied_embeddings);
  CHECK(q->license == "apache-2.0");
  CHECK(c.Model("meta-llama/Llama-3.1-8B")->gated);
}

TEST_CASE("every model's parameter count agrees with its architecture within 2%") {
  // A mistyped hidden size or layer count moves the recomputed total far more than 2%.
  for (const auto& m : Shipped().models()) {
    double arch = ft::ArchitectureParamsB(m);
    INFO(m.id << ": stated " << m.params_b << "B, from the architecture " << arch << "B");
    CHECK(arch / m.params_b > 0.98);
    CHECK(arch / m.params_b < 1.02);
    CHECK(m.heads % m.kv_heads == 0);
    CHECK(m.head_dim > 0);
  }
}

TEST_CASE("aliases resolve whatever the case, spaces and dashes") {
  const auto& c = Shipped();
  CHECK(c.ResolveAlias("qwen2.5-0.5b-instruct") == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(c.ResolveAlias("Qwen 2.5 0.5B Instruct") == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(c.ResolveAlias("QWEN/QWEN2.5-0.5B-INSTRUCT") == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(c.ResolveAlias("qwen 2.5 0.5b") == "Qwen/Qwen2.5-0.5B");  // the name without a suffix is the base
  CHECK(c.ResolveAlias("llama-3.1-8b") == "meta-llama/Llama-3.1-8B");
  CHECK(c.ResolveAlias("llama 3.1 8b instruct") == "meta-llama/Llama-3.1-8B-Instruct");
  CHECK(c.ResolveAlias("meta-llama-3.1-8b-instruct") == "meta-llama/Llama-3.1-8B-Instruct");
  CHECK(c.ResolveAlias("mistral 7b") == "mistralai/Mistral-7B-v0.3");
  CHECK(c.ResolveAlias("gemma 2 9b it") == "google/gemma-2-9b-it");
  CHECK(c.ResolveAlias("gemma3-27b") == "google/gemma-3-27b-pt");
  CHECK(c.ResolveAlias("phi-3.5-mini") == "microsoft/Phi-3.5-mini-instruct");
  CHECK(c.ResolveAlias("smollm2_135m_instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct");
  CHECK(c.ResolveAlias("qwen3-8b") == "Qwen/Qwen3-8B");
  CHECK(c.ResolveAlias("r1-distill-qwen-1.5b") == "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B");
  CHECK_FALSE(c.ResolveAlias("qwen2.5-0.6b").has_value());
  CHECK_FALSE(c.ResolveAlias("").has_value());
  CHECK_FALSE(c.ResolveAlias("   ").has_value());
  CHECK(c.Model("not/a-model") == nullptr);
}

TEST_CASE("every alias is lower-case and the first one is the id's name part") {
  for (const auto& m : Shipped().models()) {
    REQUIRE(!m.aliases.empty());
    for (const auto& a : m.aliases) {
      INFO(m.id << " alias " << a);
      for (char ch : a) CHECK_FALSE((ch >= 'A' && ch <= 'Z'));
    }
  }
  CHECK(Shipped().Model("Qwen/Qwen2.5-7B")->aliases.front() == "qwen2.5-7b");
}

TEST_CASE("the flavors are the HF Jobs table: prices, memory, no H100") {
  const auto& c = Shipped();
  CHECK(c.flavors().size() == 26);
  struct Want {
    const char* name;
    int gpus;
    double mem, usd;
  };
  for (Want w : {Want{"t4-small", 1, 16, 0.40}, Want{"a10g-large", 1, 24, 1.50}, Want{"a10g-largex4", 4, 24, 5.00},
                 Want{"l40sx8", 8, 48, 23.50}, Want{"a100-large", 1, 80, 2.50}, Want{"h200", 1, 141, 5.00},
                 Want{"h200x8", 8, 141, 40.00}, Want{"rtx-pro-6000x2", 2, 96, 5.50}, Want{"cpu-basic", 0, 0, 0.01}}) {
    INFO(w.name);
    const ft::Flavor* f = c.FindFlavor(w.name);
    REQUIRE(f);
    CHECK(f->gpus == w.gpus);
    CHECK(f->gpu_mem_gb == doctest::Approx(w.mem));
    CHECK(f->usd_per_hour == doctest::Approx(w.usd));
  }
  CHECK(c.FindFlavor("h100") == nullptr);
  CHECK(c.FindFlavor("H200X2") != nullptr);
  CHECK_FALSE(c.FindFlavor("t4-small")->bf16);
  CHECK(c.FindFlavor("a100x8")->bf16_tflops_per_gpu == doctest::Approx(312));
  CHECK(c.slurm().default_gpu == "a100");
  REQUIRE(c.FindSlurmGpu("H100"));
  CHECK(c.FindSlurmGpu("h100")->gpu_mem_gb == doctest::Approx(80));
}

TEST_CASE("a malformed models.toml is refused with the file and line") {
  auto r = ft::Catalog::Parse("[[model]]\nid = \"A/B\"\nlayers = = 3\n", kOneFlavor, "models.toml", "flavors.toml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUsage);
  CHECK(r.status().message().rfind("models.toml:3:", 0) == 0);
}

TEST_CASE("a wrong field type or a missing field names the model, the field and the line") {
  std::string bad = kOneModel;
  bad.replace(bad.find("layers = 16"), 11, "layers = \"16\"");
  auto r = ft::Catalog::Parse(bad, kOneFlavor);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "models.toml:6: model 'Org/Tiny-1B': 'layers' must be a positive integer");

  std::string missing = kOneModel;
  missing.erase(missing.find("hidden = 2048\n"), 14);
  r = ft::Catalog::Parse(missing, kOneFlavor);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("'hidden' is missing") != std::string::npos);

  std::string gqa = kOneModel;
  gqa.replace(gqa.find("kv_heads = 8"), 12, "kv_heads = 5");
  r = ft::Catalog::Parse(gqa, kOneFlavor);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("not a multiple of kv_heads") != std::string::npos);
}

TEST_CASE("a malformed flavors.toml is refused with the file and line") {
  std::string bad = kOneFlavor;
  bad.replace(bad.find("usd_per_hour = 0.40"), 19, "usd_per_hour = -1");
  auto r = ft::Catalog::Parse(kOneModel, bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "flavors.toml:7: flavor 't4-small': 'usd_per_hour' must be a positive number");

  r = ft::Catalog::Parse(kOneModel, std::string(kOneFlavor) + "\n[slurm]\ndefault_gpu = \"x9\"\n");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("default_gpu 'x9' has no [[slurm.gpu]] entry") != std::string::npos);

  r = ft::Catalog::Parse(kOneModel, std::string(kOneFlavor) + kOneFlavor);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("appears twice") != std::string::npos);
}

TEST_CASE("an alias that would name two models is refused at load") {
  std::string two = std::string(kOneModel) + R"(
[[model]]
id = "Other/Tiny-One"
family = "tiny"
params_b = 1.0
layers = 16
hidden = 2048
intermediate = 8192
heads = 32
kv_heads = 8
vocab = 128256
)";
  auto r = ft::Catalog::Parse(two, kOneFlavor);  // "tiny one" folds to "tinyone" == "Tiny-One"
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("also names") != std::string::npos);
}

TEST_CASE("Load: a missing folder is kNotFound; DSX_CONFIGS_DIR wins") {
  auto r = ft::Catalog::Load("/nonexistent/dsx-configs");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kNotFound);
  CHECK(r.status().message().find("/nonexistent/dsx-configs/models.toml") != std::string::npos);

  setenv("DSX_CONFIGS_DIR", "/some/where", 1);
  CHECK(ft::DefaultConfigsDir() == "/some/where");
  unsetenv("DSX_CONFIGS_DIR");
  CHECK_FALSE(ft::DefaultConfigsDir().empty());
}
