// publish.hpp, hub_dataset.hpp, trackio_export.hpp: the rows a ledger gives; the real HTTP client
// (CurlTransport) against a local server that implements the Hub's documented commit API
// (preupload, repos/create, the ndjson commit; X-Error-Code; 401/5xx), checking every request
// body byte for byte and the decoded files against the rows; the token only ever in the
// Authorization header; the trackio project file read back with sqlite3 against trackio 0.36.0's
// schema; the plan's publish: section with line and column.
#include <doctest/doctest.h>

#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "../net/loopback.hpp"
#include "autolab/hub_dataset.hpp"
#include "autolab/ledger.hpp"
#include "autolab/publish.hpp"
#include "autolab/trackio_export.hpp"
#include "core/clock.hpp"
#include "core/hash.hpp"

using namespace dsx;
using namespace dsx::autolab;
using nlohmann::json;

namespace {

constexpr const char* kToken = "hf_publishS3cretT0ken";

struct TempDir {
  std::string path;
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "dsx-publish-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct FakeEnv {
  std::map<std::string, std::string> vars;
  jobs::hf::GetEnv fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

// An independent RFC 4648 decoder (the client encodes with jobs::hf::Base64Encode).
std::string Base64Decode(const std::string& in) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    if (c == '=') break;
    auto pos = kAlphabet.find(c);
    REQUIRE(pos != std::string::npos);
    acc = (acc << 6) | static_cast<int>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// A local Hub: dataset repos in memory, speaking the endpoints huggingface_hub uses to commit
// (see hub_dataset.hpp): POST /api/datasets/<repo>/preupload/<rev>, POST /api/repos/create,
// POST /api/datasets/<repo>/commit/<rev>. Only branch "main" exists. Bearer kToken is the one token
// it accepts (401 with the Hub's X-Error-Message otherwise). `fail_with` > 0 answers every request
// with that status; `echo_auth_in_errors` puts the Authorization header into error bodies (a
// server that leaks, to check the client scrubs it).
class FakeHub {
 public:
  struct Request {
    std::string method, path, headers, body;
    std::string Header(const std::string& name) const {
      std::string lower = headers, want = name + ":";
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (auto& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t at = lower.find("\r\n" + want);
      if (at == std::string::npos) return "";
      size_t start = at + 2 + want.size();
      size_t end = headers.find("\r\n", start);
      std::string v = headers.substr(start, end == std::string::npos ? std::string::npos : end - start);
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      return v;
    }
  };
  struct Repo {
    bool is_private = false;
    std::map<std::string, std::string> files;
    int commits = 0;
  };

  std::map<std::string, Repo> repos;             // guarded by mu (tests read it after the client returned)
  std::map<std::string, std::string> lfs_store;  // sha256 -> bytes: the storage behind presigned URLs
  std::set<std::string> lfs_paths;               // "<repo>:<path>" committed as LFS pointers
  std::atomic<int> fail_with{0};
  std::atomic<bool> echo_auth_in_errors{false};
  std::atomic<size_t> lfs_over{10 * 1024 * 1024};  // files larger than this are "lfs"

  FakeHub() {
    fd_ = dsx::testing::ListenLoopback(16, &port_);
    REQUIRE(fd_ >= 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~FakeHub() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> l(mu);
    return requests_;
  }
  std::mutex mu;

 private:
  struct Reply {
    int status = 200;
    std::string body;
    std::vector<std::string> headers;
  };

  static Reply Json(int status, const json& body, std::vector<std::string> headers = {}) {
    return {status, body.dump(), std::move(headers)};
  }

  Reply Error(int status, const std::string& message, const Request& r, std::vector<std::string> headers = {}) {
    std::string said = message;
    if (echo_auth_in_errors) said += " (you sent " + r.Header("Authorization") + ")";
    return Json(status, {{"error", said}}, std::move(headers));
  }

  static std::string GitBlob(const std::string& content) { return GitBlobSha1(content); }

  Reply Handle(const Request& r) {
    if (fail_with > 0) return Error(fail_with, "the Hub is having a bad day", r);
    // The presigned storage URL: authorised by the URL itself (a bearer token here is a leak).
    if (r.method == "PUT" && r.path.rfind("/lfs-store/", 0) == 0) {
      if (!r.Header("Authorization").empty()) return Error(400, "storage got an Authorization header", r);
      std::string oid = r.path.substr(11);
      if (hash::Sha256Hex(r.body) != oid) return Error(400, "content does not match its oid", r);
      std::lock_guard<std::mutex> l(mu);
      lfs_store[oid] = r.body;
      return {200, "", {}};
    }
    if (r.Header("Authorization") != std::string("Bearer ") + kToken) {
      return Error(401, "Invalid credentials in Authorization header", r,
                   {"X-Error-Message: Invalid credentials in Authorization header"});
    }
    if (r.method != "POST") return Error(405, "method not allowed", r);
    if (r.path == "/api/repos/create") {
      json body = json::parse(r.body, nullptr, false);
      if (body.is_discarded() || body.value("type", "") != "dataset") return Error(400, "bad create body", r);
      std::string id = body.value("organization", "") + "/" + body.value("name", "");
      std::lock_guard<std::mutex> l(mu);
      if (repos.count(id)) return Error(409, "You already created this dataset repo", r);
      repos[id].is_private = body.value("private", false);
      return Json(200, {{"url", url() + "/datasets/" + id}, {"name", id}});
    }
    if (r.path == "/lfs-verify") {
      json body = json::parse(r.body, nullptr, false);
      std::lock_guard<std::mutex> l(mu);
      auto it = lfs_store.find(body.value("oid", ""));
      if (it == lfs_store.end() || body.value("size", -1) != static_cast<long>(it->second.size())) {
        return Error(404, "object not uploaded", r);
      }
      return Json(200, {{"message", "verified"}});
    }
    const std::string lfs_suffix = ".git/info/lfs/objects/batch";
    if (r.path.rfind("/datasets/", 0) == 0 && r.path.size() > lfs_suffix.size() &&
        r.path.compare(r.path.size() - lfs_suffix.size(), lfs_suffix.size(), lfs_suffix) == 0) {
      if (r.Header("Accept") != "application/vnd.git-lfs+json") return Error(406, "git-lfs media type expected", r);
      json body = json::parse(r.body, nullptr, false);
      if (body.is_discarded() || body.value("operation", "") != "upload" || body.value("hash_algo", "") != "sha256" ||
          body["transfers"] != json{"basic"} || body["ref"]["name"] != "main") {
        return Error(400, "bad batch body", r);
      }
      std::lock_guard<std::mutex> l(mu);
      json objects = json::array();
      for (const auto& o : body["objects"]) {
        json out = {{"oid", o["oid"]}, {"size", o["size"]}};
        if (!lfs_store.count(o["oid"])) {
          out["actions"] = {{"upload", {{"href", url() + "/lfs-store/" + o["oid"].get<std::string>()}}},
                            {"verify", {{"href", url() + "/lfs-verify"}}}};
        }
        objects.push_back(out);
      }
      return Json(200, {{"transfer", "basic"}, {"objects", objects}});
    }
    const std::string prefix = "/api/datasets/";
    if (r.path.rfind(prefix, 0) != 0) return Error(404, "no such route", r);
    // /api/datasets/<owner>/<name>/<action>/<rev>
    std::string rest = r.path.substr(prefix.size());
    std::vector<std::string> parts;
    for (size_t s = 0;;) {
      size_t e = rest.find('/', s);
      parts.push_back(rest.substr(s, e == std::string::npos ? std::string::npos : e - s));
      if (e == std::string::npos) break;
      s = e + 1;
    }
    if (parts.size() != 4) return Error(404, "no such route", r);
    std::string id = parts[0] + "/" + parts[1], action = parts[2], rev = parts[3];
    std::lock_guard<std::mutex> l(mu);
    auto repo = repos.find(id);
    if (repo == repos.end()) return Error(404, "Repository not found", r, {"X-Error-Code: RepoNotFound"});
    if (rev != "main") return Error(404, "Invalid rev id: " + rev, r, {"X-Error-Code: RevisionNotFound"});
    if (action == "preupload") {
      json body = json::parse(r.body, nullptr, false);
      if (body.is_discarded() || !body.contains("files")) return Error(400, "bad preupload body", r);
      json files = json::array();
      for (const auto& f : body["files"]) {
        std::string path = f["path"];
        size_t size = f["size"];
        json oid = nullptr;
        if (auto it = repo->second.files.find(path); it != repo->second.files.end()) {
          oid = lfs_paths.count(id + ":" + path) ? hash::Sha256Hex(it->second) : GitBlob(it->second);
        }
        files.push_back({{"path", path},
                         {"uploadMode", size > lfs_over ? "lfs" : "regular"},
                         {"shouldIgnore", false},
                         {"oid", oid}});
      }
      return Json(200, {{"files", files}, {"commitOid", "0000"}});
    }
    if (action == "commit") {
      if (r.Header("Content-Type") != "application/x-ndjson") return Error(400, "expected application/x-ndjson", r);
      std::vector<json> lines;
      size_t s = 0;
      while (s < r.body.size()) {
        size_t e = r.body.find('\n', s);
        if (e == std::string::npos) return Error(400, "ndjson line without newline", r);
        json line = json::parse(r.body.substr(s, e - s), nullptr, false);
        if (line.is_discarded()) return Error(400, "a line is not JSON", r);
        lines.push_back(line);
        s = e + 1;
      }
      if (lines.empty() || lines[0].value("key", "") != "header") return Error(400, "first line must be the header", r);
      for (size_t i = 1; i < lines.size(); ++i) {
        const json& v = lines[i]["value"];
        if (lines[i].value("key", "") == "lfsFile") {
          auto it = lfs_store.find(v.value("oid", ""));
          if (v.value("algo", "") != "sha256" || it == lfs_store.end() ||
              v.value("size", -1) != static_cast<long>(it->second.size())) {
            return Error(400, "Your push was rejected because an LFS pointer pointed to a file that does not exist", r);
          }
          repo->second.files[v["path"]] = it->second;
          lfs_paths.insert(id + ":" + v["path"].get<std::string>());
          continue;
        }
        if (lines[i].value("key", "") != "file" || v.value("encoding", "") != "base64") {
          return Error(400, "unknown commit line", r);
        }
        if (v["content"].get<std::string>().size() * 3 / 4 > lfs_over) return Error(400, "file too large: use LFS", r);
        repo->second.files[v["path"]] = Base64Decode(v["content"]);
        lfs_paths.erase(id + ":" + v["path"].get<std::string>());
      }
      int n = ++repo->second.commits;
      return Json(200, {{"commitUrl", url() + "/datasets/" + id + "/commit/c" + std::to_string(n)},
                        {"commitOid", "c" + std::to_string(n)},
                        {"pullRequestUrl", nullptr}});
    }
    return Error(404, "no such route", r);
  }

  void Loop() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      Serve(c);
      close(c);
    }
  }
  void Serve(int c) {
    std::string in;
    char buf[8192];
    size_t header_end;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    Request req;
    req.headers = in.substr(0, header_end);
    size_t sp1 = req.headers.find(' '), sp2 = req.headers.find(' ', sp1 + 1);
    req.method = req.headers.substr(0, sp1);
    req.path = req.headers.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string cl = req.Header("Content-Length");
    size_t want = cl.empty() ? 0 : std::stoul(cl);
    req.body = in.substr(header_end + 4);
    while (req.body.size() < want) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      req.body.append(buf, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> l(mu);
      requests_.push_back(req);
    }
    Reply reply = Handle(req);
    std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Type: application/json\r\n";
    for (const auto& h : reply.headers) out += h + "\r\n";
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\nConnection: close\r\n\r\n" + reply.body;
    send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<Request> requests_;
};

// A ledger with three experiments: e1 finished with a curve, e2 failed after one point, e3 still
// queued (no final row yet).
struct LabFixture {
  TempDir dir;
  ManualClock clock{1'765'000'000'000};
  std::unique_ptr<Ledger> ledger;
  std::string a, b, c;
  Plan plan;

  LabFixture() {
    auto l = Ledger::Open(dir.path + "/ledger.sqlite", clock);
    REQUIRE(l.ok());
    ledger = std::move(*l);
    plan.name = "digits";
    plan.objective.metric = "val_loss";
    a = Propose({{"lr", 0.1}, {"width", 32}}, 0, "lr 0.1");
    b = Propose({{"lr", 0.5}, {"width", 32}}, 0, "lr 0.5");
    c = Propose({{"lr", 0.1}, {"width", 32}}, 1, "lr 0.1");
    for (const auto& id : {a, b, c}) REQUIRE(ledger->Queue(id).ok());
    clock.Advance(1000);
    REQUIRE(ledger->Start(a, "j1", "host", 11).ok());
    REQUIRE(ledger->Start(b, "j2", "host", 12).ok());
    REQUIRE(ledger->AddIntermediate(a, 20, 0.5).ok());
    REQUIRE(ledger->AddIntermediate(a, 10, 0.9).ok());
    REQUIRE(ledger->AddIntermediate(b, 10, 2.5).ok());
    clock.Advance(2500);
    REQUIRE(ledger->Finish(a, 0.42, "log").ok());
    REQUIRE(ledger->Fail(b, "diverged").ok());
  }
  std::string Propose(json params, std::int64_t seed, std::string hypothesis) {
    ExperimentRecord e;
    e.params = std::move(params);
    e.seed = seed;
    e.hypothesis = std::move(hypothesis);
    auto r = ledger->Propose(e);
    REQUIRE(r.ok());
    return ExperimentId(e.params, e.seed, "");
  }
  json Row(const std::string& id, json step, json value, bool final, const char* state) {
    auto e = ledger->Get(id);
    REQUIRE(e.ok());
    return {{"run", "digits"},
            {"experiment", id},
            {"config", e->config_key},
            {"seed", e->seed},
            {"hypothesis", e->hypothesis},
            {"params", e->params},
            {"metric", "val_loss"},
            {"step", step},
            {"value", value},
            {"final", final},
            {"state", state}};
  }
  std::vector<json> ExpectedRows() {
    std::vector<std::pair<std::string, std::vector<json>>> per = {
        {a,
         {Row(a, 10, 0.9, false, "finished"), Row(a, 20, 0.5, false, "finished"),
          Row(a, nullptr, 0.42, true, "finished")}},
        {b, {Row(b, 10, 2.5, false, "failed"), Row(b, nullptr, nullptr, true, "failed")}},
        {c, {}}};
    std::sort(per.begin(), per.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<json> out;
    for (auto& [id, rows] : per) out.insert(out.end(), rows.begin(), rows.end());
    return out;
  }
};

PublishOptions HubOptions(const std::string& endpoint, ManualClock& clock, const FakeEnv& env,
                          const std::string& token = kToken) {
  PublishOptions o;
  o.hub.endpoint = endpoint;
  o.hub.token = token;
  o.hub.clock = &clock;
  o.hub.getenv = env.fn();
  o.hub.request_timeout_ms = 20000;
  return o;
}

// The rows of the commit's file at `path`, decoded from the request body's base64.
std::string CommittedFile(const FakeHub::Request& commit, const std::string& path) {
  size_t s = 0;
  while (s < commit.body.size()) {
    size_t e = commit.body.find('\n', s);
    json line = json::parse(commit.body.substr(s, e - s));
    if (line["key"] == "file" && line["value"]["path"] == path) return Base64Decode(line["value"]["content"]);
    s = e + 1;
  }
  FAIL("no file " << path << " in the commit");
  return "";
}

}  // namespace

// ------------------------------------------------------------------------------------------------

TEST_CASE("publish: git blob ids are git's (git hash-object)") {
  CHECK(GitBlobSha1("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  CHECK(GitBlobSha1("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a");
}

TEST_CASE("publish: the commit payload is huggingface_hub's ndjson") {
  std::string body = CommitPayload("sum \"q\"", "", {{"autolab/a.jsonl", "hi\n"}, {"x/b.md", ""}});
  CHECK(body ==
        "{\"key\":\"header\",\"value\":{\"description\":\"\",\"summary\":\"sum \\\"q\\\"\"}}\n"
        "{\"key\":\"file\",\"value\":{\"content\":\"aGkK\",\"encoding\":\"base64\",\"path\":\"autolab/a.jsonl\"}}\n"
        "{\"key\":\"file\",\"value\":{\"content\":\"\",\"encoding\":\"base64\",\"path\":\"x/b.md\"}}\n");
}

TEST_CASE("publish: the preupload answer is read strictly") {
  auto ok = ParsePreuploadAnswer(R"({"files":[{"path":"a","uploadMode":"regular","shouldIgnore":false,"oid":"ab"},)"
                                 R"({"path":"b","uploadMode":"lfs","shouldIgnore":true,"oid":null}],"commitOid":"x"})");
  REQUIRE(ok.ok());
  CHECK(ok->at("a").upload_mode == "regular");
  CHECK(ok->at("a").oid == "ab");
  CHECK(ok->at("b").should_ignore);
  CHECK(ok->at("b").oid.empty());
  for (const char* bad :
       {"", "[]", "{}", R"({"files":{}})", R"({"files":[1]})", R"({"files":[{"path":"a"}]})",
        R"({"files":[{"path":"a","uploadMode":"xet"}]})", R"({"files":[{"path":1,"uploadMode":"lfs"}]})"}) {
    CHECK_MESSAGE(ParsePreuploadAnswer(bad).status().code() == Code::kFailed, bad);
  }
  CHECK_FALSE(ParsePreuploadAnswer(std::string(100000, '[') + std::string(100000, ']')).ok());  // depth-bounded
}

TEST_CASE("publish: repo ids follow the Hub's rule") {
  CHECK(RepoIdProblem("alice/digits-runs").empty());
  CHECK(RepoIdProblem("org_1/a.b_c-d").empty());
  CHECK_FALSE(RepoIdProblem("digits").empty());
  CHECK_FALSE(RepoIdProblem("a/b/c").empty());
  CHECK_FALSE(RepoIdProblem("alice/").empty());
  CHECK_FALSE(RepoIdProblem("alice/-x").empty());
  CHECK_FALSE(RepoIdProblem("alice/a--b").empty());
  CHECK_FALSE(RepoIdProblem("alice/a..b").empty());
  CHECK_FALSE(RepoIdProblem("alice/a b").empty());
  CHECK_FALSE(RepoIdProblem("alice/x.git").empty());
  CHECK_FALSE(RepoIdProblem("alice/" + std::string(97, 'a')).empty());
}

TEST_CASE("publish: rows come from the ledger, by experiment id then step, final last") {
  LabFixture lab;
  auto rows = MetricRows(*lab.ledger, "digits", "val_loss");
  REQUIRE(rows.ok());
  auto want = lab.ExpectedRows();
  REQUIRE(rows->size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) CHECK(rows->at(i) == want[i]);
  // JSON lines: one compact object per line, ending in a newline.
  std::string text = ToJsonLines(*rows);
  CHECK(std::count(text.begin(), text.end(), '\n') == static_cast<long>(want.size()));
  CHECK(text.substr(0, text.find('\n')) == want[0].dump());
  CHECK(ToJsonLines({}).empty());
}

TEST_CASE("publish: a missing dataset is created private, then one commit carries the rows and reports") {
  LabFixture lab;
  FakeHub hub;
  FakeEnv env;
  std::ofstream(lab.dir.path + "/results.json") << "{\"run\":\"digits\"}\n";
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  std::vector<std::string> logs;
  auto options = HubOptions(hub.url(), lab.clock, env);
  options.log = [&](const std::string& l) { logs.push_back(l); };

  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->rows == 5);
  CHECK(r->hub_committed);
  CHECK(r->hub_commit_url == hub.url() + "/datasets/alice/digits-runs/commit/c1");

  auto reqs = hub.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[0].path == "/api/datasets/alice/digits-runs/preupload/main");
  CHECK(reqs[1].path == "/api/repos/create");
  CHECK(json::parse(reqs[1].body) ==
        json{{"type", "dataset"}, {"name", "digits-runs"}, {"organization", "alice"}, {"private", true}});
  CHECK(reqs[2].path == "/api/datasets/alice/digits-runs/preupload/main");
  CHECK(reqs[3].path == "/api/datasets/alice/digits-runs/commit/main");
  for (const auto& q : reqs) CHECK(q.Header("Authorization") == std::string("Bearer ") + kToken);

  // The preupload body: path, the first 512 bytes in base64, the size.
  json pre = json::parse(reqs[2].body);
  auto rows = MetricRows(*lab.ledger, "digits", "val_loss");
  REQUIRE(rows.ok());
  std::string jsonl = ToJsonLines(*rows);
  REQUIRE(pre["files"].size() == 2);
  CHECK(pre["files"][0]["path"] == "autolab/digits.jsonl");
  CHECK(pre["files"][0]["size"] == jsonl.size());
  CHECK(Base64Decode(pre["files"][0]["sample"]) == jsonl.substr(0, 512));
  CHECK(pre["files"][1]["path"] == "autolab/reports/digits/results.json");

  // The commit: exactly the ndjson huggingface_hub would send, the content decoding to the rows.
  CHECK(reqs[3].Header("Content-Type") == "application/x-ndjson");
  CHECK(reqs[3].body == CommitPayload("dsx autolab: digits (5 rows)", "",
                                      {{"autolab/digits.jsonl", jsonl},
                                       {"autolab/reports/digits/results.json", "{\"run\":\"digits\"}\n"}}));
  CHECK(CommittedFile(reqs[3], "autolab/digits.jsonl") == jsonl);
  std::vector<json> decoded;
  std::string content = CommittedFile(reqs[3], "autolab/digits.jsonl");
  for (size_t s = 0, e; (e = content.find('\n', s)) != std::string::npos; s = e + 1) {
    decoded.push_back(json::parse(content.substr(s, e - s)));
  }
  CHECK(decoded == lab.ExpectedRows());

  std::lock_guard<std::mutex> l(hub.mu);
  CHECK(hub.repos["alice/digits-runs"].is_private);
  CHECK(hub.repos["alice/digits-runs"].files.size() == 2);
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].find(kToken) == std::string::npos);
}

TEST_CASE("publish: unchanged files are not committed again; changed ones are, in an existing repo") {
  LabFixture lab;
  FakeHub hub;
  FakeEnv env;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  config.hub_private = false;
  auto options = HubOptions(hub.url(), lab.clock, env);
  REQUIRE(Publish(lab.plan, config, *lab.ledger, lab.dir.path, options).ok());
  {
    std::lock_guard<std::mutex> l(hub.mu);
    CHECK_FALSE(hub.repos["alice/digits-runs"].is_private);
  }

  auto again = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE(again.ok());
  CHECK_FALSE(again->hub_committed);
  auto reqs = hub.requests();
  REQUIRE(reqs.size() == 5);  // preupload, create, preupload, commit; then one preupload
  CHECK(reqs[4].path == "/api/datasets/alice/digits-runs/preupload/main");

  // The queued experiment runs and finishes: the rows change, one more commit, no create.
  REQUIRE(lab.ledger->Start(lab.c, "j3", "host", 13).ok());
  REQUIRE(lab.ledger->Finish(lab.c, 0.40, "log").ok());
  auto third = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE(third.ok());
  CHECK(third->hub_committed);
  CHECK(third->rows == 6);
  reqs = hub.requests();
  REQUIRE(reqs.size() == 7);
  CHECK(reqs[6].path == "/api/datasets/alice/digits-runs/commit/main");
  std::lock_guard<std::mutex> l(hub.mu);
  CHECK(hub.repos["alice/digits-runs"].commits == 2);
  auto rows = MetricRows(*lab.ledger, "digits", "val_loss");
  CHECK(hub.repos["alice/digits-runs"].files["autolab/digits.jsonl"] == ToJsonLines(*rows));
}

TEST_CASE("publish: a refused token is kConflict and the token is in no message, even when the server echoes it") {
  LabFixture lab;
  FakeHub hub;
  hub.echo_auth_in_errors = true;
  FakeEnv env;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  std::vector<std::string> logs;
  auto options = HubOptions(hub.url(), lab.clock, env, "hf_wrongS3cret");
  options.log = [&](const std::string& l) { logs.push_back(l); };
  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK(r.status().message().find("401") != std::string::npos);
  CHECK(r.status().message().find("hf_wrongS3cret") == std::string::npos);
  CHECK(r.status().message().find("***") != std::string::npos);  // what the server echoed, scrubbed
  CHECK(hub.requests().size() == 1);                             // a refusal is not retried
  CHECK(logs.empty());
}

TEST_CASE("publish: 5xx is kUnavailable after the retries (paced by the injected clock)") {
  LabFixture lab;
  FakeHub hub;
  hub.fail_with = 503;
  hub.echo_auth_in_errors = true;
  FakeEnv env;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  auto options = HubOptions(hub.url(), lab.clock, env);
  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().find(kToken) == std::string::npos);
  CHECK(hub.requests().size() == 3);
  CHECK(lab.clock.sleeps() == std::vector<std::int64_t>{1000, 2000});

  hub.fail_with = 500;  // a 500 too: the Hub's 500s are passing trouble, not a verdict
  auto r500 = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_FALSE(r500.ok());
  CHECK(r500.status().code() == Code::kUnavailable);
}

TEST_CASE("publish: a commit answered 503 is not sent twice (it may have landed)") {
  LabFixture lab;
  FakeHub hub;
  FakeEnv env;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  {
    std::lock_guard<std::mutex> l(hub.mu);
    hub.repos["alice/digits-runs"];
  }
  HubClient::Options o;
  o.endpoint = hub.url();
  o.token = kToken;
  o.clock = &lab.clock;
  HubClient client(o);
  // preupload answers, then every request fails: the commit is tried once.
  auto pre = client.UploadToDataset("alice/digits-runs", "main", {{"a.jsonl", "x\n"}}, "s", true);
  REQUIRE(pre.ok());
  hub.fail_with = 503;
  auto r = client.UploadToDataset("alice/digits-runs", "main", {{"a.jsonl", "y\n"}}, "s", true);
  REQUIRE_FALSE(r.ok());
  auto reqs = hub.requests();
  // first upload: preupload + commit; second: preupload tried 3 times (all 503), no commit.
  REQUIRE(reqs.size() == 5);
  for (size_t i = 2; i < 5; ++i) CHECK(reqs[i].path.find("/preupload/") != std::string::npos);
}

TEST_CASE("publish: an unknown revision is kNotFound, and no repo is created for it") {
  LabFixture lab;
  FakeHub hub;
  {
    std::lock_guard<std::mutex> l(hub.mu);
    hub.repos["alice/runs"];
  }
  HubClient::Options o;
  o.endpoint = hub.url() + "/";  // a trailing slash is dropped
  o.token = kToken;
  o.clock = &lab.clock;
  HubClient client(o);
  CHECK(client.endpoint() == hub.url());
  auto r = client.UploadToDataset("alice/runs", "dev", {{"a.jsonl", "x\n"}}, "s", true);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kNotFound);
  CHECK(r.status().message().find("'dev'") != std::string::npos);
  CHECK(hub.requests().size() == 1);  // no create for a missing revision
}

TEST_CASE("publish: files the Hub wants as LFS go through the batch API; the token never goes to storage") {
  ManualClock clock;
  FakeHub hub;
  hub.lfs_over = 8;
  {
    std::lock_guard<std::mutex> l(hub.mu);
    hub.repos["alice/runs"];
  }
  HubClient::Options o;
  o.endpoint = hub.url();
  o.token = kToken;
  o.clock = &clock;
  HubClient client(o);
  const std::string big = "0123456789abcdef\n", small = "x\n";
  auto r = client.UploadToDataset("alice/runs", "main", {{"autolab/big.jsonl", big}, {"small.md", small}}, "s", true);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->committed);
  auto reqs = hub.requests();
  REQUIRE(reqs.size() == 5);
  CHECK(reqs[1].path == "/datasets/alice/runs.git/info/lfs/objects/batch");
  CHECK(reqs[1].Header("Content-Type") == "application/vnd.git-lfs+json");
  CHECK(json::parse(reqs[1].body) == json{{"operation", "upload"},
                                          {"transfers", {"basic"}},
                                          {"objects", {{{"oid", hash::Sha256Hex(big)}, {"size", big.size()}}}},
                                          {"hash_algo", "sha256"},
                                          {"ref", {{"name", "main"}}}});
  CHECK(reqs[2].method == "PUT");
  CHECK(reqs[2].Header("Authorization").empty());
  CHECK(reqs[3].path == "/lfs-verify");
  CHECK(reqs[3].Header("Authorization") == std::string("Bearer ") + kToken);  // on the endpoint
  CHECK(reqs[4].body ==
        "{\"key\":\"header\",\"value\":{\"description\":\"\",\"summary\":\"s\"}}\n"
        "{\"key\":\"lfsFile\",\"value\":{\"algo\":\"sha256\",\"oid\":\"" +
            hash::Sha256Hex(big) +
            "\",\"path\":\"autolab/big.jsonl\",\"size\":17}}\n"
            "{\"key\":\"file\",\"value\":{\"content\":\"eAo=\",\"encoding\":\"base64\","
            "\"path\":\"small.md\"}}\n");
  {
    std::lock_guard<std::mutex> l(hub.mu);
    CHECK(hub.repos["alice/runs"].files["autolab/big.jsonl"] == big);
    CHECK(hub.repos["alice/runs"].files["small.md"] == small);
  }
  // Unchanged (the LFS file compared by sha256, the small one by git blob sha1): no batch, no commit.
  auto again =
      client.UploadToDataset("alice/runs", "main", {{"autolab/big.jsonl", big}, {"small.md", small}}, "s", true);
  REQUIRE(again.ok());
  CHECK_FALSE(again->committed);
  CHECK(again->unchanged == std::vector<std::string>{"autolab/big.jsonl", "small.md"});
  CHECK(hub.requests().size() == 6);
}

TEST_CASE("publish: the LFS batch answer is read strictly") {
  auto ok = ParseLfsBatchAnswer(
      R"({"transfer":"basic","objects":[{"oid":"a","size":3,"actions":{"upload":{"href":"https://s/x",)"
      R"("header":{"X-Amz":"1"}},"verify":{"href":"https://hub/v"}}},{"oid":"b","size":1},)"
      R"({"oid":"c","size":2,"error":{"code":422,"message":"too big"}}]})");
  REQUIRE_MESSAGE(ok.ok(), ok.status().message());
  REQUIRE(ok->size() == 3);
  CHECK(ok->at(0).upload_href == "https://s/x");
  CHECK(ok->at(0).upload_headers == std::vector<std::pair<std::string, std::string>>{{"X-Amz", "1"}});
  CHECK(ok->at(0).verify_href == "https://hub/v");
  CHECK(ok->at(1).upload_href.empty());
  CHECK(ok->at(2).error == "too big");
  for (const char* bad :
       {"", "{}", R"({"objects":[{"oid":"a"}]})", R"({"objects":[{"oid":"a","size":"1"}]})",
        R"({"transfer":"multipart","objects":[]})",
        R"({"objects":[{"oid":"a","size":1,"actions":{"upload":{"href":"h","header":{"chunk_size":"5"}}}}]})",
        R"({"objects":[{"oid":"a","size":1,"actions":{"upload":{}}}]})",
        R"({"objects":[{"oid":"a","size":1,"actions":[]}]})"}) {
    CHECK_MESSAGE(ParseLfsBatchAnswer(bad).status().code() == Code::kFailed, bad);
  }
}

TEST_CASE("publish: refused inputs never reach the server") {
  HubClient::Options o;
  o.endpoint = "http://127.0.0.1:9";
  o.token = kToken;
  HubClient client(o);
  CHECK(client.UploadToDataset("nope", "main", {{"a", "x"}}, "s", true).status().code() == Code::kUsage);
  CHECK(client.UploadToDataset("a/b", "main", {}, "s", true).status().code() == Code::kUsage);
  CHECK(client.UploadToDataset("a/b", "main", {{"../x", "x"}}, "s", true).status().code() == Code::kUsage);
  CHECK(client.UploadToDataset("a/b", "main", {{"x", "1"}, {"x", "2"}}, "s", true).status().code() == Code::kUsage);
}

TEST_CASE("publish: no server is kUnavailable naming the endpoint, not the token") {
  LabFixture lab;
  int port = 0;
  int fd = dsx::testing::ListenLoopback(1, &port);
  REQUIRE(fd >= 0);
  close(fd);  // nothing listens there now
  FakeEnv env;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  auto options = HubOptions("http://127.0.0.1:" + std::to_string(port), lab.clock, env);
  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(r.status().message().find(kToken) == std::string::npos);
}

TEST_CASE("publish: the token comes from HF_TOKEN or the token file, the endpoint from HF_ENDPOINT") {
  LabFixture lab;
  FakeHub hub;
  {
    std::lock_guard<std::mutex> l(hub.mu);
    hub.repos["alice/runs"];
  }
  TempDir home;
  std::ofstream(home.path + "/token") << kToken << "\n";
  FakeEnv env;
  env.vars["HF_TOKEN_PATH"] = home.path + "/token";
  env.vars["HF_ENDPOINT"] = hub.url();
  HubClient::Options o;
  o.getenv = env.fn();
  o.clock = &lab.clock;
  HubClient client(o);
  CHECK(client.endpoint() == hub.url());
  auto r = client.UploadToDataset("alice/runs", "main", {{"a.jsonl", "x\n"}}, "s", true);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(hub.requests().back().Header("Authorization") == std::string("Bearer ") + kToken);

  FakeEnv none;
  none.vars["HOME"] = home.path + "/nowhere";
  HubClient::Options o2;
  o2.getenv = none.fn();
  o2.endpoint = hub.url();
  HubClient anonymous(o2);
  auto refused = anonymous.UploadToDataset("alice/runs", "main", {{"a.jsonl", "x\n"}}, "s", true);
  CHECK(refused.status().code() == Code::kUsage);
}

// ------------------------------------------------------------------------------------------------
// trackio

namespace {

struct Sql {
  sqlite3* db = nullptr;
  explicit Sql(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~Sql() { sqlite3_close(db); }
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE_MESSAGE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK, sqlite3_errmsg(db));
    std::vector<std::vector<std::string>> rows;
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        auto t = sqlite3_column_text(st, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "<null>");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(st);
    return rows;
  }
  std::vector<std::string> Column(const std::string& sql, int i = 0) {
    std::vector<std::string> out;
    for (auto& r : Query(sql)) out.push_back(r.at(i));
    return out;
  }
};

}  // namespace

TEST_CASE("trackio: paths, names and timestamps as trackio makes them") {
  FakeEnv env;
  env.vars["HOME"] = "/home/u";
  CHECK(TrackioDir(env.fn()) == "/home/u/.cache/huggingface/trackio");
  env.vars["XDG_CACHE_HOME"] = "/xdg";
  CHECK(TrackioDir(env.fn()) == "/xdg/huggingface/trackio");
  env.vars["HF_HOME"] = "/hf";
  CHECK(TrackioDir(env.fn()) == "/hf/trackio");
  env.vars["TRACKIO_DIR"] = "/t";
  CHECK(TrackioDir(env.fn()) == "/t");

  CHECK(TrackioCanonicalProject("my.model") == "mymodel");
  CHECK(TrackioCanonicalProject("a b/c_d-e") == "abc_d-e");
  CHECK(TrackioCanonicalProject("...") == "default");
  CHECK(TrackioProjectProblem("digits").empty());
  CHECK_FALSE(TrackioProjectProblem("registry-x").empty());
  CHECK_FALSE(TrackioProjectProblem("model_configs").empty());
  CHECK_FALSE(TrackioProjectProblem("m_run_artifact_links").empty());
  CHECK(TrackioProjectProblem("_system").empty());  // the suffix alone names no sibling

  CHECK(TrackioTimestamp(1'765'000'000'000) == "2025-12-06T05:46:40+00:00");
  CHECK(TrackioTimestamp(1'765'000'000'123) == "2025-12-06T05:46:40.123000+00:00");
}

TEST_CASE("trackio: the project file has trackio 0.36.0's tables and columns, and the runs read back") {
  LabFixture lab;
  TempDir tdir;
  PublishConfig config;
  config.trackio_project = "digits.lab";  // canonical: digitslab
  PublishOptions options;
  options.trackio_dir = tdir.path + "/trackio";
  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->trackio_db == tdir.path + "/trackio/digitslab.db");
  CHECK(r->trackio_points == 4);  // a: 2 points + final; b: 1 point (failed: no final); c: nothing
  CHECK(std::filesystem::exists(tdir.path + "/trackio/digitslab.lock"));

  Sql db(r->trackio_db);
  CHECK(db.Column("PRAGMA journal_mode") == std::vector<std::string>{"wal"});
  CHECK(db.Column("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name") ==
        std::vector<std::string>{"alerts", "artifact_aliases", "artifact_versions", "artifacts", "configs", "metrics",
                                 "pending_uploads", "project_metadata", "run_artifact_links", "system_metrics",
                                 "traces"});
  // Column names, types, NOT NULL and order as init_db (plus its ALTERed log_id/space_id) leaves them.
  CHECK(db.Query("SELECT name, type, \"notnull\" FROM pragma_table_info('metrics')") ==
        std::vector<std::vector<std::string>>{{"id", "INTEGER", "0"},
                                              {"run_id", "TEXT", "1"},
                                              {"timestamp", "TEXT", "1"},
                                              {"run_name", "TEXT", "1"},
                                              {"step", "INTEGER", "1"},
                                              {"metrics", "TEXT", "1"},
                                              {"log_id", "TEXT", "0"},
                                              {"space_id", "TEXT", "0"}});
  CHECK(db.Column("SELECT name FROM pragma_table_info('configs')") ==
        std::vector<std::string>{"id", "run_id", "run_name", "config", "created_at"});
  auto indexes = db.Column("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='metrics' ORDER BY name");
  CHECK(indexes == std::vector<std::string>{"idx_metrics_log_id", "idx_metrics_pending", "idx_metrics_run_step",
                                            "idx_metrics_run_timestamp"});

  // The runs, as trackio's get_logs reads them (ORDER BY timestamp, id).
  std::string ra = "dsx-digits-" + lab.a, rb = "dsx-digits-" + lab.b;
  auto a_rows = db.Query("SELECT step, metrics, timestamp, run_name, log_id, space_id FROM metrics WHERE run_id='" +
                         ra + "' ORDER BY timestamp, id");
  REQUIRE(a_rows.size() == 3);
  CHECK(a_rows[0][0] == "10");
  CHECK(json::parse(a_rows[0][1]) == json{{"val_loss", 0.9}});
  CHECK(a_rows[0][2] == TrackioTimestamp(1'765'000'001'000));  // started
  CHECK(a_rows[0][3] == "digits-" + lab.a);
  CHECK(a_rows[0][4] == "dsx:digits:" + lab.a + ":10");
  CHECK(a_rows[0][5] == "<null>");
  CHECK(a_rows[1][0] == "20");
  CHECK(json::parse(a_rows[2][1]) == json{{"val_loss/final", 0.42}});
  CHECK(a_rows[2][0] == "20");
  CHECK(a_rows[2][2] == TrackioTimestamp(1'765'000'003'500));  // finished
  CHECK(db.Query("SELECT count(*) FROM metrics WHERE run_id='" + rb + "'")[0][0] == "1");
  CHECK(db.Query("SELECT count(*) FROM metrics WHERE run_id='dsx-digits-" + lab.c + "'")[0][0] == "0");

  auto cfg = db.Query("SELECT run_name, config, created_at FROM configs WHERE run_id='" + ra + "'");
  REQUIRE(cfg.size() == 1);
  json c = json::parse(cfg[0][1]);
  auto rec = lab.ledger->Get(lab.a);
  CHECK(c["params"] == json{{"lr", 0.1}, {"width", 32}});
  CHECK(c["seed"] == 0);
  CHECK(c["experiment"] == lab.a);
  CHECK(c["state"] == "finished");
  CHECK(c["_Group"] == rec->config_key);
  CHECK(c["_Created"] == TrackioTimestamp(1'765'000'000'000));
  CHECK(c["_Username"].is_null());
  CHECK(cfg[0][2] == TrackioTimestamp(1'765'000'000'000));

  SUBCASE("a second export replaces the rows instead of adding copies") {
    REQUIRE(lab.ledger->AddIntermediate(lab.b, 10, 3.5).ok());  // a replaced point
    auto again = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
    REQUIRE(again.ok());
    CHECK(db.Query("SELECT count(*) FROM metrics")[0][0] == "4");
    CHECK(db.Query("SELECT count(*) FROM configs")[0][0] == "2");
    CHECK(json::parse(db.Query("SELECT metrics FROM metrics WHERE run_id='" + rb + "'")[0][0]) ==
          json{{"val_loss", 3.5}});
  }
  SUBCASE("rows trackio itself logged in the same project are left alone") {
    REQUIRE(sqlite3_exec(db.db,
                         "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) "
                         "VALUES ('u1', '2025-01-01T00:00:00+00:00', 'mine', 0, '{\"loss\":1}')",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(Publish(lab.plan, config, *lab.ledger, lab.dir.path, options).ok());
    CHECK(db.Query("SELECT count(*) FROM metrics WHERE run_id='u1'")[0][0] == "1");
    CHECK(db.Query("SELECT count(*) FROM metrics")[0][0] == "5");
  }
}

TEST_CASE("trackio: non-finite values as trackio stores them; reserved keys and old files refused") {
  TempDir tdir;
  TrackioRun run;
  run.run_id = "r1";
  run.run_name = "one";
  run.config = {{"lr", 0.1}};
  run.points.push_back({0, {{"loss", std::nan("")}}, 0, "l0"});
  run.points.push_back({1, {{"loss", INFINITY}}, 0, "l1"});
  auto r = ExportToTrackio(tdir.path, "p", {run});
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  Sql db(r->db_path);
  CHECK(db.Column("SELECT metrics FROM metrics ORDER BY step") ==
        std::vector<std::string>{"{\"loss\":\"NaN\"}", "{\"loss\":\"Infinity\"}"});

  run.config["_Group"] = "x";
  auto reserved = ExportToTrackio(tdir.path, "p", {run});
  CHECK(reserved.status().code() == Code::kUsage);
  CHECK(ExportToTrackio(tdir.path, "registry-p", {}).status().code() == Code::kUsage);

  // A project file from trackio before run ids: refused, and left as it was.
  {
    Sql old(tdir.path + "/old.db");
    REQUIRE(sqlite3_exec(old.db,
                         "CREATE TABLE metrics (id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, "
                         "run_name TEXT NOT NULL, step INTEGER NOT NULL, metrics TEXT NOT NULL)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  run.config = json::object();
  auto refused = ExportToTrackio(tdir.path, "old", {run});
  CHECK(refused.status().code() == Code::kConflict);
  Sql old(tdir.path + "/old.db");
  CHECK(old.Column("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'") ==
        std::vector<std::string>{"metrics"});
}

TEST_CASE("publish: both destinations are tried; a Hub failure does not stop the trackio export") {
  LabFixture lab;
  FakeHub hub;
  FakeEnv env;
  TempDir tdir;
  PublishConfig config;
  config.hub_dataset = "alice/digits-runs";
  config.trackio_project = "digits";
  auto options = HubOptions(hub.url(), lab.clock, env, "hf_bad");
  options.trackio_dir = tdir.path;
  auto r = Publish(lab.plan, config, *lab.ledger, lab.dir.path, options);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kConflict);
  CHECK(r.status().message().find("alice/digits-runs") != std::string::npos);
  Sql db(tdir.path + "/digits.db");
  CHECK(db.Query("SELECT count(*) FROM metrics")[0][0] == "4");

  PublishConfig none;
  auto nothing = Publish(lab.plan, none, *lab.ledger, lab.dir.path, options);
  REQUIRE(nothing.ok());
  CHECK(nothing->rows == 0);
}

// ------------------------------------------------------------------------------------------------
// the plan's publish: section

TEST_CASE("publish config: read from the plan's publish key; absent means nothing to publish") {
  auto none = ReadPublishConfig("name: x\nobjective: {metric: m}\n", "plan.yaml");
  REQUIRE(none.ok());
  CHECK_FALSE(none->any());

  auto c = ReadPublishConfig(
      "name: x\npublish:\n  hub_dataset: alice/runs\n  hub_revision: dev\n  hub_private: false\n"
      "  trackio: {project: digits}\n",
      "plan.yaml");
  REQUIRE_MESSAGE(c.ok(), c.status().message());
  CHECK(c->hub_dataset == "alice/runs");
  CHECK(c->hub_revision == "dev");
  CHECK_FALSE(c->hub_private);
  CHECK(c->trackio_project == "digits");
  CHECK(ToJson(*c) == json{{"hub_dataset", "alice/runs"},
                           {"hub_revision", "dev"},
                           {"hub_private", false},
                           {"trackio", {{"project", "digits"}}}});

  auto only_trackio = ReadPublishConfig("publish:\n  trackio:\n    project: p\n", "plan.yaml");
  REQUIRE(only_trackio.ok());
  CHECK(only_trackio->hub_dataset.empty());
  CHECK(only_trackio->hub_private);
  CHECK(ToJson(*only_trackio)["hub_dataset"] == "");
}

TEST_CASE("publish config: every problem with its line and column") {
  auto r = ReadPublishConfig(
      "name: x\n"
      "publish:\n"
      "  hub_dataset: digits\n"
      "  hub_privat: true\n"
      "  hub_private: maybe\n"
      "  trackio: {projet: p}\n",
      "plan.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUsage);
  const std::string& m = r.status().message();
  CHECK(m.find("plan.yaml:3:16: publish.hub_dataset 'digits' must be owner/name") != std::string::npos);
  CHECK(m.find("plan.yaml:4:3: unknown key 'publish.hub_privat'") != std::string::npos);
  CHECK(m.find("plan.yaml:5:16: publish.hub_private must be true or false (got 'maybe')") != std::string::npos);
  CHECK(m.find("plan.yaml:6:13: unknown key 'publish.trackio.projet'") != std::string::npos);
  CHECK(m.find("publish.trackio.project is required") != std::string::npos);

  auto twice = ReadPublishConfig("publish:\n  hub_dataset: a/b\n  hub_dataset: a/c\n", "p.yaml");
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.status().message().find("p.yaml:3:3: 'publish.hub_dataset' is given twice") != std::string::npos);

  auto empty = ReadPublishConfig("publish: {hub_revision: main}\n", "p.yaml");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("names no destination") != std::string::npos);

  auto scalar = ReadPublishConfig("publish: yes\n", "p.yaml");
  REQUIRE_FALSE(scalar.ok());
  CHECK(scalar.status().message().find("p.yaml:1:10: publish must be a mapping") != std::string::npos);

  auto reserved = ReadPublishConfig("publish: {trackio: {project: registry-x}}\n", "p.yaml");
  REQUIRE_FALSE(reserved.ok());
  CHECK(reserved.status().message().find("reserved by trackio") != std::string::npos);

  auto broken = ReadPublishConfig("publish: [\n", "p.yaml");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.status().message().find("p.yaml:") == 0);

  // The section checker as plan.cpp calls it.
  std::vector<PlanError> errors;
  YAML::Node n = YAML::Load("{hub_dataset: a/b, trackio: {project: q}}");
  PublishConfig direct = CheckPublishSection(n, &errors);
  CHECK(errors.empty());
  CHECK(direct.hub_dataset == "a/b");
  CHECK(direct.trackio_project == "q");
}
