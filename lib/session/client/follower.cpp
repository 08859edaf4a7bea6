#include "session/client/follower.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "net/sse_parser.hpp"
#include "session/client/base64.hpp"
#include "session/client/json_array.hpp"

namespace dsx::session::client {
namespace {

// "[]" (with any whitespace) is an empty JSON batch: nothing to hand out.
bool IsEmptyJsonArray(std::string_view body) {
  std::string compact;
  for (char c : body) {
    if (!std::isspace(static_cast<unsigned char>(c))) compact.push_back(c);
  }
  return compact.empty() || compact == "[]";
}

bool IsTextType(const std::string& content_type) { return NormalizeContentType(content_type).rfind("text/", 0) == 0; }

}  // namespace

Follower::Follower(StreamClient& client, Options options)
    : client_(client),
      options_(std::move(options)),
      backoff_(options_.backoff, options_.seed),
      failover_(client.server_count()) {}

Status Follower::PauseForRetry(const Status& why) {
  const Failover::Action action = failover_.OnFailure(why, contacted_);
  if (action == Failover::Action::kGiveUp) return why;
  Clock& clock = *options_.clock;
  if (action == Failover::Action::kSwitchNow || action == Failover::Action::kSwitchLater) {
    client_.UseServer(client_.active_server() + 1);
    cursor_.clear();  // a cursor is one server's; the offset is every server's
    if (options_.notice) {
      options_.notice((contacted_ ? "connection lost: " : "") + why.message() + "; trying " + client_.server() +
                      (contacted_ ? " from offset " + offset_ : ""));
    }
  }
  if (!contacted_) return Status::Ok();  // first contact: the next server at once
  if (!in_outage_) {
    in_outage_ = true;
    outage_start_ms_ = clock.SteadyMs();
    if (options_.notice && action == Failover::Action::kRetryLater) {
      options_.notice("connection lost: " + why.message() + "; reconnecting");
    }
  }
  if (action == Failover::Action::kSwitchNow) {
    if (options_.retry_for.count() > 0 && clock.SteadyMs() - outage_start_ms_ > options_.retry_for.count()) return why;
    return Status::Ok();
  }
  const Millis delay = backoff_.Next();
  if (options_.retry_for.count() > 0 &&
      clock.SteadyMs() + delay.count() - outage_start_ms_ > options_.retry_for.count()) {
    return why;
  }
  clock.SleepMs(delay.count());
  return Status::Ok();
}

Status Follower::WaitForStream(const Status& not_found) {
  Clock& clock = *options_.clock;
  if (wait_start_ms_ < 0) {
    wait_start_ms_ = clock.SteadyMs();
    if (options_.notice) options_.notice("no such stream yet; waiting for it to be created");
  }
  // Polled at most every second (not the outage backoff's 5 s): someone is waiting to watch.
  const std::int64_t delay = std::min<std::int64_t>(backoff_.Next().count(), 1000);
  const std::int64_t waited = clock.SteadyMs() - wait_start_ms_;
  const std::int64_t limit = options_.wait_for.count();
  if (limit > 0 && waited >= limit) {
    return Status::NotFound(not_found.message() + " (not created within " +
                            (limit % 1000 ? std::to_string(limit) + " ms" : std::to_string(limit / 1000) + " s") +
                            ")");
  }
  clock.SleepMs(limit > 0 ? std::min(delay, limit - waited) : delay);  // the last look is at the limit
  return Status::Ok();
}

void Follower::Recovered() {
  contacted_ = true;
  backoff_.Reset();
  failover_.OnSuccess();
  if (in_outage_) {
    in_outage_ = false;
    if (options_.notice) options_.notice("reconnected; resuming at offset " + offset_);
  }
}

Status Follower::Deliver(const Sink& sink, std::string data, const std::string& next_offset) {
  Chunk chunk;
  chunk.json = IsJson();
  chunk.next_offset = next_offset;
  chunk.start_offset = offset_;
  const bool empty = chunk.json ? IsEmptyJsonArray(data) : data.empty();
  chunk.data = std::move(data);
  if (!empty) DSX_RETURN_IF_ERROR(sink(chunk));
  offset_ = next_offset;  // committed only after the sink took the data
  return Status::Ok();
}

Status Follower::Run(const Sink& sink) {
  offset_ = options_.from.empty() ? "-1" : options_.from;
  DSX_RETURN_IF_ERROR(CatchUp(sink));
  if (closed_ || stop_ || !options_.follow) return Status::Ok();
  if (options_.on_caught_up) options_.on_caught_up();
  if (stop_) return Status::Ok();

  LiveMode mode = options_.live;
  if (mode == LiveMode::kAuto) mode = IsTextType(content_type_) ? LiveMode::kLongPoll : LiveMode::kSse;
  while (mode == LiveMode::kSse) {
    live_used_ = "sse";
    Status error;
    Outcome outcome = SseOnce(sink, &error);
    if (outcome == Outcome::kClosed || stop_) return Status::Ok();
    if (outcome == Outcome::kUnsupported) {
      if (options_.live == LiveMode::kSse) return error;
      if (options_.notice) options_.notice("server does not offer SSE here (" + error.message() + "); using long-poll");
      mode = LiveMode::kLongPoll;
      break;
    }
    if (outcome == Outcome::kError) {
      DSX_RETURN_IF_ERROR(PauseForRetry(error));
    }
    // kReconnect: the server ended the response after progress (periodic SSE rotation).
  }
  live_used_ = "long-poll";
  return LongPollLoop(sink);
}

Status Follower::CatchUp(const Sink& sink) {
  for (;;) {
    auto r = client_.Read(offset_, ReadMode::kCatchUp, "", 60000);
    if (!r.ok()) {
      if (options_.wait_for_stream && options_.follow && !contacted_ && r.status().code() == Code::kNotFound) {
        DSX_RETURN_IF_ERROR(WaitForStream(r.status()));
        continue;
      }
      DSX_RETURN_IF_ERROR(PauseForRetry(r.status()));
      continue;
    }
    if (!r->content_type.empty()) content_type_ = r->content_type;
    const std::string before = offset_;
    DSX_RETURN_IF_ERROR(Deliver(sink, std::move(r->body), r->next_offset));
    Recovered();
    if (stop_) return Status::Ok();
    if (r->closed) {
      closed_ = true;
      return Status::Ok();
    }
    // A page that did not reach the tail: read on. A server that neither moves the offset
    // nor says up-to-date would loop forever; treat that as caught up.
    if (r->up_to_date || offset_ == before) return Status::Ok();
  }
}

Status Follower::LongPollLoop(const Sink& sink) {
  for (;;) {
    auto r = client_.Read(offset_, ReadMode::kLongPoll, cursor_, options_.long_poll_timeout_ms);
    if (!r.ok()) {
      DSX_RETURN_IF_ERROR(PauseForRetry(r.status()));
      continue;
    }
    if (!r->content_type.empty() && r->http_status == 200) content_type_ = r->content_type;
    if (!r->cursor.empty()) cursor_ = r->cursor;
    DSX_RETURN_IF_ERROR(Deliver(sink, r->http_status == 200 ? std::move(r->body) : std::string(), r->next_offset));
    Recovered();
    if (stop_) return Status::Ok();
    if (r->closed) {
      closed_ = true;
      return Status::Ok();
    }
  }
}

Follower::Outcome Follower::SseOnce(const Sink& sink, Status* error) {
  std::string query = "offset=" + EncodeQueryValue(offset_) + "&live=sse";
  if (!cursor_.empty()) query += "&cursor=" + EncodeQueryValue(cursor_);
  net::HttpRequest req = client_.MakeRequest("GET", query);
  req.headers.emplace_back("Accept", "text/event-stream");

  const bool json = IsJson();
  bool base64 = false;
  bool progressed = false;
  bool stop = false;
  Status failure;  // protocol or sink error inside the callbacks
  Outcome head_outcome = Outcome::kReconnect;
  std::string pending;       // data events not yet confirmed by a control event
  std::string pending_json;  // JSON streams: confirmed-later messages, comma-separated source text

  net::SseParser parser([&](const net::SseEvent& ev) {
    if (stop) return;
    if (ev.type == "data") {
      std::string payload = ev.data;
      if (base64) {
        auto decoded = Base64Decode(payload);
        if (!decoded) {
          failure = Status::Failed("server sent invalid base64 in an SSE data event");
          stop = true;
          return;
        }
        payload = std::move(*decoded);
      }
      if (json) {
        auto messages = SplitJsonArray(payload);
        if (!messages) {
          failure = Status::Failed("server sent invalid JSON in an SSE data event");
          stop = true;
          return;
        }
        for (std::string_view m : *messages) {
          if (!pending_json.empty()) pending_json.push_back(',');
          pending_json.append(m);
        }
      } else {
        pending += payload;
      }
    } else if (ev.type == "control") {
      auto control = nlohmann::json::parse(ev.data, nullptr, false);
      if (!control.is_object() || !control.contains("streamNextOffset") || !control["streamNextOffset"].is_string()) {
        failure = Status::Failed("server sent an SSE control event without streamNextOffset");
        stop = true;
        return;
      }
      std::string next = control["streamNextOffset"].get<std::string>();
      std::string data = json ? "[" + pending_json + "]" : std::move(pending);
      pending.clear();
      pending_json.clear();
      Status s = Deliver(sink, std::move(data), next);
      if (!s.ok()) {
        failure = s;
        stop = true;
        return;
      }
      if (control.contains("streamCursor") && control["streamCursor"].is_string()) {
        cursor_ = control["streamCursor"].get<std::string>();
      }
      progressed = true;
      sse_worked_ = true;
      Recovered();
      if (control.value("streamClosed", false)) {
        closed_ = true;
        stop = true;
      }
      if (stop_) stop = true;  // the sink asked to end here
    } else if (ev.type == "error") {
      // The server ended the read on purpose (docs/protocol/streams.md, Auth): with 401 the
      // token expired. Retrying with the same token cannot work: stop and say how to resume.
      auto e = nlohmann::json::parse(ev.data, nullptr, false);
      const int status = e.is_object() ? e.value("status", 0) : 0;
      const std::string why = e.is_object() ? e.value("error", std::string()) : std::string();
      if (status == 401) {
        failure = Status::Conflict(
            "token expired while following (HTTP 401): get a fresh --token or DSX_TOKEN and "
            "resume with --from " +
            offset_);
      } else {
        failure =
            Status::Failed("server ended the live read (" + (status ? "HTTP " + std::to_string(status) : "error") +
                           (why.empty() ? ")" : "): " + why));
      }
      stop = true;
    }
  });

  net::StreamHandler handler;
  handler.on_headers = [&](const net::HttpResponse& head) {
    if (head.status != 200) {
      Status s = StatusFromResponse(head);
      const bool refused = head.status == 400 || head.status == 405 || head.status == 406 || head.status == 501;
      head_outcome = (refused && !sse_worked_) ? Outcome::kUnsupported : Outcome::kError;
      failure = s;
      return false;
    }
    if (NormalizeContentType(head.Header("Content-Type")) != "text/event-stream") {
      head_outcome = sse_worked_ ? Outcome::kError : Outcome::kUnsupported;
      failure = Status::Failed("server answered an SSE request with '" + head.Header("Content-Type") + "'");
      return false;
    }
    base64 = net::EqualsIgnoreCase(head.Header("Stream-SSE-Data-Encoding"), "base64");
    return true;
  };
  handler.on_body = [&](std::string_view chunk) {
    if (!parser.Feed(chunk) && failure.ok()) {  // a hostile endless event: a protocol error
      failure = Status::Failed(parser.OverflowMessage());
      stop = true;
    }
    return !stop;
  };

  net::Exchange ex = client_.transport().Stream(req, handler);
  if (closed_) return Outcome::kClosed;
  if (!failure.ok()) {
    *error = failure;
    if (head_outcome == Outcome::kUnsupported) return Outcome::kUnsupported;
    // Sink errors (output closed) and protocol errors end the run; HTTP 5xx/outages retry.
    return Outcome::kError;
  }
  if (!ex.ok()) {
    *error = client_.TransportError(ex);
    return Outcome::kError;
  }
  if (progressed) return Outcome::kReconnect;
  // Ended cleanly without a single control event: pace the reconnect like a failure.
  *error = Status::Unavailable("server ended the SSE response without data");
  return Outcome::kError;
}

}  // namespace dsx::session::client
