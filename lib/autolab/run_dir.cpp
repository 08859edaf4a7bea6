// Run folder layout and RUN argument resolution (run_dir.hpp).
#include "autolab/run_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace dsx::autolab {
namespace fs = std::filesystem;

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
bool HasLedger(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kLedgerFileName, ec);
}
}  // namespace

std::string DefaultRunRoot() {
  if (auto d = Env("DSX_AUTOLAB_DIR"); !d.empty()) return d;
  if (auto x = Env("XDG_DATA_HOME"); !x.empty()) return (fs::path(x) / "dsx" / "autolab").string();
  auto home = Env("HOME");
  return (fs::path(home.empty() ? "." : home) / ".local" / "share" / "dsx" / "autolab").string();
}

std::string DefaultRunDir(const Plan& plan) { return (fs::path(DefaultRunRoot()) / plan.name).string(); }

std::string LedgerPath(const std::string& run_dir) { return (fs::path(run_dir) / kLedgerFileName).string(); }
std::string ExperimentDir(const std::string& run_dir, const std::string& id) {
  return (fs::path(run_dir) / "experiments" / id).string();
}
std::string ExperimentLogPath(const std::string& run_dir, const std::string& id) {
  return (fs::path(ExperimentDir(run_dir, id)) / "output.log").string();
}

Result<std::string> ResolveRunDir(const std::string& run_arg) {
  if (run_arg.empty()) return Status::Usage("no run given (a run folder, a plan file or a plan name)");
  std::error_code ec;
  fs::path p(run_arg);
  if (fs::is_directory(p, ec)) {
    if (HasLedger(p)) return p.string();
    return Status::NotFound("'" + run_arg + "' is a folder without a ledger (" + kLedgerFileName +
                            "): not a run folder");
  }
  if (fs::is_regular_file(p, ec)) {
    auto plan = LoadPlan(p.string());
    if (!plan.ok()) return plan.status();
    auto dir = DefaultRunDir(plan.value());
    if (HasLedger(dir)) return dir;
    return Status::NotFound("plan '" + run_arg + "' has not run yet (no ledger in " + dir + ")");
  }
  // A plan name: only a plain name, never a path that happens not to exist.
  if (run_arg.find('/') == std::string::npos && run_arg != "." && run_arg != "..") {
    auto dir = (fs::path(DefaultRunRoot()) / run_arg).string();
    if (HasLedger(dir)) return dir;
    return Status::NotFound("no run '" + run_arg + "' (not a folder, not a plan file, and no " + dir + "/" +
                            kLedgerFileName + ")");
  }
  return Status::NotFound("no run folder '" + run_arg + "'");
}

}  // namespace dsx::autolab
