// results: `dsx kernel bench --json` read back for the README; every bad field is named.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "kernel/export/results.hpp"

namespace ke = dsx::kernel::exp;
using nlohmann::json;

namespace {

json GoodRow() {
  return {{"dtype", "bf16"},
          {"preset", "large"},
          {"status", "ok"},
          {"flags", json::array()},
          {"sizes", {{"ROWS", 16384}, {"COLS", 4096}}},
          {"verification", {{"trials", 5}, {"passed", 5}, {"max_rel_err", 2.1e-3}, {"tolerance", 1e-2},
                            {"cpu_check", {{"status", "ok"}}}}},
          {"median_ms", 0.2104},
          {"p10_ms", 0.21},
          {"p90_ms", 0.22},
          {"noise_pct", 0.4},
          {"gbps", 2551.2},
          {"pct_peak_bw", 76.1},
          {"tflops", nullptr},
          {"speedup", 2.31}};
}

json GoodDoc() {
  return {{"task", "rmsnorm"},
          {"impl", "/x/optimized.cu"},
          {"candidate", false},
          {"impl_sha256", std::string(64, 'a')},
          {"nvrtc_version", "13.0"},
          {"status", "ok"},
          {"device", {{"name", "NVIDIA H100 80GB HBM3"}, {"arch", "sm_90"}, {"compute_capability", "9.0"},
                      {"driver_version", "580.65"}}},
          {"results", json::array({GoodRow()})}};
}

std::string Err(const json& doc) {
  auto r = ke::ParseBenchResults(doc.dump(), "bench.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUsage);
  return r.status().message();
}

}  // namespace

TEST_CASE("a bench document reads back with its device and rows") {
  auto r = ke::ParseBenchResults(GoodDoc().dump(), "bench.json");
  REQUIRE(r.ok());
  CHECK(r->task == "rmsnorm");
  CHECK(r->device_name == "NVIDIA H100 80GB HBM3");
  CHECK(r->device_cc == "9.0");
  REQUIRE(r->rows.size() == 1);
  CHECK(r->rows[0].passed == 5);
  CHECK(r->rows[0].cpu_check == "ok");
  CHECK(r->rows[0].sizes.at("COLS") == 4096);
  CHECK_FALSE(r->rows[0].tflops.has_value());
  CHECK(*r->rows[0].speedup == doctest::Approx(2.31));
}

TEST_CASE("a failed run reads back (the caller refuses it) without figures") {
  json d = GoodDoc();
  d["status"] = "wrong";
  d["results"][0] = {{"dtype", "bf16"}, {"preset", "large"}, {"status", "wrong"}, {"reasons", {"max_rel_err 0.5"}}};
  auto r = ke::ParseBenchResults(d.dump(), "bench.json");
  REQUIRE(r.ok());
  CHECK(r->status == "wrong");
}

TEST_CASE("every malformed field is named") {
  CHECK(ke::ParseBenchResults("{", "bench.json").status().message().find("bench.json") != std::string::npos);
  CHECK(Err(json::array()).find("must be an object") != std::string::npos);
  json d = GoodDoc();
  d.erase("task");
  CHECK(Err(d) == "results file 'bench.json': field 'task' must be a string (got nothing)");
  d = GoodDoc();
  d["task"] = 7;
  CHECK(Err(d) == "results file 'bench.json': field 'task' must be a string (got 7)");
  d = GoodDoc();
  d["impl_sha256"] = "abc";
  CHECK(Err(d).find("'impl_sha256' must be 64 hex digits") != std::string::npos);
  d = GoodDoc();
  d["device"] = "h100";
  CHECK(Err(d).find("'device' must be an object (got string)") != std::string::npos);
  d = GoodDoc();
  d["results"] = json::object();
  CHECK(Err(d).find("'results' must be an array") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["median_ms"] = "fast";
  CHECK(Err(d).find("'results[0].median_ms' must be a finite number (got string)") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["verification"]["passed"] = 4;
  CHECK(Err(d).find("'results[0].verification.passed' must be equal to verification.trials") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["verification"]["trials"] = -1;
  CHECK(Err(d).find("'results[0].verification.trials' must be an integer") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["verification"]["max_rel_err"] = 0.5;
  CHECK(Err(d).find("'results[0].verification.max_rel_err' must be <= verification.tolerance") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["sizes"]["ROWS"] = 1.5;
  CHECK(Err(d).find("'results[0].sizes.ROWS' must be an integer") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["gbps"] = json::array();
  CHECK(Err(d).find("'results[0].gbps' must be a finite number or null") != std::string::npos);
  d = GoodDoc();
  d["results"][0]["flags"] = {1};
  CHECK(Err(d).find("'results[0].flags[0]' must be a string") != std::string::npos);
  d = GoodDoc();
  d["results"] = json::array();
  CHECK(Err(d).find("non-empty") != std::string::npos);
  d = GoodDoc();
  d["task"] = std::string(10000, 'x');
  CHECK(Err(d).find("at most 4096 bytes") != std::string::npos);
}

TEST_CASE("hostile documents: deep nesting, huge numbers") {
  std::string deep(100000, '[');
  auto r = ke::ParseBenchResults(deep, "bench.json");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("deeper") != std::string::npos);
  std::string text = GoodDoc().dump();
  auto pos = text.find("0.2104");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 6, "1e999");
  auto big = ke::ParseBenchResults(text, "bench.json");
  CHECK_FALSE(big.ok());
}
