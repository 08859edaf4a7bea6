// Script generation: the template syntax, every method x adapter rendered from the shipped
// templates with no hole left, every Config(...) keyword checked against configs/trl_args.toml
// (and a wrong one caught), and the job request per backend.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>

#include "core/fs.hpp"
#include "finetune/script.hpp"

using namespace dsx;
using namespace dsx::finetune;

namespace {

std::string RepoPath(const char* rel) {
  return (std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / rel).lexically_normal().string();
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Partials from a map, cited as "_<name>.py" like the files PartialsIn reads.
PartialLoader MapPartials(std::map<std::string, std::string> texts) {
  return [texts = std::move(texts)](const std::string& name) -> Result<Partial> {
    auto it = texts.find(name);
    if (it == texts.end()) return Status::NotFound("no partial '" + name + "' (_" + name + ".py)");
    return Partial{it->second, "_" + name + ".py"};
  };
}

Spec MakeSpec(const std::string& method, const std::string& adapter) {
  Spec s;
  s.model.Set("Qwen/Qwen2.5-0.5B-Instruct", Source::kSaid);
  s.dataset.Set("trl-lib/Capybara", Source::kSaid);
  s.split.Set("train", Source::kDefault);
  s.method.Set(method, Source::kSaid);
  s.adapter.Set(adapter, Source::kSaid);
  if (adapter != "full") s.lora_rank.Set(16, Source::kDefault);
  s.epochs.Set(2, Source::kSaid);
  s.learning_rate.Set(2e-4, Source::kDefault);
  s.batch_size.Set(4, Source::kDefault);
  s.grad_accum.Set(4, Source::kDefault);
  s.seq_len.Set(1024, Source::kDefault);
  s.output_repo.Set("my-org/qwen-capy", Source::kSaid);
  s.tracker.Set("trackio", Source::kSaid);
  return s;
}

Plan MakePlan(const std::string& flavor = "a10g-large", const std::string& gpu = "a10g", int gpus = 1) {
  Plan p;
  p.backend = "hf";
  p.flavor = flavor;
  p.gpu = gpu;
  p.gpus = gpus;
  p.hours = 2.0;
  p.cost_usd = 3.0;
  p.steps = 1000;
  p.total_tokens = 1000000;
  return p;
}

const TrlArgs& ShippedArgs() {
  static TrlArgs args = [] {
    auto r = LoadTrlArgs(RepoPath("configs/trl_args.toml"));
    REQUIRE_MESSAGE(r.ok(), r.status().message());
    return *r;
  }();
  return args;
}

}  // namespace

TEST_CASE("RenderTemplate fills placeholders and keeps a section only when its flag is on") {
  TemplateValues tv;
  tv.values["model"] = PyString("Qwen/Q");
  tv.values["r"] = "16";
  tv.flags["lora"] = true;
  tv.flags["qlora"] = false;
  auto out = RenderTemplate("m = {{model}}\n{{#lora}}\nr = {{r}}\n{{#qlora}}\nq = 1\n{{/qlora}}\n{{/lora}}\nend\n", tv);
  REQUIRE(out.ok());
  CHECK(*out == "m = \"Qwen/Q\"\nr = 16\nend\n");
}

TEST_CASE("RenderTemplate refuses holes: unknown names, unknown or unbalanced sections, stray marks") {
  TemplateValues tv;
  tv.values["a"] = "1";
  tv.flags["on"] = true;
  tv.flags["off"] = false;
  auto unknown = RenderTemplate("x = {{b}}\n", tv, "t.py");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == Code::kUsage);
  CHECK(Contains(unknown.status().message(), "t.py:1: unknown placeholder '{{b}}'"));
  // A typo inside a section that is off is still a typo.
  auto hidden = RenderTemplate("{{#off}}\nx = {{typo}}\n{{/off}}\n", tv, "t.py");
  REQUIRE_FALSE(hidden.ok());
  CHECK(Contains(hidden.status().message(), "t.py:2: unknown placeholder"));
  auto section = RenderTemplate("{{#nope}}\n{{/nope}}\n", tv, "t.py");
  REQUIRE_FALSE(section.ok());
  CHECK(Contains(section.status().message(), "unknown section 'nope'"));
  auto unclosed = RenderTemplate("{{#on}}\nx\n", tv, "t.py");
  REQUIRE_FALSE(unclosed.ok());
  CHECK(Contains(unclosed.status().message(), "t.py:1: section 'on' is never closed"));
  auto crossed = RenderTemplate("{{#on}}\n{{#off}}\n{{/on}}\n{{/off}}\n", tv, "t.py");
  REQUIRE_FALSE(crossed.ok());
  CHECK(Contains(crossed.status().message(), "t.py:3: '{{/on}}' closes 'off'"));
  auto stray = RenderTemplate("d = {{ {'a': 1} }}\n", tv, "t.py");
  REQUIRE_FALSE(stray.ok());
  CHECK(Contains(stray.status().message(), "stray '{{'"));
}

TEST_CASE("partials: {{>name}} is replaced by the partial rendered with the same values and flags, nested too") {
  TemplateValues tv;
  tv.values["r"] = "16";
  tv.flags["lora"] = true;
  tv.flags["qlora"] = false;
  auto partials = MapPartials({{"head", "import os\n{{>inner}}\n"},
                               {"inner", "r = {{r}}\n{{#qlora}}\nq = 1\n{{/qlora}}\n"},
                               {"adapter", "peft = {{r}}\n"},
                               {"quant", "bnb = 1\n"}});
  auto out =
      RenderTemplate("{{>head}}\n{{#lora}}\n  {{>adapter}}\n{{/lora}}\n{{#qlora}}\n{{>quant}}\n{{/qlora}}\nend\n", tv,
                     "t.py", partials);
  REQUIRE_MESSAGE(out.ok(), out.status().message());
  CHECK(*out == "import os\nr = 16\npeft = 16\nend\n");
  // A {{! note }} line is for the template's reader: not rendered, even with braces or marks inside.
  auto noted = RenderTemplate("{{! {{r}} and {{>x}} are not read here }}\na = {{r}}\n", tv, "t.py");
  REQUIRE_MESSAGE(noted.ok(), noted.status().message());
  CHECK(*noted == "a = 16\n");
  // A partial without a final newline still ends its line; a template's last line may include one.
  auto bare = RenderTemplate("a\n{{>x}}\nb\n{{>x}}", tv, "t.py", MapPartials({{"x", "x = 1"}}));
  REQUIRE(bare.ok());
  CHECK(*bare == "a\nx = 1\nb\nx = 1");
}

TEST_CASE("partials: missing, cyclic, too deep, broken inside or unavailable are errors naming file and line") {
  TemplateValues tv;
  tv.values["a"] = "1";
  tv.flags["off"] = false;
  auto missing = RenderTemplate("x = 1\n{{>nope}}\n", tv, "t.py", MapPartials({}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kUsage);
  CHECK(Contains(missing.status().message(), "t.py:2: no partial 'nope' (_nope.py)"));
  // Checked even inside a section that is off, like placeholders.
  auto hidden = RenderTemplate("{{#off}}\n{{>nope}}\n{{/off}}\n", tv, "t.py", MapPartials({}));
  REQUIRE_FALSE(hidden.ok());
  CHECK(Contains(hidden.status().message(), "t.py:2: no partial 'nope'"));

  auto self = RenderTemplate("{{>a}}\n", tv, "t.py", MapPartials({{"a", "x\n{{>a}}\n"}}));
  REQUIRE_FALSE(self.ok());
  CHECK(Contains(self.status().message(), "_a.py:2: partial 'a' includes itself (a -> a)"));
  auto cycle = RenderTemplate("{{>a}}\n", tv, "t.py", MapPartials({{"a", "{{>b}}\n"}, {"b", "y\n{{>a}}\n"}}));
  REQUIRE_FALSE(cycle.ok());
  CHECK(Contains(cycle.status().message(), "_b.py:2: partial 'a' includes itself (a -> b -> a)"));
  CHECK(Contains(cycle.status().message(), "(included from _a.py:1)"));
  CHECK(Contains(cycle.status().message(), "(included from t.py:1)"));
  // The same partial twice in a row is not a cycle.
  auto twice = RenderTemplate("{{>a}}\n{{>a}}\n", tv, "t.py", MapPartials({{"a", "{{a}}\n"}}));
  REQUIRE(twice.ok());
  CHECK(*twice == "1\n1\n");

  std::map<std::string, std::string> chain;
  for (int i = 0; i < 12; ++i) {
    std::string next = std::to_string(i + 1);  // (built in steps: GCC 12 warns falsely on "lit" + to_string)
    chain[std::string("p").append(std::to_string(i))] = std::string("{{>p").append(next).append("}}\n");
  }
  chain["p12"] = "end\n";
  auto deep = RenderTemplate("{{>p0}}\n", tv, "t.py", MapPartials(chain));
  REQUIRE_FALSE(deep.ok());
  CHECK(Contains(deep.status().message(), "nested deeper than"));

  auto broken = RenderTemplate("a\n{{>p}}\n", tv, "t.py", MapPartials({{"p", "ok\nx = {{typo}}\n"}}));
  REQUIRE_FALSE(broken.ok());
  CHECK(Contains(broken.status().message(), "_p.py:2: unknown placeholder '{{typo}}' (included from t.py:2)"));
  auto open = RenderTemplate("{{>p}}\n{{/off}}\n", tv, "t.py", MapPartials({{"p", "{{#off}}\n"}}));
  REQUIRE_FALSE(open.ok());  // a section opened in a partial must close there
  CHECK(Contains(open.status().message(), "_p.py:1: section 'off' is never closed"));

  auto none = RenderTemplate("{{>p}}\n", tv, "t.py");
  REQUIRE_FALSE(none.ok());
  CHECK(Contains(none.status().message(), "t.py:1: partial 'p' but no partials folder here"));
}

TEST_CASE("PartialsIn reads <dir>/_name.py; the shipped templates share their common blocks through partials") {
  const std::string dir = RepoPath("skills/finetune/templates");
  auto resume = PartialsIn(dir)("resume_and_load");
  REQUIRE_MESSAGE(resume.ok(), resume.status().message());
  CHECK(Contains(resume->text, "def last_checkpoint():"));
  CHECK(Contains(resume->where, "_resume_and_load.py"));
  auto missing = PartialsIn(dir)("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(Contains(missing.status().message(), "_nope.py"));
  // The resume logic is written once: no method template carries its own copy.
  for (const char* method : {"sft", "dpo", "grpo", "kto", "reward"}) {
    CAPTURE(method);
    auto text = fs::ReadFile(std::filesystem::path(dir) / (std::string(method) + ".py"));
    REQUIRE(text.ok());
    CHECK(Contains(*text, "{{>resume_and_load}}"));
    CHECK_FALSE(Contains(*text, "def last_checkpoint"));
    auto script = RenderScript(MakeSpec(method, "lora"), MakePlan(), dir);
    REQUIRE_MESSAGE(script.ok(), script.status().message());
    CHECK(Contains(*script, "def last_checkpoint():"));
    CHECK_FALSE(Contains(*script, "{{"));
  }
}

TEST_CASE("Python literals: strings escape quotes, backslashes and controls; floats read back as floats") {
  CHECK(PyString("my-org/qwen") == "\"my-org/qwen\"");
  CHECK(PyString("a\"b\\c\nd") == "\"a\\\"b\\\\c\\nd\"");
  CHECK(PyString(std::string("x\x01y", 3)) == "\"x\\x01y\"");
  CHECK(PyFloat(2e-5) == "2e-05");
  CHECK(PyFloat(2) == "2.0");
  CHECK(PyFloat(0.5) == "0.5");
  CHECK(PyBool(true) == "True");
}

TEST_CASE("every method x adapter renders from the shipped templates, and every Config keyword exists in TRL") {
  const std::string dir = RepoPath("skills/finetune/templates");
  for (const char* method : {"sft", "dpo", "grpo", "kto", "reward"}) {
    for (const char* adapter : {"full", "lora", "qlora"}) {
      CAPTURE(method);
      CAPTURE(adapter);
      auto script = RenderScript(MakeSpec(method, adapter), MakePlan(), dir);
      REQUIRE_MESSAGE(script.ok(), script.status().message());
      CHECK_FALSE(Contains(*script, "{{"));
      CHECK(Contains(*script, "# /// script"));
      CHECK(Contains(*script, "MODEL = \"Qwen/Qwen2.5-0.5B-Instruct\""));
      CHECK(Contains(*script, "hub_strategy=\"checkpoint\""));
      CHECK(Contains(*script, "push_to_hub=True"));
      CHECK(Contains(*script, "report_to=\"trackio\""));
      CHECK(Contains(*script, "#     \"trackio\","));
      CHECK(Contains(*script, "trackio_space_id=os.environ.get(\"TRACKIO_SPACE_ID\""));
      CHECK(Contains(*script, "trainer.train(resume_from_checkpoint=resume)"));
      CHECK(Contains(*script, "LoraConfig(") == (std::string(adapter) != "full"));
      CHECK(Contains(*script, "bnb_4bit_quant_type=\"nf4\"") == (std::string(adapter) == "qlora"));
      CHECK(Contains(*script, "\"bitsandbytes") == (std::string(adapter) == "qlora"));
      auto keywords = ConfigKeywords(*script);
      CHECK(keywords.size() >= 15);
      auto problems = CheckConfigKeywords(*script, ShippedArgs());
      std::string all;
      for (const auto& p : problems) all += p + "\n";
      CHECK_MESSAGE(problems.empty(), all);
    }
  }
}

TEST_CASE("the reward model's adapter is a sequence-classification LoRA; GRPO gets its reward functions") {
  const std::string dir = RepoPath("skills/finetune/templates");
  auto reward = RenderScript(MakeSpec("reward", "lora"), MakePlan(), dir);
  REQUIRE(reward.ok());
  CHECK(Contains(*reward, "task_type=\"SEQ_CLS\""));
  auto grpo = RenderScript(MakeSpec("grpo", "lora"), MakePlan(), dir);
  REQUIRE(grpo.ok());
  CHECK(Contains(*grpo, "reward_funcs=reward_funcs"));
  // batch 4 x accumulation 4 on one GPU: a generation batch of 16, groups of 8.
  CHECK(Contains(*grpo, "num_generations=8"));
  CHECK(Contains(*grpo, "generation_batch_size=16"));
  CHECK(Contains(*grpo, "max_completion_length=512"));
}

TEST_CASE("GRPO with an odd generation batch doubles it so that a group of 2 divides it") {
  Spec s = MakeSpec("grpo", "lora");
  s.batch_size.Set(1, Source::kSaid);
  s.grad_accum.Set(1, Source::kSaid);
  auto tv = ScriptValues(s, MakePlan());
  CHECK(tv.values["num_generations"] == "2");
  CHECK(tv.values["generation_batch_size"] == "2");
}

TEST_CASE("script values: fp16 on GPUs without bf16, max_steps when said, no push without an output repo") {
  Spec s = MakeSpec("sft", "lora");
  s.output_repo = {};
  s.max_steps.Set(300, Source::kSaid);
  s.tracker = {};
  auto tv = ScriptValues(s, MakePlan("t4-small", "t4"));
  CHECK(tv.values["bf16"] == "False");
  CHECK(tv.values["fp16"] == "True");
  CHECK(tv.values["dtype_name"] == "float16");
  CHECK(tv.values["max_steps"] == "300");
  CHECK(tv.values["push_to_hub"] == "False");
  CHECK(tv.values["output_repo"] == "None");
  CHECK(tv.values["report_to"] == "\"none\"");
  CHECK_FALSE(tv.flags["push"]);
  CHECK_FALSE(tv.flags["trackio"]);
  // Save ~10 times per run, within [10, 500] steps.
  CHECK(tv.values["save_steps"] == "100");
  auto a100 = ScriptValues(MakeSpec("sft", "full"), MakePlan("a100x4", "a100", 4));
  CHECK(a100.values["bf16"] == "True");
  CHECK(a100.values["fsdp"] == "\"full_shard auto_wrap\"");
  CHECK(a100.flags["multi_gpu"]);
  CHECK(a100.values["num_gpus"] == "4");
  auto lora4 = ScriptValues(MakeSpec("sft", "lora"), MakePlan("a100x4", "a100", 4));
  CHECK(lora4.values["fsdp"] == "\"\"");  // adapters replicate (DDP)
}

TEST_CASE("a wrong or renamed keyword is caught with its line and what to write instead") {
  const std::string script =
      "from trl import SFTConfig\n"
      "args = SFTConfig(\n"
      "    output_dir=\"o\",\n"
      "    max_seq_length=512,  # renamed in TRL 0.20\n"
      "    model_init_kwargs={\"dtype\": \"bfloat16\", \"not_an_arg\": 1},\n"
      "    leraning_rate=1e-4,\n"
      "    x=f(a=1),\n"
      ")\n"
      "cfg = FooConfig(a=1)\n"
      "ok = x == y\n";
  auto kws = ConfigKeywords(script);
  REQUIRE(kws.size() == 6);
  CHECK(kws[0].keyword == "output_dir");
  CHECK(kws[1].keyword == "max_seq_length");
  CHECK(kws[1].line == 4);
  CHECK(kws[2].keyword == "model_init_kwargs");  // the dict's keys are not SFTConfig's arguments
  CHECK(kws[3].keyword == "leraning_rate");
  CHECK(kws[4].keyword == "x");  // f(a=1)'s a is not
  CHECK(kws[5].config == "FooConfig");
  auto problems = CheckConfigKeywords(script, ShippedArgs());
  REQUIRE(problems.size() == 4);
  CHECK(Contains(problems[0], "line 4: SFTConfig has no argument 'max_seq_length' (trl 1.9.0): use max_length"));
  CHECK(Contains(problems[1], "line 6: SFTConfig has no argument 'leraning_rate'"));
  CHECK(Contains(problems[2], "line 7: SFTConfig has no argument 'x'"));
  CHECK(Contains(problems[3], "line 9: unknown config class 'FooConfig'"));
}

TEST_CASE("keyword scanning skips strings and comments, and class definitions are not calls") {
  const std::string script =
      "s = \"LoraConfig(r=1)\"\n"
      "# LoraConfig(bogus=1)\n"
      "t = '''\nBitsAndBytesConfig(bogus=2)\n'''\n"
      "class MyConfig(PeftConfig):\n    pass\n"
      "c = LoraConfig(\n    r=8, lora_alpha=16,\n    target_modules=\"all-linear\",\n)\n";
  auto kws = ConfigKeywords(script);
  REQUIRE(kws.size() == 3);
  CHECK(kws[0].keyword == "r");
  CHECK(kws[0].line == 9);
  CHECK(kws[2].keyword == "target_modules");
  CHECK(kws[2].line == 10);
  CHECK(CheckConfigKeywords(script, ShippedArgs()).empty());
}

TEST_CASE("trl_args.toml: the shipped list flattens inheritance; bad files are usage errors") {
  const TrlArgs& args = ShippedArgs();
  CHECK(args.trl_version == "1.9.0");
  CHECK(args.classes.at("SFTConfig").count("max_length"));
  CHECK(args.classes.at("SFTConfig").count("per_device_train_batch_size"));  // from TrainingArguments
  CHECK_FALSE(args.classes.at("SFTConfig").count("max_seq_length"));
  CHECK(args.classes.at("GRPOConfig").count("num_generations"));
  CHECK_FALSE(args.classes.at("GRPOConfig").count("max_length"));
  CHECK(args.classes.at("LoraConfig").count("task_type"));  // from PeftConfig
  CHECK(args.classes.at("BitsAndBytesConfig").count("bnb_4bit_quant_type"));

  auto no_version = ParseTrlArgs("[classes.A]\nargs = [\"x\"]\n", "t.toml");
  REQUIRE_FALSE(no_version.ok());
  CHECK(Contains(no_version.status().message(), "t.toml: 'trl_version'"));
  auto bad_parent = ParseTrlArgs("trl_version = \"1\"\n[classes.A]\nargs = [\"x\"]\ninherits = [\"B\"]\n", "t.toml");
  REQUIRE_FALSE(bad_parent.ok());
  CHECK(Contains(bad_parent.status().message(), "unknown class 'B'"));
  auto cycle = ParseTrlArgs(
      "trl_version = \"1\"\n[classes.A]\nargs = []\ninherits = [\"B\"]\n[classes.B]\nargs = []\ninherits = [\"A\"]\n",
      "t.toml");
  REQUIRE_FALSE(cycle.ok());
  CHECK(Contains(cycle.status().message(), "cycle"));
  auto not_toml = ParseTrlArgs("trl_version = ", "t.toml");
  REQUIRE_FALSE(not_toml.ok());
  CHECK(not_toml.status().code() == Code::kUsage);
  auto missing = LoadTrlArgs("/nonexistent/trl_args.toml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
}

TEST_CASE("a method without a template and a missing template folder are clear errors") {
  auto bad = RenderScript(MakeSpec("ppo", "lora"), MakePlan(), RepoPath("skills/finetune/templates"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kUsage);
  auto missing = RenderScript(MakeSpec("sft", "lora"), MakePlan(), "/nonexistent/templates");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(Contains(missing.status().message(), "DSX_SKILLS_DIR"));
}

TEST_CASE("job timeout: said, else plan hours x 1.5 + 20 minutes, never under 30 minutes") {
  Spec s = MakeSpec("sft", "lora");
  Plan p = MakePlan();
  p.hours = 2.0;
  CHECK(JobTimeoutSeconds(s, p) == 2 * 3600 * 3 / 2 + 1200);
  p.hours = 0.05;
  CHECK(JobTimeoutSeconds(s, p) == 1800);
  s.timeout_s.Set(5400, Source::kSaid);
  CHECK(JobTimeoutSeconds(s, p) == 5400);
}

TEST_CASE("BuildRequest: the script as train.py, uv run, resources per backend, secrets by name only") {
  Spec s = MakeSpec("sft", "qlora");
  Plan p = MakePlan("a10g-large", "a10g", 1);
  RequestOptions o;
  o.backend = "hf";
  o.trackio_space = "me/trackio";
  auto hf = BuildRequest(s, p, "print(1)\n", o);
  REQUIRE(hf.ok());
  CHECK(hf->kind == "finetune");
  CHECK(hf->backend == "hf");
  CHECK(hf->name == "sft-qwen2.5-0.5b-instruct-capybara");
  CHECK(hf->files.at("train.py") == "print(1)\n");
  CHECK(hf->command == std::vector<std::string>{"uv", "run", "{jobdir}/train.py"});
  CHECK(hf->resources.flavor == "a10g-large");
  CHECK(hf->timeout_s == 2 * 3600 * 3 / 2 + 1200);
  CHECK(hf->secret_env == std::vector<std::string>{"HF_TOKEN"});
  CHECK(hf->env.at("TRACKIO_SPACE_ID") == "me/trackio");
  CHECK(hf->env.at("TRACKIO_PROJECT") == hf->name);
  CHECK(hf->labels.at("dsx-kind") == "finetune");
  CHECK(hf->meta.contains("spec"));
  CHECK(hf->meta.contains("plan"));
  CHECK(hf->meta["plan"]["flavor"] == "a10g-large");

  o.backend = "slurm";
  p.gpus = 2;
  p.gpu = "a100";
  auto slurm = BuildRequest(s, p, "x", o);
  REQUIRE(slurm.ok());
  CHECK(slurm->resources.flavor.empty());
  CHECK(slurm->resources.gpus == 2);
  CHECK(slurm->resources.gpu_type == "a100");
  CHECK(slurm->resources.cpus == 16);
  CHECK(slurm->resources.mem_gb == 64);

  // Local, no push, no tracker: no secret is asked for.
  Spec quiet = MakeSpec("sft", "lora");
  quiet.output_repo = {};
  quiet.tracker = {};
  o.backend = "local";
  auto local = BuildRequest(quiet, p, "x", o);
  REQUIRE(local.ok());
  CHECK(local->secret_env.empty());
  CHECK_FALSE(local->env.count("TRACKIO_PROJECT"));

  // A pushing local job without HF_TOKEN in the environment: the job reads the login's token file
  // itself, so the jobs layer is not asked for a variable that is not there.
  o.hf_token_in_env = false;
  auto login = BuildRequest(s, p, "x", o);
  REQUIRE(login.ok());
  CHECK(login->secret_env.empty());
  o.backend = "hf";
  auto hf_login = BuildRequest(s, p, "x", o);
  REQUIRE(hf_login.ok());
  CHECK(hf_login->secret_env == std::vector<std::string>{"HF_TOKEN"});  // the hf backend resolves the login

  o.backend = "lambda";
  auto bad = BuildRequest(s, p, "x", o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kUsage);
}

// Regression: full fine-tunes loaded bf16 weights (pure bf16 training: ~8 B/param, small updates
// rounded away) while the planner sized them for mixed precision (16 B/param).
TEST_CASE("full fine-tunes load fp32 weights and train in bf16 autocast; adapters keep a half-precision base") {
  auto full = ScriptValues(MakeSpec("sft", "full"), MakePlan("a100-large", "a100"));
  CHECK(full.values["dtype"] == "\"float32\"");
  CHECK(full.values["bf16"] == "True");
  auto lora = ScriptValues(MakeSpec("sft", "lora"), MakePlan("a100-large", "a100"));
  CHECK(lora.values["dtype"] == "\"bfloat16\"");
  auto qlora_t4 = ScriptValues(MakeSpec("sft", "qlora"), MakePlan("t4-small", "t4"));
  CHECK(qlora_t4.values["dtype"] == "\"float16\"");
}
