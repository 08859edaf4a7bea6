// The create body (BuildJobSpec) and Render: the exact JSON, defaults made explicit, labels,
// secrets as placeholders, files inlined as DSX_FILE_<n> behind a decoding `sh -c`, and the
// usage errors for requests Hugging Face cannot run as asked.
#include <doctest/doctest.h>

#include "hf_test_util.hpp"
#include "jobs/hf/hf_job_spec.hpp"

using namespace dsx;
using namespace dsx::jobs;
using namespace dsx::jobs::hf;
using namespace dsx::jobs::hf::testing;
using nlohmann::json;

TEST_CASE("Base64Encode follows RFC 4648 test vectors") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  CHECK(Base64Encode("fooba") == "Zm9vYmE=");
  CHECK(Base64Encode("foobar") == "Zm9vYmFy");
  CHECK(Base64Encode(std::string("\xff\x00\xfe", 3)) == "/wD+");
}

TEST_CASE("a minimal request gets every default written out") {
  auto spec = BuildJobSpec(Record(), {});
  REQUIRE(spec.ok());
  json want = {{"command", {"python", "-c", "print('hi')"}},
               {"arguments", json::array()},
               {"environment", json::object()},
               {"flavor", "cpu-basic"},
               {"timeoutSeconds", 1800},
               {"labels", {{"dsx-job", "j-20261207-013000-3fa9c1"}}},
               {"dockerImage", "ghcr.io/astral-sh/uv:python3.12-bookworm"}};
  CHECK(*spec == want);
}

TEST_CASE("flavor, timeout, image, env, labels and secrets as asked") {
  JobRecord r = Record();
  r.request.resources.flavor = "a10g-large";
  r.request.resources.image = "pytorch/pytorch:2.6.0";
  r.request.timeout_s = 7200;
  r.request.env = {{"TRACKIO_SPACE_ID", "alice/trackio"}};
  r.request.labels = {{"kind", "finetune"}};
  r.request.secret_env = {"HF_TOKEN", "WANDB_API_KEY"};
  auto spec = BuildJobSpec(r, {});
  REQUIRE(spec.ok());
  CHECK((*spec)["flavor"] == "a10g-large");
  CHECK((*spec)["dockerImage"] == "pytorch/pytorch:2.6.0");
  CHECK((*spec)["timeoutSeconds"] == 7200);
  CHECK((*spec)["environment"] == json{{"TRACKIO_SPACE_ID", "alice/trackio"}});
  CHECK((*spec)["labels"] == json{{"kind", "finetune"}, {"dsx-job", "j-20261207-013000-3fa9c1"}});
  CHECK((*spec)["secrets"] == json{{"HF_TOKEN", "<from $HF_TOKEN>"}, {"WANDB_API_KEY", "<from $WANDB_API_KEY>"}});

  auto real = BuildJobSpec(r, [](const std::string& name) -> Result<std::string> { return "value-of-" + name; });
  REQUIRE(real.ok());
  CHECK((*real)["secrets"] == json{{"HF_TOKEN", "value-of-HF_TOKEN"}, {"WANDB_API_KEY", "value-of-WANDB_API_KEY"}});
  // Apart from the secret values, Render and Submit send the same body.
  json a = *spec, b = *real;
  a.erase("secrets");
  b.erase("secrets");
  CHECK(a == b);
}

TEST_CASE("a Space image becomes spaceId") {
  JobRecord r = Record();
  r.request.resources.image = "hf.co/spaces/lhoestq/duckdb";
  auto spec = BuildJobSpec(r, {});
  REQUIRE(spec.ok());
  CHECK((*spec)["spaceId"] == "lhoestq/duckdb");
  CHECK(!spec->contains("dockerImage"));
}

TEST_CASE("files named as {jobdir}/<name> travel inline and are decoded before the command") {
  JobRecord r = Record();
  r.request.command = {"uv", "run", "{jobdir}/train.py", "--config={jobdir}/recipe.yaml"};
  r.request.files = {{"train.py", "print('train')\n"}, {"recipe.yaml", "lr: 2e-5\n"}, {"notes.md", "unused"}};
  auto spec = BuildJobSpec(r, {});
  REQUIRE(spec.ok());
  // Sorted by name: recipe.yaml is DSX_FILE_0, train.py DSX_FILE_1; notes.md is not named, not sent.
  CHECK((*spec)["environment"] ==
        json{{"DSX_FILE_0", Base64Encode("lr: 2e-5\n")}, {"DSX_FILE_1", Base64Encode("print('train')\n")}});
  json cmd = (*spec)["command"];
  REQUIRE(cmd.size() == 8);
  CHECK(cmd[0] == "sh");
  CHECK(cmd[1] == "-c");
  CHECK(cmd[2] ==
        "set -e; mkdir -p /tmp/dsx-job; "
        "printf %s \"$DSX_FILE_0\" | base64 -d > /tmp/dsx-job/recipe.yaml; unset DSX_FILE_0; "
        "printf %s \"$DSX_FILE_1\" | base64 -d > /tmp/dsx-job/train.py; unset DSX_FILE_1; exec \"$@\"");
  CHECK(cmd[3] == "dsx-job");
  CHECK(cmd[4] == "uv");
  CHECK(cmd[5] == "run");
  CHECK(cmd[6] == "/tmp/dsx-job/train.py");
  CHECK(cmd[7] == "--config=/tmp/dsx-job/recipe.yaml");
}

TEST_CASE("{jobdir}/<name> with no such file is an output path: the folder is made, nothing inlined") {
  // Regression: the first version refused "--out={jobdir}/out" as a missing file (e2e found it).
  JobRecord r = Record();
  r.request.command = {"python", "{jobdir}/train.py", "--output_dir", "{jobdir}/out"};
  r.request.files = {{"train.py", "x"}};
  auto spec = BuildJobSpec(r, {});
  REQUIRE(spec.ok());
  CHECK((*spec)["environment"] == json{{"DSX_FILE_0", "eA=="}});
  CHECK((*spec)["command"][7] == "/tmp/dsx-job/out");

  r.request.files.clear();
  r.request.command = {"python", "-m", "trainer", "--output_dir={jobdir}/out"};
  spec = BuildJobSpec(r, {});
  REQUIRE(spec.ok());
  CHECK((*spec)["command"] == json{"sh", "-c", "mkdir -p /tmp/dsx-job && exec \"$@\"", "dsx-job", "python", "-m",
                                   "trainer", "--output_dir=/tmp/dsx-job/out"});
  CHECK((*spec)["environment"] == json::object());
}

TEST_CASE("bad requests are usage errors") {
  JobRecord r = Record();
  SUBCASE("no command") {
    r.request.command.clear();
    CHECK(BuildJobSpec(r, {}).status().code() == Code::kUsage);
  }
  SUBCASE("negative timeout") {
    r.request.timeout_s = -5;
    CHECK(BuildJobSpec(r, {}).status().code() == Code::kUsage);
  }
  SUBCASE("a file too big for one environment variable") {
    r.request.command = {"python", "{jobdir}/big.py"};
    r.request.files = {{"big.py", std::string(200000, 'x')}};
    auto s = BuildJobSpec(r, {});
    CHECK(s.status().code() == Code::kUsage);
    CHECK(s.status().message().find("big.py") != std::string::npos);
  }
  SUBCASE("a reserved or doubled environment name") {
    r.request.env = {{"DSX_FILE_0", "x"}};
    CHECK(BuildJobSpec(r, {}).status().code() == Code::kUsage);
    r.request.env = {{"HF_TOKEN", "x"}};
    r.request.secret_env = {"HF_TOKEN"};
    CHECK(BuildJobSpec(r, {}).status().code() == Code::kUsage);
  }
  SUBCASE("a secret lookup error passes through") {
    r.request.secret_env = {"NOPE"};
    auto s = BuildJobSpec(r, [](const std::string&) -> Result<std::string> { return Status::Usage("no NOPE"); });
    CHECK(s.status().message() == "no NOPE");
  }
}

TEST_CASE("Render prints the request Submit sends, with placeholders, no token and no network") {
  Harness h("", kToken);  // no namespace known: shown as {namespace}
  JobRecord r = Record();
  r.request.secret_env = {"HF_TOKEN"};
  auto text = h.backend->Render(r);
  REQUIRE(text.ok());
  CHECK(h.t().requests.empty());
  CHECK(text->find(kToken) == std::string::npos);
  std::string head =
      "POST https://hf.test/api/jobs/{namespace}\nAuthorization: Bearer <HF_TOKEN>\nContent-Type: application/json\n\n";
  REQUIRE(text->substr(0, head.size()) == head);
  json body = json::parse(text->substr(head.size()));
  CHECK(body == *BuildJobSpec(r, {}));
  CHECK(body["secrets"]["HF_TOKEN"] == "<from $HF_TOKEN>");

  r.request.resources.namespace_ = "my-org";
  CHECK(h.backend->Render(r)->rfind("POST https://hf.test/api/jobs/my-org\n", 0) == 0);
}
