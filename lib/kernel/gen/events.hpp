// Where the generation loop reports progress: nowhere, or a durable session (Durable Streams)
// that people and agents watch with `dsx session tail` or the web UI.
//
// Events are JSON objects with a "type" (schema in docs/cli/kernel-gen.md):
//   gen.start, gen.prompt, gen.token (batched model text), gen.reply, gen.result, gen.error, gen.end
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "net/transport.hpp"
#include "session/client/stream_client.hpp"

namespace dsx::kernel::gen {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void Emit(const nlohmann::json& event) = 0;
  // Model text as it streams; implementations may batch it into gen.token events.
  virtual void Token(const std::string& candidate, std::string_view text) {
    (void)candidate;
    (void)text;
  }
  virtual void Flush() {}
};

class NullSink : public EventSink {
 public:
  void Emit(const nlohmann::json&) override {}
};

// Sends every event to several sinks (progress on stderr and a session, say).
class TeeSink : public EventSink {
 public:
  void Add(EventSink* s) { sinks_.push_back(s); }
  void Emit(const nlohmann::json& e) override {
    for (auto* s : sinks_) s->Emit(e);
  }
  void Token(const std::string& c, std::string_view t) override {
    for (auto* s : sinks_) s->Token(c, t);
  }
  void Flush() override {
    for (auto* s : sinks_) s->Flush();
  }

 private:
  std::vector<EventSink*> sinks_;
};

// One line per event of interest on stderr ("dsx: kernel gen: r1-c2: passed: ..."), for people.
class ProgressSink : public EventSink {
 public:
  void Emit(const nlohmann::json& event) override;
};

// Appends events to the JSON stream `name` on a Durable Streams server: `name` is a path
// ("runs/rmsnorm-1") resolved under `server` + "/v1/stream/", or a full http(s) URL. Requests
// go through the session client's StreamClient over `transport` (a net::CurlTransport when
// null); `token` is sent as a bearer token and never printed.
// Open() creates the stream (PUT, Content-Type application/json; an existing JSON stream is
// reused). Token text is batched (256 chars or 250 ms) so a fast model does not cost a request per
// token. After the stream is open, a failed append is reported once on stderr and the search goes
// on (watching is optional; the run folder is the record).
class SessionSink : public EventSink {
 public:
  static Result<std::unique_ptr<SessionSink>> Open(const std::string& name, const std::string& server,
                                                   const std::string& token,
                                                   std::unique_ptr<net::Transport> transport = nullptr);
  void Emit(const nlohmann::json& event) override;
  void Token(const std::string& candidate, std::string_view text) override;
  void Flush() override;
  ~SessionSink() override;
  const std::string& url() const { return client_.ref().url; }
  int failed_appends() const { return failed_; }

 private:
  SessionSink(std::unique_ptr<net::Transport> transport, session::client::StreamRef ref, std::string token)
      : transport_(std::move(transport)), client_(*transport_, std::move(ref), std::move(token)) {}
  Status Post(const std::string& body);
  void Warn(const Status& s);
  std::unique_ptr<net::Transport> transport_;
  session::client::StreamClient client_;
  std::string pending_candidate_;
  std::string pending_text_;
  std::chrono::steady_clock::time_point pending_since_{};
  int failed_ = 0;
};

// Resolves a session name to its stream URL (exposed for tests). Usage error for names with
// spaces, '..', '?', '#', or an empty segment.
Result<std::string> SessionStreamUrl(const std::string& name, const std::string& server);

}  // namespace dsx::kernel::gen
