// HfBackend: requests, retries, error mapping, submit/poll/cancel/hardware. The log follower is
// in hf_logs.cpp, the create body in hf_job_spec.cpp.
#include "jobs/hf/hf_backend.hpp"

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"
#include "jobs/hf/hf_job_spec.hpp"
#include "net/curl_transport.hpp"
#include "net/http_date.hpp"
#include "net/http_status.hpp"

namespace dsx::jobs::hf {
namespace {

std::string EnvValue(const GetEnv& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The human part of an error answer: {"error": "..."} (the Hub's shape), {"message": ...},
// else the start of the body.
std::string ServerMessage(const std::string& body) {
  auto j = ParseJsonOrDiscarded(body);
  if (!j.is_discarded() && j.is_object()) {
    for (const char* key : {"error", "message", "detail"}) {
      if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
    }
  }
  std::string text = body.substr(0, 200);
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

bool IsRetryableServerError(int code) { return code == 500 || code == 502 || code == 503 || code == 504; }

}  // namespace

JobStatus StatusFromStage(const std::string& stage, const std::string& message) {
  JobStatus s;
  s.backend_state = stage;
  s.detail = message;
  if (stage == "SCHEDULING") {
    s.state = JobState::kQueued;
  } else if (stage == "COMPLETED") {
    s.state = JobState::kSucceeded;
  } else if (stage == "CANCELED" || stage == "DELETED") {
    s.state = JobState::kCancelled;
  } else if (stage == "ERROR") {
    // The API has no stage of its own for a job stopped at timeoutSeconds; its message says so.
    std::string lower = message;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    bool timed_out = lower.find("timeout") != std::string::npos || lower.find("timed out") != std::string::npos;
    s.state = timed_out ? JobState::kTimeout : JobState::kFailed;
  } else {
    s.state = JobState::kRunning;  // RUNNING, UPDATING, and stages newer than this client
  }
  return s;
}

double RetryAfterSeconds(const std::string& value, std::int64_t now_ms) {
  if (value.empty()) return -1;
  char* end = nullptr;
  double s = std::strtod(value.c_str(), &end);
  if (end != value.c_str() && *end == '\0' && s >= 0) return s;
  std::time_t when = net::ParseHttpDate(value);
  if (when < 0) return -1;
  double delta = static_cast<double>(when) - static_cast<double>(now_ms) / 1000.0;
  return delta < 0 ? 0 : delta;
}

HfBackend::Options HfBackend::OptionsFromEnv(const GetEnv& getenv) {
  Options o;
  o.getenv = getenv;
  std::string endpoint = EnvValue(getenv, "HF_ENDPOINT");
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (!endpoint.empty()) o.endpoint = endpoint;
  return o;
}

HfBackend::HfBackend(Options options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/') options_.endpoint.pop_back();
  token_ = options_.token;
}

std::shared_ptr<net::Transport> HfBackend::NewTransport() {
  if (options_.transport) return options_.transport();
  net::CurlTransport::Options o;
  o.connect_timeout_ms = options_.connect_timeout_ms;
  o.user_agent = "dsx-jobs-hf";
  return std::make_shared<net::CurlTransport>(o);
}

Result<std::string> HfBackend::Token() {
  if (token_.empty()) {
    auto t = LoadHfToken(options_.getenv);
    if (!t.ok()) return t.status();
    token_ = *t;
  }
  return token_;
}

net::HeaderList HfBackend::Headers(const std::string& token, bool json_body) const {
  net::HeaderList h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  h.emplace_back("Accept", "application/json");
  if (json_body) h.emplace_back("Content-Type", "application/json");
  return h;
}

std::string HfBackend::Scrub(std::string text) const {
  if (token_.empty()) return text;
  for (size_t at = text.find(token_); at != std::string::npos; at = text.find(token_, at)) {
    text.replace(at, token_.size(), "***");
  }
  return text;
}

Result<net::Exchange> HfBackend::Call(net::Transport& transport, net::HttpRequest request, bool idempotent) {
  if (request.timeout_ms == 0) request.timeout_ms = options_.request_timeout_ms;
  if (request.connect_timeout_ms == 0) request.connect_timeout_ms = options_.connect_timeout_ms;
  const int attempts = std::max(1, options_.retry.max_attempts);
  std::int64_t backoff = options_.retry.base_delay_ms;
  for (int attempt = 1;; ++attempt) {
    net::Exchange ex = transport.Send(request);
    std::int64_t wait = std::min(backoff, options_.retry.max_delay_ms);
    backoff *= 2;
    if (!ex.ok()) {
      if (ex.error.code() == Code::kInterrupted) return ex.error;
      // A POST that may have reached the server is not repeated: it may have created the job.
      bool may_retry = idempotent || !ex.maybe_delivered;
      if (!may_retry || attempt >= attempts) {
        return Status::Unavailable("cannot reach Hugging Face at " + options_.endpoint + ": " +
                                   Scrub(ex.error.message()));
      }
      clock().SleepMs(wait);
      continue;
    }
    int code = ex.response.status;
    // 429 means the request was refused, not acted on: safe to repeat, even a create.
    bool retry = code == 429 || (idempotent && IsRetryableServerError(code));
    if (!retry || attempt >= attempts) return ex;
    double after = RetryAfterSeconds(ex.response.Header("Retry-After"), clock().NowMs());
    if (after >= 0) wait = std::min<std::int64_t>(static_cast<std::int64_t>(after * 1000), options_.retry.max_delay_ms);
    clock().SleepMs(wait);
  }
}

Status HfBackend::HttpError(const net::Exchange& ex, const std::string& ns, const std::string& job) const {
  int code = ex.response.status;
  std::string said = Scrub(ServerMessage(ex.response.body));
  std::string suffix = said.empty() ? "" : ": " + said;
  switch (code) {
    case 401:
    case 403:
      return Status::Conflict("Hugging Face refused the token (" + std::to_string(code) + "): check HF_TOKEN" + suffix);
    case 402: return Status::Conflict("no credit on " + ns + ": Jobs need a positive balance (402)");
    case 404:
    case 410:
      if (!job.empty()) return Status::NotFound("Hugging Face has no job " + job + " in " + ns + " (404)");
      return Status::NotFound("Hugging Face does not know " + ns + " (404)" + suffix);
    case 429: return Status::Unavailable("Hugging Face kept answering 429 (too many requests); try again later");
    default: return net::StatusFromHttp(code, "Hugging Face answered " + std::to_string(code) + suffix);
  }
}

Result<std::string> HfBackend::NamespaceFor(const JobRecord& record) {
  if (!options_.namespace_.empty()) return options_.namespace_;
  if (!record.request.resources.namespace_.empty()) return record.request.resources.namespace_;
  // A submitted job's URL is <endpoint>/jobs/<ns>/<id>: the namespace it was created in.
  std::string marker = "/jobs/";
  size_t at = record.url.rfind(marker);
  if (at != std::string::npos && !record.backend_id.empty()) {
    std::string rest = record.url.substr(at + marker.size());
    size_t slash = rest.find('/');
    if (slash != std::string::npos && slash > 0 && rest.substr(slash + 1) == record.backend_id) {
      return rest.substr(0, slash);
    }
  }
  if (!whoami_name_.empty()) return whoami_name_;
  auto token = Token();
  if (!token.ok()) return token.status();
  auto transport = NewTransport();
  net::HttpRequest req;
  req.url = Api("/api/whoami-v2");
  req.headers = Headers(*token, false);
  auto ex = Call(*transport, req, true);
  if (!ex.ok()) return ex.status();
  if (ex->response.status != 200) return HttpError(*ex, "your account", "").Wrap("who am I");
  auto j = ParseJsonOrDiscarded(ex->response.body);
  if (j.is_discarded() || !j.is_object() || !j.contains("name") || !j["name"].is_string() ||
      j["name"].get<std::string>().empty()) {
    return Status::Failed("Hugging Face's whoami answer has no account name");
  }
  whoami_name_ = j["name"].get<std::string>();
  return whoami_name_;
}

Result<std::string> HfBackend::Render(const JobRecord& record) const {
  auto spec = BuildJobSpec(record, {});
  if (!spec.ok()) return spec.status();
  std::string ns = !options_.namespace_.empty()                   ? options_.namespace_
                   : !record.request.resources.namespace_.empty() ? record.request.resources.namespace_
                                                                  : "{namespace}";
  std::string out = "POST " + options_.endpoint + "/api/jobs/" + ns + "\n";
  out += "Authorization: Bearer <HF_TOKEN>\n";
  out += "Content-Type: application/json\n\n";
  out += spec->dump(2) + "\n";
  return out;
}

Result<Submitted> HfBackend::Submit(const JobRecord& record, const std::string& /*jobdir*/) {
  auto token = Token();
  if (!token.ok()) return token.status();
  SecretLookup lookup = [&](const std::string& name) -> Result<std::string> {
    std::string v = EnvValue(options_.getenv, name.c_str());
    if (!v.empty()) return v;
    // As `hf jobs run --secrets HF_TOKEN` does: a bare HF_TOKEN secret is the local login.
    if (name == "HF_TOKEN") return *token;
    return Status::Usage("secret " + name + " is not set: export it in the environment that submits the job");
  };
  auto spec = BuildJobSpec(record, lookup);
  if (!spec.ok()) return spec.status();
  auto ns = NamespaceFor(record);
  if (!ns.ok()) return ns.status();

  auto transport = NewTransport();
  net::HttpRequest req;
  req.method = "POST";
  req.url = Api("/api/jobs/" + *ns);
  req.headers = Headers(*token, true);
  req.body = spec->dump();
  auto ex = Call(*transport, req, false);
  if (!ex.ok()) return ex.status();
  if (ex->response.status < 200 || ex->response.status >= 300) return HttpError(*ex, *ns, "");
  auto j = ParseJsonOrDiscarded(ex->response.body);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_string()) {
    return Status::Failed("Hugging Face accepted the job but its answer has no job id");
  }
  Submitted out;
  out.backend_id = j["id"].get<std::string>();
  std::string owner = *ns;
  if (j.contains("owner") && j["owner"].is_object() && j["owner"].contains("name") && j["owner"]["name"].is_string()) {
    owner = j["owner"]["name"].get<std::string>();
  }
  out.url = options_.endpoint + "/jobs/" + owner + "/" + out.backend_id;
  return out;
}

Result<JobStatus> HfBackend::PollWith(net::Transport& transport, const std::string& ns, const std::string& id,
                                      const std::atomic<bool>* cancel) {
  auto token = Token();
  if (!token.ok()) return token.status();
  net::HttpRequest req;
  req.cancel = cancel;
  req.url = Api("/api/jobs/" + ns + "/" + id);
  req.headers = Headers(*token, false);
  auto ex = Call(transport, req, true);
  if (!ex.ok()) return ex.status();
  if (ex->response.status != 200) return HttpError(*ex, ns, id);
  auto j = ParseJsonOrDiscarded(ex->response.body);
  if (j.is_discarded() || !j.is_object() || !j.contains("status") || !j["status"].is_object() ||
      !j["status"].contains("stage") || !j["status"]["stage"].is_string()) {
    return Status::Failed("Hugging Face's answer for job " + id + " has no status.stage");
  }
  const auto& st = j["status"];
  std::string message = st.contains("message") && st["message"].is_string() ? st["message"].get<std::string>() : "";
  return StatusFromStage(st["stage"].get<std::string>(), Scrub(message));
}

Result<JobStatus> HfBackend::Poll(const JobRecord& record) {
  if (record.backend_id.empty()) return Status::NotFound("job " + record.id + " has no Hugging Face job id");
  auto ns = NamespaceFor(record);
  if (!ns.ok()) return ns.status();
  auto transport = NewTransport();
  return PollWith(*transport, *ns, record.backend_id);
}

Status HfBackend::Cancel(const JobRecord& record) {
  if (record.backend_id.empty()) return Status::NotFound("job " + record.id + " has no Hugging Face job id");
  auto token = Token();
  if (!token.ok()) return token.status();
  auto ns = NamespaceFor(record);
  if (!ns.ok()) return ns.status();
  auto transport = NewTransport();
  net::HttpRequest req;
  req.method = "POST";
  req.url = Api("/api/jobs/" + *ns + "/" + record.backend_id + "/cancel");
  req.headers = Headers(*token, false);
  auto ex = Call(*transport, req, true);  // cancelling twice is harmless
  if (!ex.ok()) return ex.status();
  int code = ex->response.status;
  if (code >= 200 && code < 300) return Status::Ok();
  Status err = HttpError(*ex, *ns, record.backend_id);
  // Refused because the job already ended: that is what Cancel promises to accept.
  if (code == 400 || code == 409) {
    auto now = PollWith(*transport, *ns, record.backend_id);
    if (now.ok() && IsTerminal(now->state)) return Status::Ok();
  }
  return err;
}

Result<std::vector<Flavor>> HfBackend::ListHardware() {
  // The list is public; a token, when there is one, is sent as huggingface_hub does.
  std::string token;
  if (auto t = Token(); t.ok()) token = *t;
  auto transport = NewTransport();
  net::HttpRequest req;
  req.url = Api("/api/jobs/hardware");
  req.headers = Headers(token, false);
  auto ex = Call(*transport, req, true);
  if (!ex.ok()) return ex.status();
  if (ex->response.status == 404) {
    return Status::NotFound("no Jobs hardware list at " + options_.endpoint + " (404): check HF_ENDPOINT");
  }
  if (ex->response.status != 200) return HttpError(*ex, "the hardware list", "");
  return ParseHardware(ex->response.body);
}

}  // namespace dsx::jobs::hf
