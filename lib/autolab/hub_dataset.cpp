// HubClient: preupload, repo creation, the ndjson commit; retries and error mapping. The protocol
// and where it was read are in hub_dataset.hpp.
#include "autolab/hub_dataset.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/hash.hpp"
#include "core/json_limits.hpp"
#include "jobs/hf/hf_job_spec.hpp"  // Base64Encode (RFC 4648, padded, no line breaks)
#include "net/curl_transport.hpp"
#include "net/http_status.hpp"

namespace dsx::autolab {

namespace {

constexpr size_t kSampleBytes = 512;  // preupload's "sample": the first 512 bytes (lfs.py UploadInfo)

bool NameCharOk(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

std::string PartProblem(std::string_view part, const char* what) {
  if (part.empty()) return std::string(what) + " is empty";
  if (part.size() > 96) return std::string(what) + " is longer than 96 characters";
  for (char c : part) {
    if (!NameCharOk(c)) return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
  }
  if (part.front() == '-' || part.front() == '.' || part.back() == '-' || part.back() == '.') {
    return std::string(what) + " may not start or end with '-' or '.'";
  }
  if (part.find("--") != std::string_view::npos || part.find("..") != std::string_view::npos) {
    return std::string(what) + " may not contain '--' or '..'";
  }
  return "";
}

// Percent-encodes everything but unreserved characters (huggingface_hub quotes the revision with
// safe="", so "refs/pr/1" travels as "refs%2Fpr%2F1").
std::string Quote(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// The human part of a Hub error: {"error": "..."}, else the start of the body on one line.
std::string ServerMessage(const std::string& body) {
  auto j = ParseJsonOrDiscarded(body);
  if (!j.is_discarded() && j.is_object()) {
    for (const char* key : {"error", "message", "detail"}) {
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    }
  }
  std::string text = body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\r', ' ');
  return text;
}

bool Is2xx(int code) { return code >= 200 && code < 300; }
bool IsRetryable(int code) { return code == 429 || code >= 500; }

}  // namespace

std::string RepoIdProblem(std::string_view repo_id) {
  size_t slash = repo_id.find('/');
  if (slash == std::string_view::npos || repo_id.find('/', slash + 1) != std::string_view::npos) {
    return "must be owner/name (one '/')";
  }
  if (auto p = PartProblem(repo_id.substr(0, slash), "the owner"); !p.empty()) return p;
  std::string_view name = repo_id.substr(slash + 1);
  if (auto p = PartProblem(name, "the name"); !p.empty()) return p;
  if (name.size() >= 4 && name.substr(name.size() - 4) == ".git") return "the name may not end in .git";
  return "";
}

std::string GitBlobSha1(std::string_view content) {
  std::string head = "blob " + std::to_string(content.size());
  head.push_back('\0');
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx, head.data(), head.size());
  EVP_DigestUpdate(ctx, content.data(), content.size());
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string CommitPayload(const std::string& summary, const std::string& description,
                          const std::vector<HubFile>& files) {
  // nlohmann keeps object keys sorted; the Hub reads each line as JSON, so key order is not part of
  // the protocol (huggingface_hub's json.dumps keeps insertion order).
  std::string out =
      nlohmann::json{{"key", "header"}, {"value", {{"summary", summary}, {"description", description}}}}.dump() + "\n";
  for (const auto& f : files) {
    if (f.lfs) {
      nlohmann::json line = {
          {"key", "lfsFile"},
          {"value",
           {{"path", f.path}, {"algo", "sha256"}, {"oid", hash::Sha256Hex(f.content)}, {"size", f.content.size()}}}};
      out += line.dump() + "\n";
      continue;
    }
    nlohmann::json line = {
        {"key", "file"},
        {"value", {{"content", jobs::hf::Base64Encode(f.content)}, {"path", f.path}, {"encoding", "base64"}}}};
    out += line.dump() + "\n";
  }
  return out;
}

Result<std::map<std::string, PreuploadFile>> ParsePreuploadAnswer(const std::string& body) {
  auto answer = ParseJsonOrDiscarded(body);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("files") || !answer["files"].is_array()) {
    return Status::Failed("the Hub's preupload answer has no files list");
  }
  std::map<std::string, PreuploadFile> out;
  for (const auto& f : answer["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("uploadMode") ||
        !f["uploadMode"].is_string()) {
      return Status::Failed("the Hub's preupload answer has a file without path or uploadMode");
    }
    PreuploadFile m;
    m.upload_mode = f["uploadMode"].get<std::string>();
    if (m.upload_mode != "regular" && m.upload_mode != "lfs") {
      return Status::Failed("the Hub's preupload answer has an unknown uploadMode '" + m.upload_mode.substr(0, 40) +
                            "'");
    }
    m.should_ignore = f.contains("shouldIgnore") && f["shouldIgnore"].is_boolean() && f["shouldIgnore"].get<bool>();
    if (f.contains("oid") && f["oid"].is_string()) m.oid = f["oid"].get<std::string>();
    out[f["path"].get<std::string>()] = std::move(m);
  }
  return out;
}

Result<std::vector<LfsAction>> ParseLfsBatchAnswer(const std::string& body) {
  auto answer = ParseJsonOrDiscarded(body);
  if (answer.is_discarded() || !answer.is_object() || !answer.contains("objects") || !answer["objects"].is_array()) {
    return Status::Failed("the Hub's LFS batch answer has no objects list");
  }
  if (answer.contains("transfer") && answer["transfer"].is_string() && answer["transfer"] != "basic") {
    return Status::Failed("the Hub's LFS batch answer chose a transfer other than basic");
  }
  auto href_of = [](const nlohmann::json& action, std::string* href) {
    if (!action.is_object() || !action.contains("href") || !action["href"].is_string()) return false;
    if (action.contains("header") && !action["header"].is_null() && !action["header"].is_object()) return false;
    *href = action["href"].get<std::string>();
    return !href->empty();
  };
  std::vector<LfsAction> out;
  for (const auto& o : answer["objects"]) {
    if (!o.is_object() || !o.contains("oid") || !o["oid"].is_string() || !o.contains("size") ||
        !o["size"].is_number_integer()) {
      return Status::Failed("the Hub's LFS batch answer has an object without oid or size");
    }
    LfsAction a;
    a.oid = o["oid"].get<std::string>();
    a.size = o["size"].get<std::int64_t>();
    if (o.contains("error")) {
      const auto& e = o["error"];
      a.error = e.is_object() && e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>()
                                                                                   : "unspecified error";
      out.push_back(std::move(a));
      continue;
    }
    if (o.contains("actions") && !o["actions"].is_null()) {
      const auto& acts = o["actions"];
      if (!acts.is_object()) return Status::Failed("the Hub's LFS batch answer has malformed actions");
      if (acts.contains("upload")) {
        if (!href_of(acts["upload"], &a.upload_href)) return Status::Failed("the Hub's LFS upload action has no href");
        if (acts["upload"].contains("header") && acts["upload"]["header"].is_object()) {
          for (auto it = acts["upload"]["header"].begin(); it != acts["upload"]["header"].end(); ++it) {
            if (it.key() == "chunk_size") {
              return Status::Failed("the Hub asks for a multipart LFS upload, which dsx does not do");
            }
            if (!it.value().is_string()) return Status::Failed("the Hub's LFS upload action has a non-text header");
            a.upload_headers.emplace_back(it.key(), it.value().get<std::string>());
          }
        }
      }
      if (acts.contains("verify") && !href_of(acts["verify"], &a.verify_href)) {
        return Status::Failed("the Hub's LFS verify action has no href");
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

HubClient::HubClient(Options options) : options_(std::move(options)) {
  if (options_.endpoint.empty()) {
    const char* v = options_.getenv ? options_.getenv("HF_ENDPOINT") : std::getenv("HF_ENDPOINT");
    options_.endpoint = v && *v ? v : "https://huggingface.co";
  }
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
  token_ = options_.token;
}

Result<std::string> HubClient::Token() {
  if (token_.empty()) {
    auto t = jobs::hf::LoadHfToken(options_.getenv);
    if (!t.ok()) return t.status();
    token_ = *t;
  }
  return token_;
}

std::string HubClient::Scrub(std::string text) const {
  if (token_.empty()) return text;
  for (size_t at = text.find(token_); at != std::string::npos; at = text.find(token_, at)) {
    text.replace(at, token_.size(), "***");
  }
  return text;
}

net::HeaderList HubClient::Headers(const std::string& content_type) const {
  net::HeaderList h;
  h.emplace_back("Authorization", "Bearer " + token_);
  h.emplace_back("Accept", "application/json");
  if (!content_type.empty()) h.emplace_back("Content-Type", content_type);
  return h;
}

Result<net::Exchange> HubClient::Call(net::Transport& transport, net::HttpRequest request, bool idempotent) {
  if (request.timeout_ms == 0) request.timeout_ms = options_.request_timeout_ms;
  if (request.connect_timeout_ms == 0) request.connect_timeout_ms = options_.connect_timeout_ms;
  Clock& clock = options_.clock ? *options_.clock : Clock::System();
  const int attempts = std::max(1, options_.max_attempts);
  std::int64_t wait = options_.retry_delay_ms;
  for (int attempt = 1;; ++attempt) {
    net::Exchange ex = transport.Send(request);
    if (!ex.ok()) {
      if (ex.error.code() == Code::kInterrupted) return ex.error;
      // A commit that may have reached the Hub is not sent again: a later publish will (the
      // unchanged-file check then leaves out what did land).
      if ((!idempotent && ex.maybe_delivered) || attempt >= attempts) {
        return Status::Unavailable("cannot reach the Hugging Face Hub at " + options_.endpoint + ": " +
                                   Scrub(ex.error.message()));
      }
    } else if (!IsRetryable(ex.response.status) || attempt >= attempts || (!idempotent && ex.response.status != 429)) {
      return ex;  // 429 means refused, not acted on: safe to repeat even a commit
    }
    clock.SleepMs(wait);
    wait *= 2;
  }
}

Status HubClient::HttpError(const net::Exchange& ex, const std::string& what) const {
  int code = ex.response.status;
  std::string said = Scrub(ServerMessage(ex.response.body));
  std::string suffix = said.empty() ? "" : ": " + said;
  std::string head = what + ": the Hub answered " + std::to_string(code);
  if (code == 401 || code == 403) {
    return Status::Conflict(head + " (the token was refused or may not write there; check HF_TOKEN)" + suffix);
  }
  if (code == 429) return Status::Unavailable(head + " (too many requests; try again later)" + suffix);
  if (code >= 500) return Status::Unavailable(head + suffix);
  return net::StatusFromHttp(code, head + suffix);
}

Status HubClient::UploadLfs(net::Transport& transport, const std::string& repo_id, const std::string& revision,
                            const std::vector<HubFile>& files) {
  nlohmann::json objects = nlohmann::json::array();
  std::map<std::string, const HubFile*> by_oid;
  for (const auto& f : files) {
    std::string oid = hash::Sha256Hex(f.content);
    objects.push_back({{"oid", oid}, {"size", f.content.size()}});
    by_oid[oid] = &f;
  }
  net::HttpRequest batch;
  batch.method = "POST";
  batch.url = options_.endpoint + "/datasets/" + repo_id + ".git/info/lfs/objects/batch";
  batch.headers = {{"Authorization", "Bearer " + token_},
                   {"Accept", "application/vnd.git-lfs+json"},
                   {"Content-Type", "application/vnd.git-lfs+json"}};
  batch.body = nlohmann::json{{"operation", "upload"},
                              {"transfers", {"basic"}},
                              {"objects", objects},
                              {"hash_algo", "sha256"},
                              {"ref", {{"name", revision}}}}
                   .dump();
  auto ex = Call(transport, batch, true);
  if (!ex.ok()) return ex.status();
  if (!Is2xx(ex->response.status)) return HttpError(*ex, "LFS batch for dataset " + repo_id);
  auto actions = ParseLfsBatchAnswer(ex->response.body);
  if (!actions.ok()) return actions.status().Wrap("dataset " + repo_id);
  for (const auto& a : *actions) {
    auto it = by_oid.find(a.oid);
    if (it == by_oid.end()) return Status::Failed("the Hub's LFS batch answer names an object dsx did not send");
    const HubFile& f = *it->second;
    if (!a.error.empty()) return Status::Failed("the Hub refused " + f.path + " as an LFS object: " + Scrub(a.error));
    if (a.upload_href.empty()) continue;  // already stored
    net::HttpRequest put;
    put.method = "PUT";
    put.url = a.upload_href;
    // The href is a presigned storage URL: it carries its own authorisation, and the Hub token
    // must not travel to another host. Headers the action names (git-lfs basic transfer) are sent.
    for (const auto& h : a.upload_headers) put.headers.push_back(h);
    put.body = f.content;
    auto sent = Call(transport, put, true);  // same bytes to the same object: safe to repeat
    if (!sent.ok()) return sent.status();
    if (!Is2xx(sent->response.status)) return HttpError(*sent, "uploading " + f.path + " (LFS)");
    if (a.verify_href.empty()) continue;
    net::HttpRequest verify;
    verify.method = "POST";
    verify.url = a.verify_href;
    verify.headers = {{"Accept", "application/vnd.git-lfs+json"}, {"Content-Type", "application/vnd.git-lfs+json"}};
    if (a.verify_href.rfind(options_.endpoint + "/", 0) == 0)
      verify.headers.emplace_back("Authorization", "Bearer " + token_);
    verify.body = nlohmann::json{{"oid", a.oid}, {"size", a.size}}.dump();
    auto checked = Call(transport, verify, true);
    if (!checked.ok()) return checked.status();
    if (!Is2xx(checked->response.status)) return HttpError(*checked, "verifying " + f.path + " (LFS)");
  }
  return Status::Ok();
}

Result<HubCommitResult> HubClient::UploadToDataset(const std::string& repo_id, const std::string& revision,
                                                   const std::vector<HubFile>& files, const std::string& summary,
                                                   bool create_private) {
  if (auto p = RepoIdProblem(repo_id); !p.empty()) return Status::Usage("Hub dataset '" + repo_id + "': " + p);
  if (revision.empty()) return Status::Usage("Hub revision is empty");
  if (files.empty()) return Status::Usage("nothing to upload to " + repo_id);
  std::set<std::string> seen;
  for (const auto& f : files) {
    if (f.path.empty() || f.path.front() == '/' || f.path.find("..") != std::string::npos ||
        !seen.insert(f.path).second) {
      return Status::Usage("bad or repeated path in the repo: '" + f.path + "'");
    }
  }
  auto token = Token();
  if (!token.ok()) return token.status();
  auto transport = options_.transport ? options_.transport() : nullptr;
  if (!transport) {
    net::CurlTransport::Options o;
    o.connect_timeout_ms = options_.connect_timeout_ms;
    o.user_agent = "dsx-autolab";
    transport = std::make_shared<net::CurlTransport>(o);
  }
  const std::string repo_api = options_.endpoint + "/api/datasets/" + repo_id;
  const std::string rev = Quote(revision);
  HubCommitResult result;

  // 1. preupload: how each file must travel, and what the Hub already holds.
  nlohmann::json pre = {{"files", nlohmann::json::array()}};
  for (const auto& f : files) {
    pre["files"].push_back({{"path", f.path},
                            {"sample", jobs::hf::Base64Encode(std::string_view(f.content).substr(0, kSampleBytes))},
                            {"size", f.content.size()}});
  }
  net::HttpRequest req;
  req.method = "POST";
  req.url = repo_api + "/preupload/" + rev;
  req.headers = Headers("application/json");
  req.body = pre.dump();
  auto ex = Call(*transport, req, true);
  if (!ex.ok()) return ex.status();
  if (ex->response.status == 404 && ex->response.Header("X-Error-Code") != "RevisionNotFound" &&
      ex->response.Header("X-Error-Code") != "EntryNotFound") {
    // The repo does not exist: create it (huggingface_hub's create_repo), then ask again.
    size_t slash = repo_id.find('/');
    nlohmann::json create = {{"type", "dataset"},
                             {"name", repo_id.substr(slash + 1)},
                             {"organization", repo_id.substr(0, slash)},
                             {"private", create_private}};
    net::HttpRequest cr;
    cr.method = "POST";
    cr.url = options_.endpoint + "/api/repos/create";
    cr.headers = Headers("application/json");
    cr.body = create.dump();
    auto made = Call(*transport, cr, true);  // a repeat answers 409, which is fine
    if (!made.ok()) return made.status();
    int code = made->response.status;
    if (!Is2xx(code) && code != 409) return HttpError(*made, "creating dataset " + repo_id);
    result.created_repo = Is2xx(code);
    ex = Call(*transport, req, true);
    if (!ex.ok()) return ex.status();
  }
  if (ex->response.status == 404) {
    std::string code = ex->response.Header("X-Error-Code");
    if (code == "RevisionNotFound") {
      return Status::NotFound("dataset " + repo_id + " has no revision '" + revision + "' (404)");
    }
    return Status::NotFound("dataset " + repo_id + " is not there even after creating it (404)");
  }
  if (!Is2xx(ex->response.status)) return HttpError(*ex, "preupload to dataset " + repo_id);
  auto modes = ParsePreuploadAnswer(ex->response.body);
  if (!modes.ok()) return modes.status().Wrap("dataset " + repo_id);

  // 2. what goes into the commit.
  std::vector<HubFile> changed;
  for (const auto& f : files) {
    auto it = modes->find(f.path);
    if (it == modes->end()) return Status::Failed("the Hub's preupload answer does not mention " + f.path);
    const PreuploadFile& m = it->second;
    if (m.should_ignore) {
      return Status::Failed("dataset " + repo_id + " ignores " + f.path + " (its .gitignore): nothing would be stored");
    }
    // Empty files always travel inline: storage refuses empty LFS objects (as _commit_api.py notes).
    bool lfs = m.upload_mode == "lfs" && !f.content.empty();
    // The remote oid is the git blob sha1 of a regular file, the sha256 of an LFS one.
    if (!m.oid.empty() && m.oid == (lfs ? hash::Sha256Hex(f.content) : GitBlobSha1(f.content))) {
      result.unchanged.push_back(f.path);
      continue;
    }
    changed.push_back(f);
    changed.back().lfs = lfs;
  }
  if (changed.empty()) return result;
  std::vector<HubFile> large;
  for (const auto& f : changed) {
    if (f.lfs) large.push_back(f);
  }
  if (!large.empty()) {
    if (Status s = UploadLfs(*transport, repo_id, revision, large); !s.ok()) return s;
  }

  // 3. the commit.
  net::HttpRequest cm;
  cm.method = "POST";
  cm.url = repo_api + "/commit/" + rev;
  cm.headers = Headers("application/x-ndjson");
  cm.body = CommitPayload(summary, "", changed);
  auto done = Call(*transport, cm, false);
  if (!done.ok()) return done.status();
  if (!Is2xx(done->response.status)) return HttpError(*done, "commit to dataset " + repo_id);
  auto info = ParseJsonOrDiscarded(done->response.body);
  if (!info.is_discarded() && info.is_object()) {
    if (info.contains("commitUrl") && info["commitUrl"].is_string()) result.commit_url = info["commitUrl"];
    if (info.contains("commitOid") && info["commitOid"].is_string()) result.commit_oid = info["commitOid"];
  }
  result.committed = true;
  return result;
}

}  // namespace dsx::autolab
