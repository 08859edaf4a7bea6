// workspace.hpp: an experiment's working folder, made fresh for every attempt: files copied by name,
// paths outside the plan's folder and duplicate names refused, patches applied (all or nothing),
// and a git worktree of the plan's repository at HEAD (registered, and unregistered on removal).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "autolab/plan.hpp"
#include "autolab/workspace.hpp"

namespace al = dsx::autolab;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/dsx-autolab-workspace-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

const char* kPatch = "--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-w=1\n+w=2\n";

}  // namespace

TEST_CASE("files are copied by name, folders whole; a fresh folder every time") {
  TempDir t;
  Write(t.path / "plan" / "digits" / "train.py", "w=1\n");
  Write(t.path / "plan" / "data" / "a.txt", "a\n");
  al::Plan plan;
  plan.dir = (t.path / "plan").string();
  plan.experiment.files = {"digits/train.py", "data"};
  const std::string work = (t.path / "run" / "experiments" / "e-1").string();
  REQUIRE(al::PrepareWorkdir(plan, work, {}).ok());
  CHECK(Read(fs::path(work) / "train.py") == "w=1\n");
  CHECK(Read(fs::path(work) / "data" / "a.txt") == "a\n");

  Write(fs::path(work) / "left-over", "from an earlier attempt");
  REQUIRE(al::PrepareWorkdir(plan, work, {kPatch}).ok());
  CHECK(!fs::exists(fs::path(work) / "left-over"));
  CHECK(Read(fs::path(work) / "train.py") == "w=2\n");
  CHECK(Read(t.path / "plan" / "digits" / "train.py") == "w=1\n");  // the plan's copy is untouched
}

TEST_CASE("refused: a path outside the plan's folder, two entries with one name, a missing file, a bad patch") {
  TempDir t;
  Write(t.path / "plan" / "a" / "train.py", "w=1\n");
  Write(t.path / "plan" / "b" / "train.py", "w=1\n");
  Write(t.path / "secret.txt", "no\n");
  al::Plan plan;
  plan.dir = (t.path / "plan").string();
  const std::string work = (t.path / "work").string();

  plan.experiment.files = {"../secret.txt"};
  auto outside = al::PrepareWorkdir(plan, work, {});
  CHECK(outside.message().find("outside the plan's folder") != std::string::npos);
  plan.experiment.files = {(t.path / "secret.txt").string()};
  CHECK(al::PrepareWorkdir(plan, work, {}).message().find("outside") != std::string::npos);

  plan.experiment.files = {"a/train.py", "b/train.py"};
  CHECK(al::PrepareWorkdir(plan, work, {}).message().find("two entries are named 'train.py'") != std::string::npos);

  plan.experiment.files = {"c/train.py"};
  CHECK(al::PrepareWorkdir(plan, work, {}).message().find("does not exist") != std::string::npos);

  plan.experiment.files = {"a/train.py"};
  auto bad = al::PrepareWorkdir(plan, work, {"--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-nope\n+w=3\n"});
  REQUIRE(!bad.ok());
  CHECK(bad.message().find("does not apply") != std::string::npos);
  CHECK(Read(fs::path(work) / "train.py") == "w=1\n");  // all or nothing
}

TEST_CASE("git_worktree: a detached worktree of the plan's repository at HEAD, unregistered on removal") {
  TempDir t;
  const fs::path repo = t.path / "repo";
  Write(repo / "train.py", "w=1\n");
  const std::string git = "git -C '" + repo.string() + "' -c user.email=t@t -c user.name=t ";
  REQUIRE(std::system((git + "init -q").c_str()) == 0);
  REQUIRE(std::system((git + "add train.py").c_str()) == 0);
  REQUIRE(std::system((git + "commit -q -m one").c_str()) == 0);
  Write(repo / "train.py", "w=1\n# uncommitted\n");  // committed content only

  al::Plan plan;
  plan.dir = repo.string();
  plan.experiment.git_worktree = true;
  const std::string work = (t.path / "run" / "e-1").string();
  auto made = al::PrepareWorkdir(plan, work, {kPatch});
  REQUIRE_MESSAGE(made.ok(), made.message());
  CHECK(Read(fs::path(work) / "train.py") == "w=2\n");
  CHECK(fs::exists(fs::path(work) / ".git"));

  // Again (a retry): the old worktree is unregistered and a new one made.
  REQUIRE(al::PrepareWorkdir(plan, work, {}).ok());
  CHECK(Read(fs::path(work) / "train.py") == "w=1\n");
  REQUIRE(al::RemoveWorkdir(plan, work).ok());
  CHECK(!fs::exists(work));
  const std::string list = t.path.string() + "/worktrees.txt";
  REQUIRE(std::system((git + "worktree list > '" + list + "'").c_str()) == 0);
  CHECK(Read(list).find(work) == std::string::npos);

  al::Plan not_a_repo;
  not_a_repo.dir = (t.path / "run").string();
  fs::create_directories(not_a_repo.dir);
  not_a_repo.experiment.git_worktree = true;
  auto refused = al::PrepareWorkdir(not_a_repo, (t.path / "w2").string(), {});
  CHECK(refused.message().find("not in a git repository") != std::string::npos);
}
