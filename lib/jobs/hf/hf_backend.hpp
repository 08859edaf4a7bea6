// HfBackend: jobs on Hugging Face Jobs through its REST API (huggingface_hub's hf_api.py is the
// reference client; ../shared/research/ai-systems-anchors.md section 6 has the endpoints):
//   create   POST /api/jobs/<ns>                  (body: hf_job_spec.hpp)
//   inspect  GET  /api/jobs/<ns>/<id>             -> status.stage, status.message
//   logs     GET  /api/jobs/<ns>/<id>/logs        SSE: data: {"data": "<line>", "timestamp": ...}
//   cancel   POST /api/jobs/<ns>/<id>/cancel
//   hardware GET  /api/jobs/hardware              flavors with prices
//   whoami   GET  /api/whoami-v2                  -> name, the default namespace
//
// The log stream never closes, not even when the job ends, and replays from the first line on
// every connection. Logs() therefore re-checks the job's state while it reads (after a silence
// of log_idle_ms and every poll_interval_ms while lines flow), stops once the job is terminal
// and the stream has drained, and on a reconnect skips the lines it already delivered.
//
// The token (Options::token, else hf_token.hpp) goes into the Authorization header and nowhere
// else: not into Render output, Status messages, or anything echoed back from the server.
//
// One HfBackend serves one thread at a time (it caches the token and whoami's answer); Logs
// uses two transports of its own, so the state checks never share the stream's connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "jobs/backend.hpp"
#include "jobs/hf/hf_token.hpp"
#include "net/transport.hpp"

namespace dsx::jobs::hf {

// One hardware flavor from GET /api/jobs/hardware (the planner refreshes prices from it).
struct Flavor {
  std::string name;         // "a10g-large"
  std::string pretty_name;  // "Nvidia A10G - large"
  double usd_per_hour = 0;  // unitCostUSD converted from its unitLabel (per minute today)
  std::string cpu;          // "12 vCPU"
  std::string ram;          // "46 GB"
  std::string gpu_model;    // "A10G"; "" for CPU flavors
  int gpu_count = 0;
  double gpu_memory_gb = 0;  // the accelerator's vram as the API states it ("24 GB"); 0 for CPU
};

// Pacing of retries for 429 and 5xx answers and unreachable servers.
struct RetryPolicy {
  int max_attempts = 4;               // tries in all, the first included
  std::int64_t base_delay_ms = 1000;  // doubled after each try (when no Retry-After)
  std::int64_t max_delay_ms = 30000;  // cap of one wait, Retry-After included
};

class HfBackend final : public Backend {
 public:
  using TransportFactory = std::function<std::shared_ptr<net::Transport>()>;

  struct Options {
    std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT
    std::string namespace_;                           // "" = the job's resources.namespace_, else whoami's name
    std::string token;                                // "" = LoadHfToken(getenv) at the first request that needs it
    RetryPolicy retry;
    Clock* clock = nullptr;           // null = Clock::System(); paces retries and log polling
    TransportFactory transport;       // null = a fresh net::CurlTransport per use
    GetEnv getenv;                    // null = ::getenv (token lookup, secret values)
    long request_timeout_ms = 60000;  // one whole non-streaming exchange
    long connect_timeout_ms = 10000;
    long log_idle_ms = 5000;                       // silence on the log stream before the state is checked
    std::int64_t poll_interval_ms = 5000;          // state checks while log lines keep coming
    std::int64_t drain_ms = 3000;                  // reading on after the job turned terminal
    std::int64_t reconnect_delay_ms = 2000;        // before reopening a log stream that gave nothing
    int max_stream_failures = 8;                   // consecutive failed log connections before giving up
    size_t max_log_event_bytes = size_t{1} << 20;  // one SSE event (a log line) at most
  };

  // HF_ENDPOINT (trailing '/' dropped) over the defaults.
  static Options OptionsFromEnv(const GetEnv& getenv = {});

  explicit HfBackend(Options options);

  std::string name() const override { return "hf"; }
  Result<std::string> Render(const JobRecord& record) const override;
  Result<Submitted> Submit(const JobRecord& record, const std::string& jobdir) override;
  Result<JobStatus> Poll(const JobRecord& record) override;
  Status Logs(const JobRecord& record, const std::string& jobdir, bool follow, const LogSink& sink,
              const std::atomic<bool>* stop) override;
  Status Cancel(const JobRecord& record) override;

  Result<std::vector<Flavor>> ListHardware();

  // The namespace requests for `record` go to: Options::namespace_, the request's own, the one in
  // the record's URL (<endpoint>/jobs/<ns>/<id>), else whoami's name (one request, then cached).
  Result<std::string> NamespaceFor(const JobRecord& record);

 private:
  std::shared_ptr<net::Transport> NewTransport();
  Clock& clock() { return options_.clock ? *options_.clock : Clock::System(); }
  Result<std::string> Token();
  net::HeaderList Headers(const std::string& token, bool json_body) const;
  std::string Api(const std::string& path) const { return options_.endpoint + path; }
  // Sends with retries (429 always; 5xx and lost connections only when `idempotent` or the
  // request never left). Non-2xx answers come back as a response for the caller to map.
  Result<net::Exchange> Call(net::Transport& transport, net::HttpRequest request, bool idempotent);
  // The Status for a non-2xx answer; `ns` and `job` name what it was about.
  Status HttpError(const net::Exchange& ex, const std::string& ns, const std::string& job) const;
  std::string Scrub(std::string text) const;
  Result<JobStatus> PollWith(net::Transport& transport, const std::string& ns, const std::string& id,
                             const std::atomic<bool>* cancel = nullptr);

  Options options_;
  std::string token_;        // resolved token (secret)
  std::string whoami_name_;  // cached namespace
};

// HF stage -> JobStatus (exposed for tests): SCHEDULING queued, RUNNING/UPDATING running,
// COMPLETED succeeded, CANCELED/DELETED cancelled, ERROR failed (timeout when the message says
// the job timed out); unknown stages read as running (the job exists; a newer stage name).
JobStatus StatusFromStage(const std::string& stage, const std::string& message);

// Seconds from a Retry-After value (delta seconds or HTTP date, relative to `now_ms`); < 0 when
// absent or unreadable.
double RetryAfterSeconds(const std::string& value, std::int64_t now_ms);

// The flavors in a GET /api/jobs/hardware answer (kFailed naming what is malformed).
Result<std::vector<Flavor>> ParseHardware(const std::string& body);

}  // namespace dsx::jobs::hf
