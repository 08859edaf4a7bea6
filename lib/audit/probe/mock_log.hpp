// The mock LLM's log: one JSON object per line, written by `dsx audit mock-llm` and read by
// the live probe as its oracle ("did the model really stop generating?").
//
// Line format (fields beyond these may be added; readers ignore unknown ones):
//   {"ms":1764150000123,"ts":"2026-11-26T10:00:00.123Z","event":"request","req":"r000001",
//    "stream":true,"tokens":40,"marker":"dsx-probe-1a2b"}            a request arrived
//   {"ms":...,"event":"token","req":"r000001","n":1,"text":"tok-0001 "} token n was written
//   {"ms":...,"event":"done","req":"r000001","sent":40}                  the answer was finished
//   {"ms":...,"event":"cancel","req":"r000001","sent":7,"why":"client closed the connection"}
// `ms` is wall-clock milliseconds since the Unix epoch; `marker` is present only when the
// request body contained a "dsx-probe-..." word (the probe puts one in its prompts).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace dsx::audit::probe {

struct MockEvent {
  int64_t ms = 0;
  std::string event;    // request | token | done | cancel
  std::string req;      // request id
  std::string marker;   // request: the probe marker found in the body ("" if none)
  int n = 0;            // token: its number (1-based)
  int sent = 0;         // done/cancel: tokens written before the end
  bool stream = false;  // request: streaming or not
  int tokens = 0;       // request: tokens the answer will have
};

// What happened to one model request, folded from its events.
struct MockRequest {
  std::string req;
  std::string marker;
  int64_t start_ms = 0;
  int64_t end_ms = 0;         // time of done/cancel; 0 while still generating
  int64_t last_token_ms = 0;  // 0 before the first token
  int tokens_sent = 0;        // highest token number written
  int tokens_total = 0;       // tokens this answer was going to have (request event)
  bool done = false;
  bool cancelled = false;
  // Tokens written strictly after `t_ms` (for "did it keep going after the drop?").
  std::vector<int64_t> token_ms;  // time of each token, index n-1
  int TokensAfter(int64_t t_ms) const;
};

class MockLog {
 public:
  // Parse JSON lines; malformed lines are counted and skipped, never fatal (a log being
  // appended to can end in a torn line).
  static MockLog Parse(std::string_view text);
  // Read from an http(s) URL (GET, e.g. http://127.0.0.1:9000/log) or a file path.
  static Result<MockLog> Load(const std::string& url_or_path, double timeout_s = 5.0);

  const std::vector<MockEvent>& events() const { return events_; }
  int malformed_lines() const { return malformed_; }
  std::vector<MockRequest> Requests() const;
  // The requests that carry `marker`; if none does, those that started in [from_ms, to_ms].
  std::vector<MockRequest> Match(const std::string& marker, int64_t from_ms, int64_t to_ms) const;

 private:
  std::vector<MockEvent> events_;
  int malformed_ = 0;
};

}  // namespace dsx::audit::probe
