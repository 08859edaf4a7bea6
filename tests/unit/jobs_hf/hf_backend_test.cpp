// HfBackend over a scripted transport: the exact requests of submit, whoami, inspect, cancel and
// hardware; the stage mapping; 401/402/404/429/500 and unreachable servers as dsx exit codes;
// Retry-After paced on the injected clock; the token in no message.
#include <doctest/doctest.h>

#include "hf_test_util.hpp"
#include "jobs/hf/hf_job_spec.hpp"

using namespace dsx;
using namespace dsx::jobs;
using namespace dsx::jobs::hf;
using namespace dsx::jobs::hf::testing;
using dsx::net::testing::NetError;
using dsx::net::testing::Reply;
using nlohmann::json;

namespace {

void CheckNoToken(const Status& s) {
  CHECK(s.message().find(kToken) == std::string::npos);
  CHECK(s.message().find("tok3n") == std::string::npos);
}

}  // namespace

TEST_CASE("Submit posts the create body with the Bearer token and real secrets") {
  Harness h;
  h.env.vars["WANDB_API_KEY"] = "wandb-secret-value";
  JobRecord r = Record();
  r.request.secret_env = {"WANDB_API_KEY", "HF_TOKEN"};  // HF_TOKEN unset: the login's token
  r.request.resources.flavor = "t4-small";
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));
  auto sub = h.backend->Submit(r, "/tmp/unused");
  REQUIRE(sub.ok());
  CHECK(sub->backend_id == "687fb701029421ae5549d998");
  CHECK(sub->url == "https://hf.test/jobs/alice/687fb701029421ae5549d998");
  REQUIRE(h.t().requests.size() == 1);
  const auto& req = h.t().requests[0];
  CHECK(req.method == "POST");
  CHECK(req.url == "https://hf.test/api/jobs/alice");
  CHECK(h.t().Header(0, "Authorization") == std::string("Bearer ") + kToken);
  CHECK(h.t().Header(0, "Content-Type") == "application/json");
  json body = json::parse(req.body);
  json want = *BuildJobSpec(r, {});
  want["secrets"] = {{"WANDB_API_KEY", "wandb-secret-value"}, {"HF_TOKEN", kToken}};
  CHECK(body == want);
}

TEST_CASE("Submit with a missing secret is kUsage naming it, and sends nothing") {
  Harness h;
  JobRecord r = Record();
  r.request.secret_env = {"WANDB_API_KEY"};
  auto sub = h.backend->Submit(r, "");
  CHECK(sub.status().code() == Code::kUsage);
  CHECK(sub.status().message().find("WANDB_API_KEY") != std::string::npos);
  CHECK(h.t().requests.empty());
}

TEST_CASE("no namespace configured: whoami-v2 names it, once") {
  Harness h("");
  h.t().script.push_back(Reply(200, {}, R"({"name":"bob","type":"user"})"));
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  auto sub = h.backend->Submit(Record(), "");
  REQUIRE(sub.ok());
  CHECK(h.t().requests[0].url == "https://hf.test/api/whoami-v2");
  CHECK(h.t().Header(0, "Authorization") == std::string("Bearer ") + kToken);
  CHECK(h.t().requests[1].url == "https://hf.test/api/jobs/bob");
  // The answer's owner names the page; a later Poll reads the namespace from the record's URL.
  CHECK(sub->url == "https://hf.test/jobs/alice/687fb701029421ae5549d998");
  JobRecord r = Record();
  r.backend_id = sub->backend_id;
  r.url = sub->url;
  REQUIRE(h.backend->Poll(r).ok());
  CHECK(h.t().requests[2].url == "https://hf.test/api/jobs/alice/687fb701029421ae5549d998");
}

TEST_CASE("no token: Submit is kUsage before any request; Render still works") {
  Harness h("alice", "");
  h.env.vars["HOME"] = "/nonexistent-dsx-home";
  auto sub = h.backend->Submit(Record(), "");
  CHECK(sub.status().code() == Code::kUsage);
  CHECK(sub.status().message() == "no Hugging Face token: set HF_TOKEN or run `hf auth login`");
  CHECK(h.t().requests.empty());
  CHECK(h.backend->Render(Record()).ok());
}

TEST_CASE("stages map to job states") {
  CHECK(StatusFromStage("SCHEDULING", "").state == JobState::kQueued);
  CHECK(StatusFromStage("RUNNING", "").state == JobState::kRunning);
  CHECK(StatusFromStage("UPDATING", "").state == JobState::kRunning);
  CHECK(StatusFromStage("COMPLETED", "").state == JobState::kSucceeded);
  CHECK(StatusFromStage("CANCELED", "").state == JobState::kCancelled);
  CHECK(StatusFromStage("DELETED", "").state == JobState::kCancelled);
  CHECK(StatusFromStage("ERROR", "exit code 1").state == JobState::kFailed);
  CHECK(StatusFromStage("ERROR", "Job timed out after 1800s").state == JobState::kTimeout);
  CHECK(StatusFromStage("SOMETHING_NEW", "").state == JobState::kRunning);
  auto s = StatusFromStage("ERROR", "CUDA out of memory");
  CHECK(s.backend_state == "ERROR");
  CHECK(s.detail == "CUDA out of memory");
}

TEST_CASE("Poll inspects the job and maps its stage and message") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, JobJson("ERROR", "CUDA out of memory")));
  auto st = h.backend->Poll(SubmittedRecord());
  REQUIRE(st.ok());
  CHECK(st->state == JobState::kFailed);
  CHECK(st->detail == "CUDA out of memory");
  CHECK(h.t().requests[0].method == "GET");
  CHECK(h.t().requests[0].url == "https://hf.test/api/jobs/alice/687fb701029421ae5549d998");
  CHECK(h.t().Header(0, "Authorization") == std::string("Bearer ") + kToken);
}

TEST_CASE("Poll: 404 is kNotFound, an unreadable answer kFailed") {
  Harness h;
  h.t().script.push_back(Reply(404, {}, R"({"error":"Job not found"})"));
  auto st = h.backend->Poll(SubmittedRecord("nope"));
  CHECK(st.status().code() == Code::kNotFound);
  CHECK(st.status().message() == "Hugging Face has no job nope in alice (404)");
  h.t().script.push_back(Reply(200, {}, "<html>"));
  CHECK(h.backend->Poll(SubmittedRecord()).status().code() == Code::kFailed);
}

TEST_CASE("401 and 403 are kConflict without the token, even when the server echoes it") {
  Harness h;
  for (int code : {401, 403}) {
    h.t().script.push_back(Reply(
        code, {}, std::string(R"({"error":"Invalid credentials in Authorization header: Bearer )") + kToken + "\"}"));
    auto st = h.backend->Poll(SubmittedRecord());
    CHECK(st.status().code() == Code::kConflict);
    CHECK(st.status().message().rfind("Hugging Face refused the token (" + std::to_string(code) + "): check HF_TOKEN",
                                      0) == 0);
    CheckNoToken(st.status());
  }
}

TEST_CASE("402 is kConflict naming the namespace") {
  Harness h;
  h.t().script.push_back(Reply(402, {}, R"({"error":"Payment required"})"));
  auto sub = h.backend->Submit(Record(), "");
  CHECK(sub.status().code() == Code::kConflict);
  CHECK(sub.status().message() == "no credit on alice: Jobs need a positive balance (402)");
}

TEST_CASE("429 with Retry-After waits as told on the clock, then succeeds") {
  Harness h;
  h.t().script.push_back(Reply(429, {{"Retry-After", "7"}}, R"({"error":"Too many requests"})"));
  h.t().script.push_back(Reply(429, {{"retry-after", "2"}}, ""));
  h.t().script.push_back(Reply(200, {}, JobJson("SCHEDULING")));
  auto sub = h.backend->Submit(Record(), "");  // a refused create is safe to repeat
  REQUIRE(sub.ok());
  CHECK(h.t().requests.size() == 3);
  CHECK(h.t().requests[2].body == h.t().requests[0].body);
  CHECK(h.clock.sleeps() == std::vector<std::int64_t>{7000, 2000});
}

TEST_CASE("429 without Retry-After backs off exponentially, then kUnavailable after the attempts") {
  Harness h;
  for (int i = 0; i < 4; ++i) h.t().script.push_back(Reply(429));
  auto st = h.backend->Poll(SubmittedRecord());
  CHECK(st.status().code() == Code::kUnavailable);
  CHECK(st.status().message().find("429") != std::string::npos);
  CHECK(h.t().requests.size() == 4);
  CHECK(h.clock.sleeps() == std::vector<std::int64_t>{1000, 2000, 4000});
}

TEST_CASE("a huge Retry-After is capped at the policy's longest wait") {
  Harness h;
  h.t().script.push_back(Reply(429, {{"Retry-After", "86400"}}));
  h.t().script.push_back(Reply(200, {}, JobJson("RUNNING")));
  REQUIRE(h.backend->Poll(SubmittedRecord()).ok());
  CHECK(h.clock.sleeps() == std::vector<std::int64_t>{30000});
}

TEST_CASE("500 on inspect is retried, then kFailed with the server's message; a create is not repeated") {
  Harness h;
  for (int i = 0; i < 4; ++i) h.t().script.push_back(Reply(500, {}, R"({"error":"internal"})"));
  auto st = h.backend->Poll(SubmittedRecord());
  CHECK(st.status().code() == Code::kFailed);
  CHECK(st.status().message() == "Hugging Face answered 500: internal");
  CHECK(h.t().requests.size() == 4);

  Harness h2;
  h2.t().script.push_back(Reply(500, {}, R"({"error":"internal"})"));
  auto sub = h2.backend->Submit(Record(), "");
  CHECK(sub.status().code() == Code::kFailed);
  CHECK(h2.t().requests.size() == 1);  // it may have created the job: never sent twice
}

TEST_CASE("503 after the retries is kUnavailable") {
  Harness h;
  for (int i = 0; i < 4; ++i) h.t().script.push_back(Reply(503));
  CHECK(h.backend->Poll(SubmittedRecord()).status().code() == Code::kUnavailable);
}

TEST_CASE("an unreachable endpoint is kUnavailable naming it; a create that may have arrived is not repeated") {
  Harness h;
  for (int i = 0; i < 4; ++i) h.t().script.push_back(NetError(false, "connection refused"));
  auto sub = h.backend->Submit(Record(), "");
  CHECK(sub.status().code() == Code::kUnavailable);
  CHECK(sub.status().message() == "cannot reach Hugging Face at https://hf.test: connection refused");
  CHECK(h.t().requests.size() == 4);  // never delivered: safe to retry

  Harness h2;
  h2.t().script.push_back(NetError(true, "connection reset"));
  CHECK(h2.backend->Submit(Record(), "").status().code() == Code::kUnavailable);
  CHECK(h2.t().requests.size() == 1);
}

TEST_CASE("Cancel posts to /cancel; a job already over counts as cancelled") {
  Harness h;
  h.t().script.push_back(Reply(200, {}, ""));
  REQUIRE(h.backend->Cancel(SubmittedRecord()).ok());
  CHECK(h.t().requests[0].method == "POST");
  CHECK(h.t().requests[0].url == "https://hf.test/api/jobs/alice/687fb701029421ae5549d998/cancel");
  CHECK(h.t().Header(0, "Authorization") == std::string("Bearer ") + kToken);

  h.t().script.push_back(Reply(409, {}, R"({"error":"Job is not running"})"));
  h.t().script.push_back(Reply(200, {}, JobJson("COMPLETED")));
  CHECK(h.backend->Cancel(SubmittedRecord()).ok());

  h.t().script.push_back(Reply(404, {}, ""));
  CHECK(h.backend->Cancel(SubmittedRecord("gone")).code() == Code::kNotFound);
}

TEST_CASE("a record without a backend id is kNotFound with no request") {
  Harness h;
  CHECK(h.backend->Poll(Record()).status().code() == Code::kNotFound);
  CHECK(h.backend->Cancel(Record()).code() == Code::kNotFound);
  CHECK(h.t().requests.empty());
}

TEST_CASE("ListHardware converts per-minute prices to $/hour and reads the accelerator") {
  Harness h;
  std::string body = R"([
    {"name":"cpu-basic","prettyName":"CPU Basic","cpu":"2 vCPU","ram":"16 GB","accelerator":null,
     "unitCostMicroUSD":167,"unitCostUSD":0.000167,"unitLabel":"minute"},
    {"name":"a10g-largex2","prettyName":"2x Nvidia A10G - large","cpu":"24 vCPU","ram":"92 GB",
     "accelerator":{"type":"gpu","model":"A10G","quantity":"2","vram":"48 GB","manufacturer":"Nvidia"},
     "unitCostMicroUSD":50000,"unitCostUSD":0.05,"unitLabel":"minute"},
    {"name":"h200","prettyName":"Nvidia H200","cpu":"23 vCPU","ram":"256 GB",
     "accelerator":{"type":"gpu","model":"H200","quantity":"1","vram":"141 GB","manufacturer":"Nvidia"},
     "unitCostMicroUSD":5000000,"unitCostUSD":5.0,"unitLabel":"hour"}])";
  h.t().script.push_back(Reply(200, {}, body));
  auto hw = h.backend->ListHardware();
  REQUIRE(hw.ok());
  CHECK(h.t().requests[0].url == "https://hf.test/api/jobs/hardware");
  REQUIRE(hw->size() == 3);
  CHECK((*hw)[0].name == "cpu-basic");
  CHECK((*hw)[0].usd_per_hour == doctest::Approx(0.01002));
  CHECK((*hw)[0].gpu_count == 0);
  CHECK((*hw)[1].pretty_name == "2x Nvidia A10G - large");
  CHECK((*hw)[1].usd_per_hour == doctest::Approx(3.0));
  CHECK((*hw)[1].gpu_model == "A10G");
  CHECK((*hw)[1].gpu_count == 2);
  CHECK((*hw)[1].gpu_memory_gb == doctest::Approx(48));
  CHECK((*hw)[2].usd_per_hour == doctest::Approx(5.0));
  CHECK((*hw)[2].gpu_memory_gb == doctest::Approx(141));
}

TEST_CASE("ListHardware: no list at the endpoint is kNotFound naming HF_ENDPOINT") {
  Harness h;
  h.t().script.push_back(Reply(404, {}, "Not Found"));
  auto hw = h.backend->ListHardware();
  CHECK(hw.status().code() == Code::kNotFound);
  CHECK(hw.status().message() == "no Jobs hardware list at https://hf.test (404): check HF_ENDPOINT");
}

TEST_CASE("ParseHardware rejects malformed lists") {
  CHECK(ParseHardware("{}").status().code() == Code::kFailed);
  CHECK(ParseHardware(R"([{"prettyName":"x"}])").status().code() == Code::kFailed);
  CHECK(ParseHardware(R"([{"name":"x","unitCostUSD":1,"unitLabel":"fortnight"}])").status().code() == Code::kFailed);
  CHECK(ParseHardware(R"([{"name":"x","unitLabel":"minute"}])").status().code() == Code::kFailed);
}

TEST_CASE("RetryAfterSeconds reads seconds and HTTP dates") {
  CHECK(RetryAfterSeconds("", 0) < 0);
  CHECK(RetryAfterSeconds("12", 0) == 12);
  CHECK(RetryAfterSeconds("soon", 0) < 0);
  // Sun, 06 Nov 1994 08:49:37 GMT = 784111777
  CHECK(RetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111770000) == doctest::Approx(7));
  CHECK(RetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", 784111790000) == 0);
}

TEST_CASE("OptionsFromEnv reads HF_ENDPOINT") {
  FakeEnv env;
  CHECK(HfBackend::OptionsFromEnv(env.fn()).endpoint == "https://huggingface.co");
  env.vars["HF_ENDPOINT"] = "http://127.0.0.1:8123/";
  CHECK(HfBackend::OptionsFromEnv(env.fn()).endpoint == "http://127.0.0.1:8123");
}
