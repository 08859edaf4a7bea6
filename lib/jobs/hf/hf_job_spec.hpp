// The JSON body of POST /api/jobs/<namespace> (huggingface_hub's _create_job_spec), built from a
// JobRecord. Render (dry run) and Submit share this one builder, so what --dry-run prints is what
// is sent; they differ only in the secret values (placeholders "<from $NAME>" for Render).
//
// Files. The Jobs API has no upload in the job spec: huggingface_hub now uploads local scripts
// to a bucket and mounts it, which needs Hub storage calls outside the Jobs API. dsx does what
// huggingface_hub did before buckets (UV_SCRIPT_ENCODED, LOCAL_FILES_ENCODED): each file the
// command names as "{jobdir}/<name>" travels base64-encoded in an environment variable
// DSX_FILE_<n>, and the command is wrapped in a small `sh -c` that decodes them into
// /tmp/dsx-job/ before exec'ing the original argv, in which "{jobdir}" becomes /tmp/dsx-job.
// A "{jobdir}/<name>" with no file of that name is left as a path there (an output folder).
// The argv passes through "$@", never through the shell's parser, so no quoting can break it.
// Linux caps one environment string at 128 KiB (MAX_ARG_STRLEN), hence the per-file limit.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "jobs/job.hpp"

namespace dsx::jobs::hf {

inline constexpr const char* kDefaultImage = "ghcr.io/astral-sh/uv:python3.12-bookworm";
inline constexpr const char* kDefaultFlavor = "cpu-basic";
inline constexpr std::int64_t kDefaultTimeoutS = 30 * 60;  // the API's own default, made explicit
inline constexpr const char* kInlineDir = "/tmp/dsx-job";
// Largest base64 value of one DSX_FILE_<n> (below MAX_ARG_STRLEN with the name and '=').
inline constexpr size_t kMaxInlineBase64 = 120000;

// The value of secret `name`. Empty function: placeholders "<from $NAME>" (Render).
using SecretLookup = std::function<Result<std::string>(const std::string& name)>;

// The create body for `record`. kUsage for a request Hugging Face cannot run as asked: no
// command, a negative timeout, a file too big to inline,
// an environment name used twice (env, secrets, DSX_FILE_*). A lookup error passes through.
Result<nlohmann::json> BuildJobSpec(const JobRecord& record, const SecretLookup& secrets);

// RFC 4648 base64 with padding, no line breaks (what `base64 -d` in the job reads).
std::string Base64Encode(std::string_view bytes);

}  // namespace dsx::jobs::hf
