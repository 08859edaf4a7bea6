// The sbatch script, byte for byte (golden strings for a full GPU request and a minimal one with
// site defaults), --time rounding, and quoting that survives hostile values: the script's body is
// run by a real /bin/bash to prove that quotes, $(...), backticks and newlines stay literal, and
// directive values that could break out of an #SBATCH line are refused.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "jobs/slurm/slurm_script.hpp"

using namespace dsx;
using namespace dsx::jobs;

namespace {

constexpr const char* kId = "j-20261207-013000-3fa9c1";

JobRecord GpuRecord() {
  JobRecord r;
  r.id = kId;
  r.request.name = "sft-qwen";
  r.request.backend = "slurm";
  r.request.command = {"uv", "run", "{jobdir}/train.py", "--lr", "2e-5"};
  r.request.env = {{"HF_HOME", "/data/hf"}, {"WANDB_MODE", "offline"}};
  r.request.secret_env = {"HF_TOKEN"};
  r.request.timeout_s = 5 * 3600 + 1;  // 301 minutes, rounded up
  r.request.resources.gpus = 2;
  r.request.resources.gpu_type = "a100";
  r.request.resources.cpus = 8;
  r.request.resources.mem_gb = 64;
  r.request.resources.partition = "gpu";
  r.request.resources.account = "proj-1";
  return r;
}

// Runs `script` with bash (the #SBATCH lines are comments to it) and returns its stdout.
std::string RunBash(const std::string& script) {
  auto path = std::filesystem::temp_directory_path() / ("dsx_slurm_script_" + std::to_string(::getpid()) + ".sh");
  std::ofstream(path) << script;
  std::string out;
  FILE* p = ::popen(("/bin/bash " + path.string()).c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  std::filesystem::remove(path);
  return out;
}

}  // namespace

TEST_CASE("the full script for a GPU request: every directive, secrets named not valued, env, command") {
  auto s = RenderBatchScript(GpuRecord(), "/data/jobs/j-1", {});
  REQUIRE(s.ok());
  CHECK(*s ==
        "#!/bin/bash\n"
        "#SBATCH --job-name=sft-qwen\n"
        "#SBATCH --output=/data/jobs/j-1/output.log\n"
        "#SBATCH --error=/data/jobs/j-1/output.log\n"
        "#SBATCH --time=0-05:01:00\n"
        "#SBATCH --gres=gpu:a100:2\n"
        "#SBATCH --mem=64G\n"
        "#SBATCH --cpus-per-task=8\n"
        "#SBATCH --partition=gpu\n"
        "#SBATCH --account=proj-1\n"
        "#SBATCH --chdir=/data/jobs/j-1\n"
        "#SBATCH --comment=dsx-job=j-20261207-013000-3fa9c1\n"
        "#SBATCH --export=ALL\n"
        "\n"
        "# Secrets: HF_TOKEN\n"
        "# Their values are never written here: with --export=ALL the job inherits them from the\n"
        "# environment sbatch ran in when the job was submitted.\n"
        "\n"
        "export HF_HOME='/data/hf'\n"
        "export WANDB_MODE='offline'\n"
        "\n"
        "uv run /data/jobs/j-1/train.py --lr 2e-5\n");
}

TEST_CASE("a minimal request takes the site defaults and leaves the rest to the cluster") {
  JobRecord r;
  r.id = kId;
  r.request.command = {"echo", "hello world"};
  r.request.timeout_s = 90;
  r.request.resources.gpus = 1;
  r.request.labels = {{"kind", "autolab"}};
  auto s = RenderBatchScript(r, "/jobs/x", {"debug", "acct", "h100"});
  REQUIRE(s.ok());
  CHECK(*s ==
        "#!/bin/bash\n"
        "#SBATCH --job-name=j-20261207-013000-3fa9c1\n"
        "#SBATCH --output=/jobs/x/output.log\n"
        "#SBATCH --error=/jobs/x/output.log\n"
        "#SBATCH --time=0-00:02:00\n"
        "#SBATCH --gres=gpu:h100:1\n"
        "#SBATCH --partition=debug\n"
        "#SBATCH --account=acct\n"
        "#SBATCH --chdir=/jobs/x\n"
        "#SBATCH --comment=dsx-job=j-20261207-013000-3fa9c1,kind=autolab\n"
        "#SBATCH --export=ALL\n"
        "\n"
        "echo 'hello world'\n");
}

TEST_CASE("no timeout, no GPUs, an explicit workdir, a gpu count without a type") {
  JobRecord r;
  r.id = kId;
  r.request.name = "n";
  r.request.command = {"true"};
  r.request.workdir = "/scratch/w";
  auto s = RenderBatchScript(r, "/j", {});
  REQUIRE(s.ok());
  CHECK(s->find("--time") == std::string::npos);
  CHECK(s->find("--gres") == std::string::npos);
  CHECK(s->find("--partition") == std::string::npos);
  CHECK(s->find("#SBATCH --chdir=/scratch/w\n") != std::string::npos);
  r.request.resources.gpus = 4;
  s = RenderBatchScript(r, "/j", {});
  REQUIRE(s.ok());
  CHECK(s->find("#SBATCH --gres=gpu:4\n") != std::string::npos);
}

TEST_CASE("--time is D-HH:MM:SS rounded up to whole minutes") {
  CHECK(SlurmTime(1) == "0-00:01:00");
  CHECK(SlurmTime(60) == "0-00:01:00");
  CHECK(SlurmTime(61) == "0-00:02:00");
  CHECK(SlurmTime(3600) == "0-01:00:00");
  CHECK(SlurmTime(86400) == "1-00:00:00");
  CHECK(SlurmTime(2 * 86400 + 3 * 3600 + 4 * 60 + 5) == "2-03:05:00");
}

TEST_CASE("hostile env values and command words stay literal when bash runs the script") {
  JobRecord r;
  r.id = kId;
  const std::string v1 = "it's \"quoted\" $(echo pwned) `id` $HOME \\ ; rm -rf /nonexistent";
  const std::string v2 = "line1\nline2\n'; echo injected; '";
  r.request.env = {{"A", v1}, {"B", v2}};
  r.request.command = {"printf", "[%s]\\n", "$(echo no)", "a'b", "{jobdir}/x y", "", "*"};
  auto s = RenderBatchScript(r, "/tmp/job dir", {});
  REQUIRE(s.ok());
  std::string body = *s + "printf '<%s>' \"$A\" \"$B\"\n";
  CHECK(RunBash(body) == "[$(echo no)]\n[a'b]\n[/tmp/job dir/x y]\n[]\n[*]\n<" + v1 + "><" + v2 + ">");
  CHECK(s->find("pwned\n") == std::string::npos);
}

TEST_CASE("directive values are quoted for sbatch's parser, and newlines in them are refused") {
  CHECK(*SbatchQuote("plain-name_1.2", "x") == "plain-name_1.2");
  CHECK(*SbatchQuote("my job # \"x\" \\ y", "x") == "\"my job # \\\"x\\\" \\\\ y\"");
  CHECK(SbatchQuote("", "x").value() == "\"\"");

  JobRecord r;
  r.id = kId;
  r.request.command = {"true"};
  r.request.name = "ok\n#SBATCH --uid=0\necho injected";
  auto s = RenderBatchScript(r, "/j", {});
  CHECK(s.status().code() == Code::kUsage);
  CHECK(s.status().message() == "the job name must not contain newlines or control characters");
  r.request.name = "fine";
  r.request.resources.partition = "debug\rx";
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.resources.partition = "";
  r.request.labels = {{"k", "v\n"}};
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.labels.clear();
  CHECK(RenderBatchScript(r, "/j\n", {}).status().code() == Code::kUsage);
  // sbatch would expand %j in the file names
  auto pct = RenderBatchScript(r, "/jobs/100%", {});
  CHECK(pct.status().code() == Code::kUsage);
  CHECK(pct.status().message().find("'%'") != std::string::npos);
}

TEST_CASE("requests that cannot become a script are usage errors") {
  JobRecord r;
  r.id = kId;
  CHECK(RenderBatchScript(r, "/j", {}).status().message() == "the job has no command to run");
  r.request.command = {"true"};
  r.request.env = {{"BAD-NAME", "x"}};
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.env = {{"X", "1"}};
  r.request.secret_env = {"X"};
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.secret_env = {"A B"};
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.secret_env.clear();
  r.request.timeout_s = -1;
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
  r.request.timeout_s = 0;
  r.request.resources.gpus = -2;
  CHECK(RenderBatchScript(r, "/j", {}).status().code() == Code::kUsage);
}

TEST_CASE("ShellQuote leaves safe words bare and single-quotes the rest") {
  CHECK(ShellQuote("abc-1.2/x:y=z,w+@%") == "abc-1.2/x:y=z,w+@%");
  CHECK(ShellQuote("") == "''");
  CHECK(ShellQuote("a b") == "'a b'");
  CHECK(ShellQuote("it's") == "'it'\\''s'");
  CHECK(SingleQuote("v") == "'v'");
}
