// job.hpp: JSON round trips, strict type errors naming each field, job ids.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "jobs/job.hpp"

using dsx::Code;
using namespace dsx::jobs;

namespace {

JobRecord FullRecord() {
  JobRecord r;
  r.id = "j-20261207-013000-3fa9c1";
  r.request.name = "sft-qwen-capy";
  r.request.kind = "finetune";
  r.request.backend = "hf";
  r.request.command = {"uv", "run", "{jobdir}/train.py", "--lr", "2e-5"};
  r.request.env = {{"HF_HUB_ENABLE_HF_TRANSFER", "1"}};
  r.request.secret_env = {"HF_TOKEN"};
  r.request.files = {{"train.py", "print('hi')\n"}};
  r.request.workdir = "/tmp/w";
  r.request.timeout_s = 7200;
  r.request.resources = {"a10g-large", 2, "a100", 8, 64, "gpu", "lab", "img:1", "my-org"};
  r.request.labels = {{"dsx-job", r.id}};
  r.request.meta = {{"spec", {{"model", "Qwen/Qwen2.5-0.5B-Instruct"}}}};
  r.backend_id = "4242";
  r.url = "https://huggingface.co/jobs/x";
  r.session = "jobs/" + r.id;
  r.server = "http://127.0.0.1:7070";
  r.status = {JobState::kFailed, "exit 3", "OOM at step 120", 3};
  r.created_ms = 1;
  r.updated_ms = 2;
  r.started_ms = 3;
  r.finished_ms = 4;
  return r;
}

// The error RecordFromJson gives after `edit` changes the record's JSON.
std::string ErrorAfter(void (*edit)(nlohmann::json&)) {
  auto j = ToJson(FullRecord());
  edit(j);
  auto r = RecordFromJson(j);
  if (r.ok()) return "(accepted)";
  CHECK(r.status().code() == Code::kFailed);
  return r.status().message();
}

}  // namespace

TEST_CASE("state names round trip and terminal states are the five final ones") {
  std::set<std::string> names;
  for (auto s : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kCancelled,
                 JobState::kTimeout, JobState::kLost}) {
    names.insert(JobStateName(s));
    auto back = ParseJobState(JobStateName(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
  }
  CHECK(names.size() == 7);
  CHECK(!IsTerminal(JobState::kQueued));
  CHECK(!IsTerminal(JobState::kRunning));
  CHECK(IsTerminal(JobState::kSucceeded));
  CHECK(IsTerminal(JobState::kLost));
  auto bad = ParseJobState("Running");
  CHECK(bad.status().code() == Code::kUsage);
  CHECK(bad.status().message().find("'Running'") != std::string::npos);
}

TEST_CASE("a full record round-trips through JSON, text included") {
  const JobRecord r = FullRecord();
  auto text = ToJson(r).dump();
  auto back = RecordFromJson(nlohmann::json::parse(text));
  REQUIRE(back.ok());
  CHECK(ToJson(*back) == ToJson(r));
  CHECK(back->request.resources.namespace_ == "my-org");
  CHECK(back->status.exit_code == 3);
  CHECK(back->request.meta["spec"]["model"] == "Qwen/Qwen2.5-0.5B-Instruct");
  // The documented field names.
  auto j = ToJson(r);
  CHECK(j["status"]["state"] == "failed");
  CHECK(j["request"]["resources"]["namespace"] == "my-org");
  CHECK(j["request"]["timeout_s"] == 7200);
}

TEST_CASE("missing optional fields take their defaults; a null exit code is none") {
  auto r = RecordFromJson(
      {{"id", "j-20261207-013000-3fa9c1"}, {"request", {{"command", {"true"}}}}, {"status", {{"exit_code", nullptr}}}});
  REQUIRE(r.ok());
  CHECK(r->request.kind == "generic");
  CHECK(r->request.backend == "local");
  CHECK(r->status.state == JobState::kQueued);
  CHECK(!r->status.exit_code);
  auto req = RequestFromJson({{"name", "x"}});
  REQUIRE(req.ok());
  CHECK(req->meta.is_object());
}

TEST_CASE("every field type is checked and the error names the field") {
  using J = nlohmann::json;
  CHECK(ErrorAfter([](J& j) { j["id"] = 5; }) == "'id' must be a string");
  CHECK(ErrorAfter([](J& j) { j["id"] = "x"; }) == "'id' is not a job id: 'x'");
  CHECK(ErrorAfter([](J& j) { j.erase("id"); }) == "'id' is missing");
  CHECK(ErrorAfter([](J& j) { j.erase("request"); }) == "'request' is missing");
  CHECK(ErrorAfter([](J& j) { j["request"] = "x"; }) == "'request' must be an object");
  CHECK(ErrorAfter([](J& j) { j["request"]["name"] = 1; }) == "'request.name' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["kind"] = nullptr; }) == "'request.kind' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["backend"] = true; }) == "'request.backend' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["command"] = "ls -l"; }) == "'request.command' must be an array of strings");
  CHECK(ErrorAfter([](J& j) { j["request"]["command"][1] = 2; }) == "'request.command[1]' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["env"] = J::array(); }) == "'request.env' must be an object of strings");
  CHECK(ErrorAfter([](J& j) { j["request"]["env"]["A"] = 1; }) == "'request.env.A' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["secret_env"] = J::object(); }) ==
        "'request.secret_env' must be an array of strings");
  CHECK(ErrorAfter([](J& j) { j["request"]["files"]["train.py"] = J::array(); }) ==
        "'request.files.train.py' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["workdir"] = 0; }) == "'request.workdir' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["timeout_s"] = "60"; }) == "'request.timeout_s' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["request"]["timeout_s"] = 1.5; }) == "'request.timeout_s' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["request"]["timeout_s"] = -1; }) == "'request.timeout_s' must be >= 0");
  CHECK(ErrorAfter([](J& j) { j["request"]["resources"] = 1; }) == "'request.resources' must be an object");
  CHECK(ErrorAfter([](J& j) { j["request"]["resources"]["gpus"] = "2"; }) ==
        "'request.resources.gpus' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["request"]["resources"]["gpus"] = 1LL << 40; }) ==
        "'request.resources.gpus' is too large");
  CHECK(ErrorAfter([](J& j) { j["request"]["resources"]["mem_gb"] = -4; }) ==
        "'request.resources.mem_gb' must be >= 0");
  CHECK(ErrorAfter([](J& j) { j["request"]["resources"]["namespace"] = 3; }) ==
        "'request.resources.namespace' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["labels"]["dsx-job"] = 1; }) == "'request.labels.dsx-job' must be a string");
  CHECK(ErrorAfter([](J& j) { j["request"]["meta"] = J::array(); }) == "'request.meta' must be an object");
  CHECK(ErrorAfter([](J& j) { j["backend_id"] = 4242; }) == "'backend_id' must be a string");
  CHECK(ErrorAfter([](J& j) { j["url"] = J::object(); }) == "'url' must be a string");
  CHECK(ErrorAfter([](J& j) { j["session"] = 1; }) == "'session' must be a string");
  CHECK(ErrorAfter([](J& j) { j["server"] = 1; }) == "'server' must be a string");
  CHECK(ErrorAfter([](J& j) { j["status"] = "running"; }) == "'status' must be an object");
  CHECK(ErrorAfter([](J& j) { j["status"]["state"] = "done"; }).find("'status.state': unknown job state 'done'") == 0);
  CHECK(ErrorAfter([](J& j) { j["status"]["state"] = 1; }) == "'status.state' must be a string");
  CHECK(ErrorAfter([](J& j) { j["status"]["detail"] = 1; }) == "'status.detail' must be a string");
  CHECK(ErrorAfter([](J& j) { j["status"]["backend_state"] = 1; }) == "'status.backend_state' must be a string");
  CHECK(ErrorAfter([](J& j) { j["status"]["exit_code"] = "3"; }) == "'status.exit_code' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["created_ms"] = "1"; }) == "'created_ms' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["updated_ms"] = 1.0; }) == "'updated_ms' must be an integer");
  CHECK(ErrorAfter([](J& j) { j["started_ms"] = -5; }) == "'started_ms' must be >= 0");
  CHECK(ErrorAfter([](J& j) { j["finished_ms"] = 18446744073709551615ULL; }) == "'finished_ms' is too large");
  CHECK(RecordFromJson(nlohmann::json::array()).status().message() == "the document must be a JSON object");
  CHECK(RequestFromJson({{"timeout_s", "x"}}).status().message() == "'timeout_s' must be an integer");
}

TEST_CASE("new job ids have the documented shape, the UTC time and differ") {
  // 2026-12-07 01:30:00 UTC
  const std::int64_t ms = 1796607000000;
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    auto id = NewJobId(ms);
    CHECK(id.rfind("j-20261207-013000-", 0) == 0);
    CHECK(IsValidJobId(id));
    ids.insert(id);
  }
  CHECK(ids.size() >= 199);  // 24 random bits: a repeat among 200 has odds ~1e-3
}

TEST_CASE("only ids NewJobId can produce are valid") {
  CHECK(IsValidJobId("j-20261207-013000-3fa9c1"));
  CHECK(IsValidJobId("j-19700101-000000-000000"));
  for (const char* bad :
       {"", "j-20261207-013000-3fa9c", "j-20261207-013000-3fa9c12", "J-20261207-013000-3fa9c1",
        "j-20261207-013000-3FA9C1", "j-20261207_013000-3fa9c1", "j-2026120a-013000-3fa9c1", "j-20261307-013000-3fa9c1",
        "j-20261200-013000-3fa9c1", "j-20261207-243000-3fa9c1", "j-20261207-016000-3fa9c1", "j-20261207-013000-3fa9g1",
        "../20261207-013000-3fa9c1", "j-20261207-013000-3fa9/1", " j-20261207-013000-3fa9c"}) {
    INFO(bad);
    CHECK(!IsValidJobId(bad));
  }
}
