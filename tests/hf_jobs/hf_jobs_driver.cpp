// hf_jobs_driver: the HF backend behind a tiny command line, for the e2e suite to drive the
// real HTTP client (CurlTransport, real clock, token lookup, HF_ENDPOINT) against
// fake_hf_jobs.py without the jobs registry and watcher in between. Shaped like `dsx jobs`:
//   hf_jobs_driver submit --state FILE [--name N] [--flavor F] [--namespace NS] [--timeout S]
//                         [--env K=V]... [--secret NAME]... [--file NAME=PATH]... [--dry-run] -- CMD...
//   hf_jobs_driver status|logs [-f]|cancel --state FILE
//   hf_jobs_driver hardware
// The job record lives in --state (JSON, written atomically). Errors go to stderr as
// "hf_jobs_driver: <message>" and the exit status is the Status's code (core/status.hpp).
// DSX_HF_POLL_MS and DSX_HF_IDLE_MS shorten the log follower's state-check interval and the
// silence after which it re-checks (defaults 5000 each) for tests.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/fs.hpp"
#include "jobs/hf/hf_backend.hpp"

using namespace dsx;
using namespace dsx::jobs;

namespace {

int Fail(const Status& s) {
  std::cerr << "hf_jobs_driver: " << s.message() << "\n";
  return s.exit_code();
}

bool SplitKv(const std::string& kv, std::string* k, std::string* v) {
  size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  *k = kv.substr(0, eq);
  *v = kv.substr(eq + 1);
  return true;
}

Result<JobRecord> LoadState(const std::string& path) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Failed(path + ": not JSON");
  return RecordFromJson(j);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return Fail(Status::Usage("usage: hf_jobs_driver submit|status|logs|cancel|hardware ..."));
  std::string verb = args[0];
  std::string state_path;
  bool follow = false, dry_run = false;
  JobRecord record;
  record.request.backend = "hf";
  size_t i = 1;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string { return i + 1 < args.size() ? args[++i] : std::string(); };
    std::string k, v;
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--state") {
      state_path = value();
    } else if (a == "-f" || a == "--follow") {
      follow = true;
    } else if (a == "--dry-run") {
      dry_run = true;
    } else if (a == "--name") {
      record.request.name = value();
    } else if (a == "--flavor") {
      record.request.resources.flavor = value();
    } else if (a == "--namespace") {
      record.request.resources.namespace_ = value();
    } else if (a == "--timeout") {
      record.request.timeout_s = std::atoll(value().c_str());
    } else if (a == "--secret") {
      record.request.secret_env.push_back(value());
    } else if (a == "--env" && SplitKv(value(), &k, &v)) {
      record.request.env[k] = v;
    } else if (a == "--file" && SplitKv(value(), &k, &v)) {
      auto content = fs::ReadFile(v);
      if (!content.ok()) return Fail(content.status());
      record.request.files[k] = *content;
    } else {
      return Fail(Status::Usage("unknown or incomplete argument '" + a + "'"));
    }
  }
  for (; i < args.size(); ++i) record.request.command.push_back(args[i]);

  hf::HfBackend::Options options = hf::HfBackend::OptionsFromEnv();
  if (const char* ms = std::getenv("DSX_HF_POLL_MS")) options.poll_interval_ms = std::atoll(ms);
  if (const char* ms = std::getenv("DSX_HF_IDLE_MS")) options.log_idle_ms = std::atol(ms);
  hf::HfBackend backend(options);

  if (verb == "hardware") {
    auto hw = backend.ListHardware();
    if (!hw.ok()) return Fail(hw.status());
    for (const auto& f : *hw) {
      std::printf("%s %.2f %d %.0f\n", f.name.c_str(), f.usd_per_hour, f.gpu_count, f.gpu_memory_gb);
    }
    return 0;
  }
  if (state_path.empty()) return Fail(Status::Usage("--state FILE is required"));
  if (verb == "submit") {
    record.id = NewJobId(NowMs());
    if (dry_run) {
      auto text = backend.Render(record);
      if (!text.ok()) return Fail(text.status());
      std::cout << *text;
      return 0;
    }
    auto sub = backend.Submit(record, "");
    if (!sub.ok()) return Fail(sub.status());
    record.backend_id = sub->backend_id;
    record.url = sub->url;
    if (Status s = fs::AtomicWriteFile(state_path, ToJson(record).dump(2)); !s.ok()) return Fail(s);
    std::cout << "submitted " << record.backend_id << " " << record.url << "\n";
    return 0;
  }
  auto loaded = LoadState(state_path);
  if (!loaded.ok()) return Fail(loaded.status());
  record = *loaded;
  if (verb == "status") {
    auto st = backend.Poll(record);
    if (!st.ok()) return Fail(st.status());
    std::cout << JobStateName(st->state) << " " << st->backend_state << (st->detail.empty() ? "" : " ") << st->detail
              << "\n";
    return 0;
  }
  if (verb == "logs") {
    Status s = backend.Logs(
        record, "", follow,
        [](std::string_view line) {
          std::cout << line << "\n" << std::flush;
          return true;
        },
        nullptr);
    return s.ok() ? 0 : Fail(s);
  }
  if (verb == "cancel") {
    Status s = backend.Cancel(record);
    return s.ok() ? 0 : Fail(s);
  }
  return Fail(Status::Usage("unknown verb '" + verb + "'"));
}
