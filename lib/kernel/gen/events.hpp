// Where the generation loop reports progress: nowhere, or a durable session (Durable Streams)
// that people and agents watch with `dsx session tail` or the web UI.
//
// Events are JSON objects with a "type" (schema in docs/cli/kernel-gen.md):
//   gen.start, gen.prompt, gen.token (batched model text), gen.reply, gen.result, gen.error, gen.end,
//   gen.summary (several tasks: their fast_p, after the last gen.end)
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "net/transport.hpp"
#include "session/client/session_client.hpp"
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
  // The final leaderboard (LeaderboardJson), once the search is over.
  virtual void Finished(const nlohmann::json& leaderboard) { (void)leaderboard; }
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
  void Finished(const nlohmann::json& board) override {
    for (auto* s : sinks_) s->Finished(board);
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
//
// That stream is also the live session of the same name (docs/protocol/sessions.md: one name
// space), so the progress, metric and table events that viewers draw (tail --text, the web page)
// go to POST /v1/session/<name>/events, where the server checks and stamps them and folds them
// into the compacted view: progress (candidates tried of planned), the metric "best_speedup"
// (best score so far by candidates tried) and, at the end, the leaderboard as a table. The gen.*
// events stay plain stream appends, as before (docs/cli/kernel-gen.md).
class SessionSink : public EventSink {
 public:
  static Result<std::unique_ptr<SessionSink>> Open(const std::string& name, const std::string& server,
                                                   const std::string& token,
                                                   std::unique_ptr<net::Transport> transport = nullptr);
  void Emit(const nlohmann::json& event) override;
  void Token(const std::string& candidate, std::string_view text) override;
  void Flush() override;
  void Finished(const nlohmann::json& leaderboard) override;
  ~SessionSink() override;
  const std::string& url() const { return client_.ref().url; }
  int failed_appends() const { return failed_; }

 private:
  SessionSink(std::unique_ptr<net::Transport> transport, session::client::StreamRef ref, std::string token,
              const std::string& server, const std::string& session)
      : transport_(std::move(transport)),
        client_(*transport_, std::move(ref), token),
        events_(*transport_, server, session, token) {}
  Status Post(const std::string& body);
  void PostDraft(const nlohmann::json& draft);
  void Warn(const Status& s);
  std::unique_ptr<net::Transport> transport_;
  session::client::StreamClient client_;
  session::client::SessionClient events_;  // /v1/session/<name>/events: progress, metric, table
  std::string pending_candidate_;
  std::string pending_text_;
  std::chrono::steady_clock::time_point pending_since_{};
  int failed_ = 0;
};

// The progress and metric drafts (docs/protocol/sessions.md, "Progress, metrics and tables") a
// gen.* event stands for: gen.start and gen.result give a progress draft (done: candidates tried,
// total: planned when known, unit "candidates", key "kernel-gen"); gen.result with a passing best
// so far also a metric draft {"name":"best_speedup","step":tried,"value":best score}; gen.end a
// last progress draft and, when the run verified and timed something (gen.end carries "fast_p"),
// one metric draft per threshold {"name":"fast_p","step":p,"value":fraction} (the fast_p curve,
// p ascending); gen.summary (gen over several tasks, once at the end) the same metric drafts for
// the whole task set. Other events give none. Exposed for tests.
std::vector<nlohmann::json> ProgressDrafts(const nlohmann::json& gen_event);
// The leaderboard as a table draft (rank, id, outcome, score, summary; the first 1000 entries;
// summaries cut at 200 bytes), key "kernel-gen-leaderboard".
nlohmann::json LeaderboardTableDraft(const nlohmann::json& leaderboard);

// Resolves a session name to its stream URL (exposed for tests). Usage error for names with
// spaces, '..', '?', '#', or an empty segment.
Result<std::string> SessionStreamUrl(const std::string& name, const std::string& server);

}  // namespace dsx::kernel::gen
