// Shared fixtures of the jobs_hf unit tests: an HfBackend over a scripted FakeTransport and a
// ManualClock, a fake environment, and a record to submit.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "jobs/hf/hf_backend.hpp"
#include "net/fake_transport.hpp"

namespace dsx::jobs::hf::testing {

inline constexpr const char* kToken = "hf_tok3n5ecretXYZ";

struct FakeEnv {
  std::map<std::string, std::string> vars;
  GetEnv fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

struct Harness {
  std::shared_ptr<net::testing::FakeTransport> fake = std::make_shared<net::testing::FakeTransport>();
  ManualClock clock;
  FakeEnv env;
  std::unique_ptr<HfBackend> backend;

  explicit Harness(std::string ns = "alice", std::string token = kToken,
                   const std::function<void(HfBackend::Options&)>& tweak = {}) {
    HfBackend::Options o;
    o.endpoint = "https://hf.test";
    o.namespace_ = std::move(ns);
    o.token = std::move(token);
    o.clock = &clock;
    o.getenv = env.fn();
    o.transport = [f = fake] { return f; };
    if (tweak) tweak(o);
    backend = std::make_unique<HfBackend>(o);
  }
  net::testing::FakeTransport& t() { return *fake; }
};

inline JobRecord Record(std::string id = "j-20261207-013000-3fa9c1") {
  JobRecord r;
  r.id = std::move(id);
  r.request.name = "hello";
  r.request.backend = "hf";
  r.request.command = {"python", "-c", "print('hi')"};
  return r;
}

inline JobRecord SubmittedRecord(std::string backend_id = "687fb701029421ae5549d998") {
  JobRecord r = Record();
  r.backend_id = backend_id;
  r.url = "https://hf.test/jobs/alice/" + backend_id;
  return r;
}

inline std::string JobJson(const std::string& stage, const std::string& message = "") {
  nlohmann::json j = {
      {"id", "687fb701029421ae5549d998"},
      {"owner", {{"id", "u1"}, {"name", "alice"}, {"type", "user"}}},
      {"status", {{"stage", stage}, {"message", message.empty() ? nlohmann::json() : nlohmann::json(message)}}}};
  return j.dump();
}

inline std::string LogEvent(const std::string& line) {
  return "data: " + nlohmann::json({{"data", line}, {"timestamp", "2026-12-07T01:30:00Z"}}).dump() + "\n\n";
}

}  // namespace dsx::jobs::hf::testing
