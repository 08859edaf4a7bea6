// The submit pipeline (Prepare): the documented example end to end against the shipped configs
// and templates, each step's refusal with its exit code and hint, the --llm hook, a template
// that names an argument TRL lacks, the --json document and the dry run's saved script.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/fs.hpp"
#include "finetune/submit.hpp"

using namespace dsx;
using namespace dsx::finetune;
namespace stdfs = std::filesystem;

namespace {

const char* kExample =
    "fine-tune Qwen2.5-0.5B-Instruct on trl-lib/Capybara with LoRA for 2 epochs, push to my-org/qwen-capy";

std::string RepoPath(const char* rel) {
  return (stdfs::path(__FILE__).parent_path() / ".." / ".." / ".." / rel).lexically_normal().string();
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

SubmitInputs Inputs(const std::string& instruction, const std::string& backend = "hf") {
  SubmitInputs in;
  in.instruction = instruction;
  in.backend = backend;
  in.configs_dir = RepoPath("configs");
  in.templates_dir = RepoPath("skills/finetune/templates");
  return in;
}

struct TempDir {
  stdfs::path path;
  TempDir() {
    path = stdfs::temp_directory_path() / ("dsx-submit-test-" + std::to_string(::getpid()) + "-" +
                                           std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    stdfs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("the documented example: spec, plan, script and request all agree, and the renderer sees the request") {
  SubmitInputs in = Inputs(kExample);
  jobs::JobRequest seen;
  in.render = [&](const jobs::JobRequest& r) -> Result<std::string> {
    seen = r;
    return std::string("POST /api/jobs/me\n");
  };
  auto p = Prepare(in);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(*p->spec.model.value == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(p->spec.model.source == Source::kSaid);
  CHECK(*p->spec.dataset.value == "trl-lib/Capybara");
  CHECK(*p->spec.adapter.value == "lora");
  CHECK(*p->spec.epochs.value == doctest::Approx(2.0));
  CHECK(*p->spec.output_repo.value == "my-org/qwen-capy");
  CHECK(*p->spec.method.value == "sft");
  CHECK(p->spec.method.source == Source::kDefault);
  CHECK(p->backend == "hf");
  CHECK_FALSE(p->plan.flavor.empty());
  CHECK(p->plan.cost_usd > 0);
  CHECK(p->plan.hours > 0);
  CHECK(Contains(p->script, "hub_model_id=OUTPUT_REPO"));
  CHECK(Contains(p->script, "OUTPUT_REPO = \"my-org/qwen-capy\""));
  CHECK(Contains(p->script, "num_train_epochs=2.0"));
  CHECK(p->request.kind == "finetune");
  CHECK(p->request.backend == "hf");
  CHECK(p->request.resources.flavor == p->plan.flavor);
  CHECK(p->request.files.at("train.py") == p->script);
  CHECK(p->request.timeout_s >= 1800);
  CHECK(p->rendered == "POST /api/jobs/me\n");
  CHECK(seen.files.at("train.py") == p->script);  // the renderer got exactly the request
}

TEST_CASE("the --json document has the documented fields, job null on a dry run") {
  auto p = Prepare(Inputs(kExample));
  REQUIRE(p.ok());
  nlohmann::json doc = ToJson(*p, "/tmp/x.py", nullptr);
  CHECK(doc["spec"]["model"]["value"] == "Qwen/Qwen2.5-0.5B-Instruct");
  CHECK(doc["spec"]["model"]["source"] == "said");
  for (const char* key : {"model", "dataset", "method", "adapter", "epochs", "learning_rate", "output_repo"})
    CHECK_MESSAGE(doc["spec"].contains(key), key);
  CHECK(doc["plan"]["flavor"].is_string());
  CHECK(doc["plan"]["cost_usd"].is_number());
  CHECK(doc["plan"]["hours"].is_number());
  CHECK(doc["backend"] == "hf");
  CHECK(doc["script_path"] == "/tmp/x.py");
  CHECK(doc["script"] == p->script);
  CHECK(doc["job"].is_null());
  CHECK(doc["job_request"]["kind"] == "finetune");
  CHECK(doc["job_request"]["files"] == nlohmann::json::array({"train.py"}));  // the script once, not twice
}

TEST_CASE("incomplete, contradictory and impossible requests are usage errors that say what to add") {
  auto no_data = Prepare(Inputs("fine-tune Qwen2.5-0.5B-Instruct"));
  REQUIRE_FALSE(no_data.ok());
  CHECK(no_data.status().code() == Code::kUsage);
  CHECK(Contains(no_data.status().message(), "dataset"));

  auto both = Prepare(Inputs("sft qwen2.5-0.5b-instruct on trl-lib/Capybara for 2 epochs and 100 steps"));
  REQUIRE_FALSE(both.ok());
  CHECK(both.status().code() == Code::kUsage);

  SubmitInputs bad_set = Inputs(kExample);
  bad_set.sets = {"lora_rank=lots"};
  auto s = Prepare(bad_set);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == Code::kUsage);
  CHECK(Contains(s.status().message(), "lora_rank"));

  SubmitInputs bad_cost = Inputs(kExample);
  bad_cost.max_cost_usd = -1;
  auto c = Prepare(bad_cost);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kUsage);

  auto backend = Prepare(Inputs(kExample, "lambda"));
  REQUIRE_FALSE(backend.ok());
  CHECK(backend.status().code() == Code::kUsage);
  CHECK(Contains(backend.status().message(), "--backend hf, slurm or local"));
}

TEST_CASE("words the parser did not understand: an error without --llm, the LLM's fields with it") {
  auto plain = Prepare(Inputs(std::string(kExample) + " zorblax"));
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.status().code() == Code::kUsage);
  CHECK(Contains(plain.status().message(), "did not understand 'zorblax'"));
  CHECK(Contains(plain.status().message(), "--llm PROVIDER"));

  // --llm: the words, the instruction and what was understood go to the model; its JSON reply
  // fills the empty fields only (source llm).
  SubmitInputs in = Inputs(std::string(kExample) + " zorblax");
  std::string asked;
  in.llm_chat = [&](const llm::ChatRequest& req) -> Result<llm::ChatReply> {
    for (const auto& m : req.messages) asked += m.content;
    llm::ChatReply reply;
    reply.text = R"({"lora_rank": 64, "model": "meta-llama/Llama-3.1-8B"})";
    return reply;
  };
  auto p = Prepare(in);
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  CHECK(Contains(asked, "zorblax"));
  CHECK(*p->spec.lora_rank.value == 64);
  CHECK(p->spec.lora_rank.source == Source::kLlm);
  CHECK(*p->spec.model.value == "Qwen/Qwen2.5-0.5B-Instruct");  // said in the text: never overridden
  CHECK(Contains(p->script, "r=64,"));
  CHECK(p->unparsed == std::vector<std::string>{"zorblax"});
  CHECK(p->llm_filled == std::vector<std::string>{"lora_rank"});
  nlohmann::json doc = ToJson(*p, "", nullptr);
  CHECK(doc["spec"]["lora_rank"]["source"] == "llm");
  CHECK(doc["llm_filled"] == nlohmann::json::array({"lora_rank"}));

  // Nothing left for the LLM: it is not asked.
  SubmitInputs clean = Inputs(kExample);
  bool called = false;
  clean.llm_chat = [&](const llm::ChatRequest&) -> Result<llm::ChatReply> {
    called = true;
    return llm::ChatReply{};
  };
  REQUIRE(Prepare(clean).ok());
  CHECK_FALSE(called);

  // The provider's failure is the submit's, with its code; a reply off the schema fills nothing.
  in.llm_chat = [](const llm::ChatRequest&) -> Result<llm::ChatReply> { return Status::Unavailable("provider down"); };
  auto down = Prepare(in);
  REQUIRE_FALSE(down.ok());
  CHECK(down.status().code() == Code::kUnavailable);
  in.llm_chat = [](const llm::ChatRequest&) -> Result<llm::ChatReply> {
    llm::ChatReply reply;
    reply.text = R"({"lora_rank": "lots"})";
    return reply;
  };
  auto off = Prepare(in);
  REQUIRE_FALSE(off.ok());
  CHECK(off.status().code() == Code::kFailed);
}

TEST_CASE("--set overrides the instruction; --max-cost below the plan's cost is refused with the cost") {
  SubmitInputs in = Inputs(kExample);
  in.sets = {"lora_rank=32", "learning_rate=1e-4"};
  auto p = Prepare(in);
  REQUIRE(p.ok());
  CHECK(*p->spec.lora_rank.value == 32);
  CHECK(p->spec.lora_rank.source == Source::kSaid);
  CHECK(Contains(p->script, "r=32,"));
  CHECK(Contains(p->script, "learning_rate=0.0001,"));

  SubmitInputs cheap = Inputs(kExample);
  cheap.max_cost_usd = 0.001;
  auto c = Prepare(cheap);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kConflict);
  CHECK(Contains(c.status().message(), "--max-cost"));
}

TEST_CASE("local and slurm plans cost nothing; slurm asks for the plan's GPUs") {
  auto local = Prepare(Inputs(kExample, "local"));
  REQUIRE_MESSAGE(local.ok(), local.status().message());
  CHECK(local->plan.cost_usd == 0);
  CHECK(local->request.backend == "local");
  CHECK(local->request.command == std::vector<std::string>{"uv", "run", "{jobdir}/train.py"});
  auto slurm = Prepare(Inputs(kExample, "slurm"));
  REQUIRE_MESSAGE(slurm.ok(), slurm.status().message());
  CHECK(slurm->plan.cost_usd == 0);
  CHECK(slurm->request.resources.gpus >= 1);
}

TEST_CASE("a template naming an argument TRL does not have is refused before anything is sent") {
  TempDir dir;
  for (const auto& e : stdfs::directory_iterator(RepoPath("skills/finetune/templates")))
    stdfs::copy_file(e.path(), dir.path / e.path().filename());
  auto text = fs::ReadFile(dir.path / "sft.py");
  REQUIRE(text.ok());
  std::string bad = *text;
  auto at = bad.find("    max_length={{max_length}},");
  REQUIRE(at != std::string::npos);
  bad.replace(at, std::string("    max_length={{max_length}},").size(), "    max_seq_length={{max_length}},");
  REQUIRE(fs::AtomicWriteFile(dir.path / "sft.py", bad).ok());
  SubmitInputs in = Inputs(kExample);
  in.templates_dir = dir.path.string();
  bool rendered = false;
  in.render = [&](const jobs::JobRequest&) -> Result<std::string> {
    rendered = true;
    return std::string();
  };
  auto p = Prepare(in);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Code::kFailed);
  CHECK(Contains(p.status().message(), "SFTConfig has no argument 'max_seq_length'"));
  CHECK(Contains(p.status().message(), "use max_length"));
  CHECK_FALSE(rendered);
}

TEST_CASE("a renderer's refusal is the pipeline's error") {
  SubmitInputs in = Inputs(kExample);
  in.render = [](const jobs::JobRequest&) -> Result<std::string> { return Status::Usage("no flavor 'x'"); };
  auto p = Prepare(in);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message() == "no flavor 'x'");
}

TEST_CASE("SaveScript writes the dry run's script under a name that changes with its content") {
  TempDir dir;
  auto p = Prepare(Inputs(kExample));
  REQUIRE(p.ok());
  auto path = SaveScript(*p, (dir.path / "sub").string());
  REQUIRE(path.ok());
  CHECK(Contains(*path, "sft-qwen2.5-0.5b-instruct-capybara-"));
  auto back = fs::ReadFile(*path);
  REQUIRE(back.ok());
  CHECK(*back == p->script);
  auto again = SaveScript(*p, (dir.path / "sub").string());
  REQUIRE(again.ok());
  CHECK(*again == *path);
  Prepared other = *p;
  other.script += "# changed\n";
  auto changed = SaveScript(other, (dir.path / "sub").string());
  REQUIRE(changed.ok());
  CHECK(*changed != *path);
}

TEST_CASE("nvidia-smi's GPU list: count, the smallest GPU's memory in GB, the first name; junk is an error") {
  auto two = ParseNvidiaSmi("NVIDIA H100 80GB HBM3, 81559\nNVIDIA A10G, 23028\n");
  REQUIRE(two.ok());
  CHECK(two->count == 2);
  CHECK(two->name == "NVIDIA H100 80GB HBM3");
  CHECK(two->mem_gb == doctest::Approx(23028 * 1048576.0 / 1e9));
  auto none = ParseNvidiaSmi("");
  REQUIRE(none.ok());
  CHECK(none->count == 0);
  auto junk = ParseNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\n");
  REQUIRE_FALSE(junk.ok());
  CHECK(Contains(junk.status().message(), "line 1"));
}

TEST_CASE("local plans use this machine's GPUs: a run that does not fit them is refused") {
  SubmitInputs in = Inputs(kExample, "local");
  in.local_gpus = [] { return LocalGpus{1, 24.0, "NVIDIA A10G"}; };
  auto fits = Prepare(in);
  REQUIRE_MESSAGE(fits.ok(), fits.status().message());
  bool noted = false;
  for (const auto& n : fits->notes) noted = noted || Contains(n, "this machine: 1 x NVIDIA A10G");
  CHECK(noted);
  for (const auto& n : fits->plan.notes) CHECK_FALSE(Contains(n, "memory unknown"));
  CHECK(fits->plan.gpu == "a10g");
  CHECK(Contains(fits->script, "bf16=True"));
  // A T4 has no bf16: the script trains in fp16 there.
  in.local_gpus = [] { return LocalGpus{1, 15.8, "Tesla T4"}; };
  in.sets = {"batch_size=1"};  // the example's activations need ~13 GB at batch 4
  auto t4 = Prepare(in);
  REQUIRE_MESSAGE(t4.ok(), t4.status().message());
  CHECK(t4->plan.gpu == "t4");
  CHECK(Contains(t4->script, "fp16=True"));
  CHECK(Contains(t4->script, "bf16=False"));
  in.local_gpus = [] { return LocalGpus{1, 2.0, "Tiny"}; };
  in.sets.clear();
  auto tiny = Prepare(in);
  REQUIRE_FALSE(tiny.ok());
  CHECK(tiny.status().code() == Code::kConflict);
  CHECK(Contains(tiny.status().message(), "does not fit this machine"));
}
