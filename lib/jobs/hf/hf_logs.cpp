// HfBackend::Logs: GET /api/jobs/<ns>/<id>/logs as server-sent events.
//
// Three facts about that endpoint shape this code (huggingface_hub's fetch_job_logs works the
// same way around them):
//  - the stream does not close when the job ends: the job's state is re-checked after every
//    silence (the transport's idle timeout, log_idle_ms) and every poll_interval_ms while lines
//    arrive; once it is terminal, reading goes on until the stream goes quiet (a keep-alive or
//    the idle timeout) or drain_ms have passed, so the last lines are not cut off. A job found
//    over only after its connection went quiet gets one more pass (a reconnect to the quiet end
//    of the replay): its last lines may have reached the stream after the silence began;
//  - every connection replays the log from its first line: the lines already delivered are
//    counted and skipped after a reconnect, so the sink never sees one twice. The price is a
//    replay after each quiet spell of a running job; a short idle limit is what lets a follow
//    end within seconds of the job (the server's keep-alives come only every 30 s);
//  - early on, the log may be empty: a connection that brings nothing is retried after
//    reconnect_delay_ms while the job is queued or running.
// One event is one `data: {"data": "<line>", "timestamp": ...}`; SseParser bounds what it holds
// (max_log_event_bytes), so an endless line from a broken server ends in kFailed, not in
// unbounded memory.
#include <nlohmann/json.hpp>

#include "core/json_limits.hpp"
#include "jobs/hf/hf_backend.hpp"
#include "net/sse_parser.hpp"

namespace dsx::jobs::hf {
namespace {

// The text of one log event: the "data" member of its JSON, else the raw data.
std::string LineOf(const std::string& data) {
  if (!data.empty() && data.front() == '{') {
    auto j = ParseJsonOrDiscarded(data);
    if (!j.is_discarded() && j.is_object() && j.contains("data") && j["data"].is_string()) {
      return j["data"].get<std::string>();
    }
  }
  return data;
}

bool Stopped(const std::atomic<bool>* stop) { return stop && stop->load(); }

}  // namespace

Status HfBackend::Logs(const JobRecord& record, const std::string& /*jobdir*/, bool follow, const LogSink& sink,
                       const std::atomic<bool>* stop) {
  if (record.backend_id.empty()) return Status::NotFound("job " + record.id + " has no Hugging Face job id");
  auto token = Token();
  if (!token.ok()) return token.status();
  auto ns = NamespaceFor(record);
  if (!ns.ok()) return ns.status();
  const std::string& id = record.backend_id;
  auto stream_transport = NewTransport();
  auto poll_transport = NewTransport();  // used while the stream is open: a second connection

  net::HttpRequest req;
  req.url = Api("/api/jobs/" + *ns + "/" + id + "/logs");
  req.headers = Headers(*token, false);
  for (auto& [name, value] : req.headers) {
    if (name == "Accept") value = "text/event-stream";
  }
  req.connect_timeout_ms = options_.connect_timeout_ms;
  req.first_byte_timeout_ms = options_.request_timeout_ms;
  req.idle_timeout_ms = options_.log_idle_ms;
  req.timeout_ms = -1;  // a followed log may last as long as the job
  req.cancel = stop;

  std::int64_t delivered = 0;  // lines handed to the sink, over all connections
  bool terminal = false;       // the job is known to be over
  std::int64_t terminal_at = 0;
  std::int64_t last_poll = clock().SteadyMs();
  int failures = 0;  // consecutive connections that failed
  std::int64_t backoff = options_.reconnect_delay_ms;

  // Checks the job's state; true when it is terminal. A job that vanished is an error.
  Status poll_error;
  auto check_terminal = [&]() -> bool {
    last_poll = clock().SteadyMs();
    auto now = PollWith(*poll_transport, *ns, id, stop);
    if (!now.ok()) {
      if (now.status().code() == Code::kNotFound || now.status().code() == Code::kConflict) poll_error = now.status();
      return false;  // unreachable for a moment: the stream loop decides when to give up
    }
    if (IsTerminal(now->state) && !terminal) {
      terminal = true;
      terminal_at = clock().SteadyMs();
    }
    return terminal;
  };

  // A job that is already over is read in one pass, to the stream's quiet end.
  if (follow) {
    check_terminal();
    if (!poll_error.ok()) return poll_error;
  }
  for (;;) {
    if (Stopped(stop)) return Status::Ok();
    std::int64_t seen = 0;  // lines of this connection, replayed ones included
    std::int64_t delivered_before = delivered;
    bool sink_done = false, drained = false;
    Status abort_error;
    net::SseParser parser(
        [&](const net::SseEvent& ev) {
          if (sink_done || !abort_error.ok()) return;
          std::string text = LineOf(ev.data);
          size_t start = 0;
          for (;;) {  // an event holding several lines gives several lines
            size_t nl = text.find('\n', start);
            std::string_view line(text.data() + start, (nl == std::string::npos ? text.size() : nl) - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (++seen > delivered) {
              ++delivered;
              if (!sink(line)) {
                sink_done = true;
                return;
              }
            }
            if (nl == std::string::npos) break;
            start = nl + 1;
          }
        },
        options_.max_log_event_bytes);

    net::StreamHandler handler;
    handler.on_headers = [](const net::HttpResponse& head) { return head.status == 200; };
    handler.on_body = [&](std::string_view chunk) {
      if (Stopped(stop)) return false;
      int comments_before = parser.comments();
      if (!parser.Feed(chunk)) {
        abort_error =
            Status::Failed("the log stream of Hugging Face job " + id + " broke off: " + parser.OverflowMessage());
        return false;
      }
      if (sink_done) return false;
      bool quiet = parser.comments() > comments_before;  // a keep-alive: nothing more right now
      if (!follow) {
        if (quiet) drained = true;
        return !quiet;
      }
      std::int64_t now = clock().SteadyMs();
      if (!terminal && now - last_poll >= options_.poll_interval_ms) check_terminal();
      if (!poll_error.ok()) return false;
      if (terminal && (quiet || now - terminal_at >= options_.drain_ms)) {
        drained = true;
        return false;
      }
      return true;
    };

    net::Exchange ex = stream_transport->Stream(req, handler);
    if (!abort_error.ok()) return abort_error;
    if (!poll_error.ok()) return poll_error;
    if (sink_done || Stopped(stop)) return Status::Ok();
    if (drained) return Status::Ok();

    int code = ex.response.status;
    bool http_error = code != 0 && code != 200;
    // Idle (the stream went quiet) and a close by the server are clean ends of a connection.
    bool clean = !http_error && (ex.ok() || ex.outcome == net::Outcome::kTimeoutIdle);
    if (http_error) {
      // 404 may only mean "no log yet" for a job still being scheduled: Poll tells.
      if (code == 401 || code == 402 || code == 403) return HttpError(ex, *ns, id);
      if (code == 404 || code == 410) {
        check_terminal();
        if (!poll_error.ok()) return poll_error;
        if (!follow) return Status::Ok();
      }
    }
    if (!follow) {
      if (clean) return Status::Ok();
      if (http_error) return HttpError(ex, *ns, id);
      return Status::Unavailable("cannot read the log of Hugging Face job " + id + " at " + options_.endpoint + ": " +
                                 Scrub(ex.error.message()));
    }

    if (clean && delivered > delivered_before) {
      failures = 0;
      backoff = options_.reconnect_delay_ms;
    } else if (!clean) {
      if (++failures >= options_.max_stream_failures) {
        if (http_error) return HttpError(ex, *ns, id);
        return Status::Unavailable("the log stream of Hugging Face job " + id + " failed " + std::to_string(failures) +
                                   " times in a row (" + options_.endpoint + "): " + Scrub(ex.error.message()));
      }
    }
    bool was_terminal = terminal;
    if (!was_terminal) {
      check_terminal();
      if (!poll_error.ok()) return poll_error;
    }
    // This connection was read to its end while the job was known to be over: every line came.
    if (was_terminal && clean) return Status::Ok();
    // Over now, but this connection was opened while it ran: the last lines the job wrote may
    // not have reached the stream before it went quiet (regression: "done" was lost). One more
    // pass reads the replay to its quiet end; it skips what was delivered.
    if (terminal && !was_terminal) continue;

    // Still queued or running, or the last pass broke. A connection that went idle already
    // waited log_idle_ms; one that brought nothing new or failed waits before the next try
    // (an early empty log, a dropped connection).
    bool idle = ex.outcome == net::Outcome::kTimeoutIdle;
    if (!clean || !idle || delivered == delivered_before) {
      std::int64_t wait = backoff;
      if (http_error) {
        double after = RetryAfterSeconds(ex.response.Header("Retry-After"), clock().NowMs());
        if (after >= 0) wait = static_cast<std::int64_t>(after * 1000);
      }
      clock().SleepMs(std::min(wait, options_.retry.max_delay_ms));
      if (!clean) backoff = std::min(backoff * 2, options_.retry.max_delay_ms);
    }
  }
}

}  // namespace dsx::jobs::hf
