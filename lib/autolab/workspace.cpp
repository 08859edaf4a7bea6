// Building an experiment's working folder (workspace.hpp).
#include "autolab/workspace.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <system_error>

#include "autolab/generate.hpp"
#include "core/process_group.hpp"

namespace dsx::autolab {
namespace fs = std::filesystem;

namespace {

// Runs a short helper command (git) to completion; its output comes back for error messages.
Result<std::string> RunQuiet(const std::vector<std::string>& argv) {
  std::string tmpl = (fs::temp_directory_path() / "dsx-autolab-XXXXXX").string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) return Status::Failed("cannot create a temporary file in " + tmpl);
  unlink(tmpl.c_str());
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto group = proc::ProcessGroup::Spawn(argv, {null_fd, fd, fd});
  if (null_fd >= 0) close(null_fd);
  if (!group.ok()) {
    close(fd);
    return Status::Unavailable("cannot run " + argv[0] + ": " + group.status().message());
  }
  proc::ExitInfo exit = (*group)->Wait();
  std::string out;
  lseek(fd, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (!exit.exited || exit.code != 0)
    return Status::Failed(argv[0] + " " + argv[1] + " (" + exit.Describe() + "): " + out);
  return out;
}

Result<std::string> RepoTop(const Plan& plan) {
  auto top = RunQuiet({"git", "-C", plan.dir.empty() ? "." : plan.dir, "rev-parse", "--show-toplevel"});
  if (!top.ok()) return top.status().Wrap("experiment.git_worktree: the plan's folder is not in a git repository");
  return top;
}

bool Inside(const fs::path& base, const fs::path& p) {
  auto b = base.lexically_normal(), q = p.lexically_normal();
  auto [bi, qi] = std::mismatch(b.begin(), b.end(), q.begin(), q.end());
  return bi == b.end() || (std::next(bi) == b.end() && bi->empty());
}

Status CopyFiles(const Plan& plan, const fs::path& workdir) {
  const fs::path base = fs::absolute(plan.dir.empty() ? "." : plan.dir);
  std::set<std::string> names;
  for (const std::string& rel : plan.experiment.files) {
    const fs::path from = (base / rel).lexically_normal();
    if (fs::path(rel).is_absolute() || !Inside(base, from))
      return Status::Failed("experiment.files: '" + rel + "' is outside the plan's folder");
    // By name: digits/train.py is {workdir}/train.py, a folder tiny-lm/ is {workdir}/tiny-lm/.
    fs::path name = from.filename();
    if (name.empty()) name = from.parent_path().filename();
    if (!names.insert(name.string()).second)
      return Status::Failed("experiment.files: two entries are named '" + name.string() + "' in {workdir}");
    const fs::path to = workdir / name;
    std::error_code ec;
    if (!fs::exists(from, ec))
      return Status::Failed("experiment.files: '" + rel + "' does not exist in " + base.string());
    fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::Failed("cannot copy '" + rel + "' into " + workdir.string() + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

Status RemoveWorkdir(const Plan& plan, const std::string& workdir) {
  std::error_code ec;
  if (!fs::exists(workdir, ec)) return Status::Ok();
  if (plan.experiment.git_worktree && fs::exists(fs::path(workdir) / ".git", ec)) {
    if (auto top = RepoTop(plan); top.ok())
      (void)RunQuiet({"git", "-C", *top, "worktree", "remove", "--force", workdir});
  }
  fs::remove_all(workdir, ec);
  if (ec) return Status::Failed("cannot remove " + workdir + ": " + ec.message());
  if (plan.experiment.git_worktree) {
    if (auto top = RepoTop(plan); top.ok()) (void)RunQuiet({"git", "-C", *top, "worktree", "prune"});
  }
  return Status::Ok();
}

Status PrepareWorkdir(const Plan& plan, const std::string& workdir, const std::vector<std::string>& patches) {
  if (auto s = RemoveWorkdir(plan, workdir); !s.ok()) return s;
  std::error_code ec;
  fs::create_directories(fs::path(workdir).parent_path(), ec);
  if (ec) return Status::Failed("cannot create " + fs::path(workdir).parent_path().string() + ": " + ec.message());
  if (plan.experiment.git_worktree) {
    auto top = RepoTop(plan);
    if (!top.ok()) return top.status();
    auto added = RunQuiet({"git", "-C", *top, "worktree", "add", "--detach", fs::absolute(workdir).string(), "HEAD"});
    if (!added.ok()) return added.status();
  } else {
    fs::create_directories(workdir, ec);
    if (ec) return Status::Failed("cannot create " + workdir + ": " + ec.message());
    if (auto s = CopyFiles(plan, workdir); !s.ok()) return s;
  }
  auto applied = ApplyPatches(workdir, patches);
  if (!applied.ok()) return applied.status();
  return Status::Ok();
}

}  // namespace dsx::autolab
