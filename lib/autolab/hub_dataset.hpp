// Files into a Hugging Face dataset repository, in one commit, over the Hub's HTTP API as
// huggingface_hub (the reference client) speaks it. Read for this: huggingface_hub 1.29.0.dev0
// (git ee0a4510, 2026-08-20) src/huggingface_hub/_commit_api.py (_fetch_upload_modes,
// _prepare_commit_payload, _send_commit), hf_api.py (create_repo, create_commit's skipping of
// unchanged files) and utils/_http.py (X-Error-Code). The exchange:
//
//   1. POST {endpoint}/api/datasets/{repo}/preupload/{revision}
//        {"files":[{"path","sample":base64(first 512 bytes),"size"}]}
//        -> {"files":[{"path","uploadMode":"regular"|"lfs","shouldIgnore":bool,"oid":sha1|null}]}
//      404 (X-Error-Code RepoNotFound, or none): the repo is missing ->
//      POST {endpoint}/api/repos/create {"type":"dataset","name","organization","private"}
//        (409 = it exists: fine), then preupload again. X-Error-Code RevisionNotFound: kNotFound.
//   2. Files whose remote oid equals the git blob sha1 of our content (an LFS file: its sha256) are
//      unchanged: left out; none left = no commit (huggingface_hub does the same, to avoid empty
//      commits).
//   3. POST {endpoint}/api/datasets/{repo}/commit/{revision}, Content-Type application/x-ndjson:
//        {"key":"header","value":{"summary","description"}}
//        {"key":"file","value":{"content":base64,"path","encoding":"base64"}}   one per file
//      -> {"commitUrl","commitOid"}
//
// Files the Hub wants as LFS (uploadMode "lfs": over 10 MB, or matched by the repo's
// .gitattributes) go first through the git-lfs batch API (git-lfs docs/api/batch.md; as lfs.py's
// post_lfs_batch_info and lfs_upload use it), "basic" transfer only:
//      POST {endpoint}/datasets/{repo}.git/info/lfs/objects/batch  (application/vnd.git-lfs+json)
//        {"operation":"upload","transfers":["basic"],"objects":[{"oid":sha256,"size"}],
//         "hash_algo":"sha256","ref":{"name":revision}}
//        -> {"objects":[{"oid","size","actions":{"upload":{"href","header"},"verify":{"href"}}}]}
//      PUT the bytes to upload.href (no actions: the Hub has them already), WITHOUT the token (the
//      href is a presigned storage URL), then POST {"oid","size"} to verify.href (token sent only
//      when that href is on the endpoint); the commit then names the file by
//        {"key":"lfsFile","value":{"path","algo":"sha256","oid","size"}}
// An answer asking for a multipart upload (header.chunk_size, for files of many GB) is refused.
// (huggingface_hub prefers the Xet protocol when hf_xet is installed and falls back to this LFS path
// without it; dsx speaks only the LFS path.)
//
// Errors: 401/403 kConflict (the token was refused or may not write there), 404 after creating
// kNotFound, 429 and 5xx kUnavailable after the retries, no answer kUnavailable. The token goes
// into the Authorization header only: it is scrubbed from anything the server echoes back.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "jobs/hf/hf_token.hpp"
#include "net/transport.hpp"

namespace dsx::autolab {

struct HubFile {
  std::string path;     // in the repo, '/'-separated ("autolab/digits.jsonl")
  std::string content;  // bytes
  bool lfs = false;     // committed as an LFS pointer (the client sets it from the preupload answer)
};

struct HubCommitResult {
  bool created_repo = false;
  bool committed = false;              // false: every file was already there unchanged
  std::vector<std::string> unchanged;  // paths left out of the commit
  std::string commit_url, commit_oid;
};

// "owner/name" with each part of letters, digits, '-', '_', '.' (no "--" or "..", not starting or
// ending with '-' or '.'), at most 96 characters: the Hub's repo id rule (huggingface_hub
// utils/_validators.py). "" when valid, else why not.
std::string RepoIdProblem(std::string_view repo_id);

// The git blob id of `content`: sha1("blob <size>\0" + content), lowercase hex. The preupload
// answer's "oid" of a regular file is this.
std::string GitBlobSha1(std::string_view content);

// The commit request body (application/x-ndjson), exactly as _prepare_commit_payload builds it
// (a "file" line with the base64 content, or an "lfsFile" line for files marked lfs).
std::string CommitPayload(const std::string& summary, const std::string& description,
                          const std::vector<HubFile>& files);

// One file in the preupload answer.
struct PreuploadFile {
  std::string upload_mode;  // "regular" | "lfs"
  bool should_ignore = false;
  std::string oid;  // git blob sha1 of the file the Hub holds ("" = none)
};
// The preupload answer's files by path (server input: depth-bounded parse, kFailed when malformed).
Result<std::map<std::string, PreuploadFile>> ParsePreuploadAnswer(const std::string& body);

// One object of a git-lfs batch answer.
struct LfsAction {
  std::string oid;
  std::int64_t size = 0;
  std::string error;        // the object's error message ("" = none)
  std::string upload_href;  // "" = the server has the object already
  std::vector<std::pair<std::string, std::string>> upload_headers;
  std::string verify_href;  // "" = no verify step
};
// The batch answer's objects (server input: depth-bounded parse, kFailed when malformed, or when
// it asks for a multipart upload).
Result<std::vector<LfsAction>> ParseLfsBatchAnswer(const std::string& body);

class HubClient {
 public:
  using TransportFactory = std::function<std::shared_ptr<net::Transport>()>;
  struct Options {
    std::string endpoint;                // "" = $HF_ENDPOINT, else https://huggingface.co ('/' at the end dropped)
    std::string token;                   // "" = jobs::hf::LoadHfToken(getenv) at the first request
    jobs::hf::GetEnv getenv;             // null = ::getenv
    TransportFactory transport;          // null = a net::CurlTransport
    Clock* clock = nullptr;              // null = Clock::System(): paces retries
    int max_attempts = 3;                // tries in all for 429/5xx/no answer (a commit only when it never left)
    std::int64_t retry_delay_ms = 1000;  // doubled after each try
    long request_timeout_ms = 120000;
    long connect_timeout_ms = 10000;
  };

  explicit HubClient(Options options);

  const std::string& endpoint() const { return options_.endpoint; }

  // Commits `files` to the dataset `repo_id` at `revision`, creating the repo (private when
  // `create_private`) when it does not exist.
  Result<HubCommitResult> UploadToDataset(const std::string& repo_id, const std::string& revision,
                                          const std::vector<HubFile>& files, const std::string& summary,
                                          bool create_private);

 private:
  Result<std::string> Token();
  Result<net::Exchange> Call(net::Transport& transport, net::HttpRequest request, bool idempotent);
  Status HttpError(const net::Exchange& ex, const std::string& what) const;
  // The batch request, the PUTs and the verifies for `files` (all marked lfs).
  Status UploadLfs(net::Transport& transport, const std::string& repo_id, const std::string& revision,
                   const std::vector<HubFile>& files);
  std::string Scrub(std::string text) const;
  net::HeaderList Headers(const std::string& content_type) const;

  Options options_;
  std::string token_;
};

}  // namespace dsx::autolab
