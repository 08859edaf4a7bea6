// registry.hpp: create/load/save/list on a real temporary folder, and every way a folder can be
// wrong (half-written by a killed dsx, damaged, unknown, not an id) reported without harm.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/fs.hpp"
#include "jobs/registry.hpp"

using dsx::Code;
using namespace dsx::jobs;
namespace stdfs = std::filesystem;

namespace {

constexpr std::int64_t kNow = 1796607000000;  // 2026-12-07 01:30:00 UTC

struct TempDir {
  stdfs::path path;
  TempDir() {
    std::string t = (stdfs::temp_directory_path() / "dsx-registry-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    stdfs::permissions(path, stdfs::perms::owner_all, stdfs::perm_options::add, ec);
    stdfs::remove_all(path, ec);
  }
};

JobRequest Request(std::string name = "train") {
  JobRequest r;
  r.name = std::move(name);
  r.command = {"python3", "{jobdir}/train.py"};
  r.files = {{"train.py", "print('hello')\n"}};
  r.secret_env = {"HF_TOKEN"};
  return r;
}

void Write(const stdfs::path& p, const std::string& s) { std::ofstream(p) << s; }

}  // namespace

TEST_CASE("the default root follows DSX_JOBS_DIR, then XDG_DATA_HOME, then HOME") {
  const char* old_dir = std::getenv("DSX_JOBS_DIR");
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  const std::string saved_dir = old_dir ? old_dir : "", saved_xdg = old_xdg ? old_xdg : "";
  ::setenv("DSX_JOBS_DIR", "/j", 1);
  ::setenv("XDG_DATA_HOME", "/x", 1);
  CHECK(DefaultRegistryRoot() == "/j");
  ::unsetenv("DSX_JOBS_DIR");
  CHECK(DefaultRegistryRoot() == "/x/dsx/jobs");
  ::unsetenv("XDG_DATA_HOME");
  CHECK(DefaultRegistryRoot() ==
        std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.local/share/dsx/jobs");
  if (old_dir) ::setenv("DSX_JOBS_DIR", saved_dir.c_str(), 1);
  if (old_xdg) ::setenv("XDG_DATA_HOME", saved_xdg.c_str(), 1);
}

TEST_CASE("open creates the folder; an unwritable one is unavailable") {
  TempDir t;
  auto reg = Registry::Open((t.path / "a/b/jobs/").string());
  REQUIRE(reg.ok());
  CHECK(stdfs::is_directory(t.path / "a/b/jobs"));
  CHECK(reg->root() == (t.path / "a/b/jobs").string());
  CHECK(reg->Dir("j-20261207-013000-3fa9c1") == reg->root() + "/j-20261207-013000-3fa9c1");
  if (::geteuid() != 0) {  // root writes anywhere
    stdfs::permissions(t.path / "a", stdfs::perms::owner_read | stdfs::perms::owner_exec);
    auto ro = Registry::Open((t.path / "a/b").string());
    CHECK(ro.status().code() == Code::kUnavailable);
    auto missing = Registry::Open((t.path / "a/new").string());
    CHECK(missing.status().code() == Code::kUnavailable);
  }
  CHECK(Registry::Open("").status().code() == Code::kUsage);
}

TEST_CASE("create writes the folder and load reads back the request, queued") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  REQUIRE(reg.ok());
  auto rec = reg->Create(Request(), kNow);
  REQUIRE(rec.ok());
  CHECK(IsValidJobId(rec->id));
  CHECK(rec->id.rfind("j-20261207-013000-", 0) == 0);
  CHECK(rec->created_ms == kNow);
  CHECK(rec->updated_ms == kNow);
  CHECK(rec->status.state == JobState::kQueued);
  const stdfs::path dir = reg->Dir(rec->id);
  CHECK(*dsx::fs::ReadFile(dir / "train.py") == "print('hello')\n");
  CHECK(stdfs::exists(dir / "job.json"));
  CHECK(!stdfs::exists(dir / "state.json"));
  // No .tmp- folder is left once Create returned.
  int entries = 0;
  for (auto& e : stdfs::directory_iterator(t.path)) (void)e, ++entries;
  CHECK(entries == 1);

  auto loaded = reg->Load(rec->id);
  REQUIRE(loaded.ok());
  CHECK(ToJson(*loaded) == ToJson(*rec));
  CHECK(loaded->request.secret_env == std::vector<std::string>{"HF_TOKEN"});
}

TEST_CASE("save keeps the mutable part in state.json and load merges it") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto rec = reg->Create(Request(), kNow);
  REQUIRE(rec.ok());
  JobRecord r = *rec;
  r.backend_id = "4242";
  r.url = "";
  r.session = "jobs/" + r.id;
  r.server = "http://127.0.0.1:7070";
  r.status = {JobState::kRunning, "running", "pid 4243", std::nullopt};
  r.started_ms = kNow + 10;
  r.updated_ms = kNow + 10;
  REQUIRE(reg->Save(r).ok());
  auto loaded = reg->Load(r.id);
  REQUIRE(loaded.ok());
  CHECK(ToJson(*loaded) == ToJson(r));

  // The request cannot be changed through Save: job.json is written once.
  JobRecord changed = r;
  changed.request.command = {"rm", "-rf", "/"};
  changed.created_ms = 5;
  REQUIRE(reg->Save(changed).ok());
  auto again = reg->Load(r.id);
  CHECK(again->request.command == r.request.command);
  CHECK(again->created_ms == kNow);
  auto state = nlohmann::json::parse(*dsx::fs::ReadFile(stdfs::path(reg->Dir(r.id)) / "state.json"));
  CHECK(!state.contains("request"));
  CHECK(state["status"]["state"] == "running");

  JobRecord ghost = r;
  ghost.id = "j-20261207-013000-000000";
  CHECK(reg->Save(ghost).code() == Code::kNotFound);
}

TEST_CASE("events are appended as one JSON line each") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto rec = reg->Create(Request(), kNow);
  REQUIRE(rec.ok());
  REQUIRE(reg->AppendEvent(rec->id, {{"ms", kNow}, {"state", "queued"}, {"detail", ""}}).ok());
  REQUIRE(reg->AppendEvent(rec->id, {{"ms", kNow + 1}, {"state", "running"}, {"detail", "two\nlines"}}).ok());
  auto text = *dsx::fs::ReadFile(stdfs::path(reg->Dir(rec->id)) / "events.jsonl");
  auto nl = text.find('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(nlohmann::json::parse(text.substr(0, nl))["state"] == "queued");
  auto second = nlohmann::json::parse(text.substr(nl + 1));
  CHECK(second["detail"] == "two\nlines");
  CHECK(text.back() == '\n');
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
  CHECK(reg->AppendEvent("nope", {{"ms", 1}}).code() == Code::kUsage);
  CHECK(reg->AppendEvent("j-20261207-013000-000000", {{"ms", 1}}).code() == Code::kNotFound);
  CHECK(reg->AppendEvent(rec->id, nlohmann::json::array()).code() == Code::kUsage);
}

TEST_CASE("file names that would escape the folder or clobber dsx's files are refused, nothing written") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  for (const char* bad :
       {"../evil.py", "a/b.py", "..", ".", "", ".hidden", "job.json", "state.json", "local.json", "x..y"}) {
    INFO(bad);
    JobRequest r = Request();
    r.files[bad] = "x";
    auto rec = reg->Create(r, kNow);
    CHECK(rec.status().code() == Code::kUsage);
  }
  CHECK(stdfs::is_empty(t.path));
  CHECK(!stdfs::exists(t.path.parent_path() / "evil.py"));
}

TEST_CASE("load: a bad id is usage before touching the disk, an unknown one not found") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto bad = reg->Load("../../etc");
  CHECK(bad.status().code() == Code::kUsage);
  auto none = reg->Load("j-20261207-013000-abcdef");
  CHECK(none.status().code() == Code::kNotFound);
  CHECK(none.status().message() == "no job 'j-20261207-013000-abcdef' (see dsx jobs list)");
}

TEST_CASE("damaged folders fail load with the file named, and list reports them without failing") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto good = reg->Create(Request("good"), kNow);
  REQUIRE(good.ok());

  const std::string no_job = "j-20261207-013001-000001";
  stdfs::create_directory(t.path / no_job);  // a folder with no job.json
  const std::string torn = "j-20261207-013001-000002";
  stdfs::create_directory(t.path / torn);
  Write(t.path / torn / "job.json", "{\"id\": \"j-2026");  // torn write
  const std::string wrong_type = "j-20261207-013001-000003";
  stdfs::create_directory(t.path / wrong_type);
  Write(t.path / wrong_type / "job.json",
        nlohmann::json({{"id", wrong_type}, {"request", {{"timeout_s", "1h"}}}}).dump());
  const std::string other_id = "j-20261207-013001-000004";
  stdfs::create_directory(t.path / other_id);
  Write(t.path / other_id / "job.json",
        nlohmann::json({{"id", good->id}, {"request", nlohmann::json::object()}}).dump());
  const std::string bad_state = "j-20261207-013001-000005";
  stdfs::create_directory(t.path / bad_state);
  Write(t.path / bad_state / "job.json",
        nlohmann::json({{"id", bad_state}, {"request", nlohmann::json::object()}}).dump());
  Write(t.path / bad_state / "state.json", nlohmann::json({{"status", {{"state", "exploded"}}}}).dump());
  stdfs::create_directory(t.path / "notes");  // not a job folder at all
  Write(t.path / "README", "stray file");     // stray files are not reported

  CHECK(reg->Load(no_job).status().message() == "job '" + no_job + "': job.json is damaged: missing");
  CHECK(reg->Load(torn).status().message() == "job '" + torn + "': job.json is damaged: not valid JSON");
  CHECK(reg->Load(wrong_type).status().message() ==
        "job '" + wrong_type + "': job.json is damaged: 'request.timeout_s' must be an integer");
  CHECK(reg->Load(other_id).status().message().find("it names job '" + good->id + "'") != std::string::npos);
  CHECK(reg->Load(bad_state).status().code() == Code::kFailed);
  CHECK(reg->Load(bad_state).status().message().find("state.json is damaged: 'status.state'") != std::string::npos);

  std::vector<std::string> problems;
  auto list = reg->List(&problems);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 1);
  CHECK(list->front().id == good->id);
  CHECK(problems.size() == 6);
  // The folders are left as they were: a person may want to look at them.
  CHECK(stdfs::exists(t.path / torn / "job.json"));
  CHECK(reg->List().ok());  // problems are optional
}

TEST_CASE("a .tmp- folder from a killed dsx is skipped while young and removed once old") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto good = reg->Create(Request(), kNow);
  REQUIRE(good.ok());
  // What Create leaves when killed between writing job.json and the rename.
  const auto young = t.path / ".tmp-j-20261207-013002-00000a";
  const auto old = t.path / ".tmp-j-20261207-013002-00000b";
  for (const auto& d : {young, old}) {
    stdfs::create_directory(d);
    Write(d / "job.json", "{\"id\":");
  }
  stdfs::last_write_time(old, stdfs::file_time_type::clock::now() - std::chrono::hours(2));

  std::vector<std::string> problems;
  auto list = reg->List(&problems);
  REQUIRE(list.ok());
  CHECK(list->size() == 1);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find(".tmp-j-20261207-013002-00000b") != std::string::npos);
  CHECK(problems[0].find("removed") != std::string::npos);
  CHECK(!stdfs::exists(old));
  CHECK(stdfs::exists(young));  // may be another dsx's Create in progress
  CHECK(reg->Load("j-20261207-013002-00000a").status().code() == Code::kNotFound);
}

TEST_CASE("list is newest first") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  auto a = reg->Create(Request("a"), kNow);
  auto b = reg->Create(Request("b"), kNow + 5000);
  auto c = reg->Create(Request("c"), kNow + 2000);
  REQUIRE((a.ok() && b.ok() && c.ok()));
  auto list = reg->List();
  REQUIRE(list.ok());
  REQUIRE(list->size() == 3);
  CHECK((*list)[0].request.name == "b");
  CHECK((*list)[1].request.name == "c");
  CHECK((*list)[2].request.name == "a");
}

// Regression (fuzz_client_inputs): a request with bytes that are not UTF-8 made the JSON writer
// throw inside Create, which ended the dsx process.
TEST_CASE("create refuses a request that is not UTF-8 and writes nothing; state text is stored lossy") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  REQUIRE(reg.ok());
  JobRequest bad = Request();
  bad.command.push_back("caf\xe9");  // Latin-1
  auto rec = reg->Create(bad, kNow);
  REQUIRE(!rec.ok());
  CHECK(rec.status().code() == dsx::Code::kUsage);
  CHECK(rec.status().message().find("UTF-8") != std::string::npos);
  CHECK(stdfs::is_empty(t.path));
  bad = Request();
  bad.env["NOTE"] = "\x81";
  CHECK(CheckRequestText(bad).code() == dsx::Code::kUsage);
  CHECK(CheckRequestText(Request()).ok());

  auto good = reg->Create(Request(), kNow);
  REQUIRE(good.ok());
  good->status.detail = "node said \xff";  // a backend's bytes: display only
  REQUIRE(reg->Save(*good).ok());
  REQUIRE(reg->AppendEvent(good->id, {{"detail", "\xff"}}).ok());
  auto back = reg->Load(good->id);
  REQUIRE(back.ok());
  CHECK(back->status.detail == "node said \xef\xbf\xbd");
}

// Regression: a job.json whose meta nests 100,000 deep (edited by hand, or damaged) made
// `dsx jobs status` overflow the stack; it is now a damaged job like any other.
TEST_CASE("a job.json nested too deep is reported damaged, not a crash") {
  TempDir t;
  auto reg = Registry::Open(t.path.string());
  REQUIRE(reg.ok());
  auto rec = reg->Create(Request(), kNow);
  REQUIRE(rec.ok());
  const stdfs::path job = reg->Dir(rec->id) + "/job.json";
  std::string text = *dsx::fs::ReadFile(job);
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto at = text.find("\"meta\": {}");
  REQUIRE(at != std::string::npos);
  text.replace(at, 10, "\"meta\": {\"x\": " + deep + "}");
  Write(job, text);
  auto loaded = reg->Load(rec->id);
  REQUIRE(!loaded.ok());
  CHECK(loaded.status().message().find("damaged") != std::string::npos);
  std::vector<std::string> problems;
  auto all = reg->List(&problems);
  REQUIRE(all.ok());
  CHECK(all->empty());
  CHECK(problems.size() == 1);
}
