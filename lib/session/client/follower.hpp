// Reading a stream from an offset: catch-up pages first, then (with follow) live data over
// SSE or long-poll, reconnecting with backoff after drops and server restarts.
//
// No gaps, no duplicates: a chunk is handed to the sink together with the offset that
// follows it, and the follower's resume offset moves only after the sink accepted the chunk.
// SSE data events are held until the control event that carries their offset arrives; a
// connection that breaks between the two loses nothing, because the next request resumes
// from the last committed offset and the server sends that data again.
//
// Live transport choice (LiveMode::kAuto): SSE for JSON and binary streams, long-poll for
// text/* streams, because SSE text framing splits payload lines on CR, LF and CRLF and so
// cannot give back a "\r\n" or a lone "\r" exactly; long-poll returns the stored bytes. If
// the server refuses SSE (not 200 text/event-stream before any SSE worked), the follower
// falls back to long-poll for the rest of the run.
//
// Several servers (StreamClient with a list, server_list.hpp): a request that gets no answer or
// 502/503/504 moves the follower to the next server (at once while some server of the list has
// not failed since the last success, then with backoff), and it resumes there from the last
// committed offset; offsets are the same on every node of one store, so nothing is skipped or
// repeated. On first contact every server is tried once before the error is returned.
#pragma once

#include <functional>
#include <string>

#include "core/clock.hpp"
#include "session/client/backoff.hpp"
#include "session/client/server_list.hpp"
#include "session/client/stream_client.hpp"

namespace dsx::session::client {

enum class LiveMode { kAuto, kSse, kLongPoll };

struct Chunk {
  std::string data;          // bytes; for JSON streams a JSON array of messages
  std::string next_offset;   // where reading resumes after this chunk
  std::string start_offset;  // where this chunk was read from ("-1" at the very start)
  bool json = false;         // the stream is application/json
};

class Follower {
 public:
  struct Options {
    std::string from = "-1";  // -1 (start), now (tail) or an offset the server gave
    bool follow = false;      // keep reading live until the stream is closed
    LiveMode live = LiveMode::kAuto;
    Millis retry_for{0};                 // longest outage to ride out; 0 = forever (after first contact)
    long long_poll_timeout_ms = 120000;  // client-side cap on one long-poll request
    Backoff::Options backoff;
    Clock* clock = &Clock::System();  // steady readings pace retries; sleeps between them
    uint64_t seed = 0x7a11;
    std::function<void(const std::string&)> notice;  // one-line human notices (reconnecting...)
    // With follow: a stream that does not exist yet is waited for (polled with backoff, as the
    // web page does) instead of being an error, for at most `wait_for` (0: forever); then
    // kNotFound "... not created within N s".
    bool wait_for_stream = false;
    Millis wait_for{0};
    // Called once when the catch-up reached the tail (before live reading starts).
    std::function<void()> on_caught_up;
  };
  // Returns non-OK to stop reading (Run then returns that status).
  using Sink = std::function<Status(const Chunk&)>;

  Follower(StreamClient& client, Options options);

  // Reads until caught up (no follow) or until the stream is closed (follow). The first
  // request failing is an error (a wrong URL should not hang); later transport failures
  // and 502/503/504 are retried within retry_for.
  Status Run(const Sink& sink);

  // Ends Run (with OK) once the chunk being delivered is committed; for the sink to call.
  void RequestStop() { stop_ = true; }
  bool stopped() const { return stop_; }
  // The stream did not exist when the follower started (wait_for_stream): all it reads was
  // written after that.
  bool waited_for_stream() const { return wait_start_ms_ >= 0; }

  const std::string& offset() const { return offset_; }
  const std::string& content_type() const { return content_type_; }
  bool closed() const { return closed_; }
  const char* live_used() const { return live_used_; }

 private:
  enum class Outcome { kClosed, kReconnect, kUnsupported, kError };
  Status CatchUp(const Sink& sink);
  Status WaitForStream(const Status& not_found);
  Status LongPollLoop(const Sink& sink);
  Outcome SseOnce(const Sink& sink, Status* error);
  Status Deliver(const Sink& sink, std::string data, const std::string& next_offset);
  // Waits before a retry after `why`, or returns `why` when retrying is not allowed.
  Status PauseForRetry(const Status& why);
  void Recovered();
  bool IsJson() const { return IsJsonContentType(content_type_); }

  StreamClient& client_;
  Options options_;
  Backoff backoff_;
  Failover failover_;
  std::string offset_;
  std::string cursor_;
  std::string content_type_;
  bool closed_ = false;
  bool stop_ = false;
  std::int64_t wait_start_ms_ = -1;  // SteadyMs() when waiting for the stream began
  bool contacted_ = false;  // some request succeeded: later failures are outages, not errors
  bool sse_worked_ = false;
  bool in_outage_ = false;
  std::int64_t outage_start_ms_ = 0;  // clock SteadyMs() when the outage began
  const char* live_used_ = "";
};

}  // namespace dsx::session::client
