// `dsx audit mock-llm`: an OpenAI-compatible model that streams numbered tokens slowly and
// logs, as JSON lines (format in mock_log.hpp), every request, every token written, each
// finish and each client cancel (the connection closed before the end). It is the live
// probe's oracle: an app under test points its model base URL here, and the probe reads the
// log (GET /log) to see whether generation really stopped after a drop or a stop.
//
// Routes:
//   POST /v1/chat/completions  {"stream":true,...} -> SSE chat.completion.chunk frames, one
//                              token per frame ("tok-0001 ", ...), then data: [DONE];
//                              without stream: one chat.completion after the same delay.
//   GET  /v1/models            one model, "dsx-mock"
//   GET  /log                  the log so far (application/x-ndjson)
//   GET  /healthz              "ok"
// A request may lower the token count with "max_tokens" (never raise it). With keep_alive the
// connection takes the next request after an answer (--keep-alive).
#pragma once

#include <memory>
#include <string>

#include "core/status.hpp"

namespace dsx::audit::probe {

struct MockLlmOptions {
  std::string host = "127.0.0.1";
  int port = 0;           // 0: any free port (see MockLlmServer::port())
  int tokens = 40;        // tokens per answer
  int interval_ms = 100;  // token n is sent n x interval_ms after the request came in (a fixed rate)
  std::string log_path;   // also append the log to this file ("" = memory only)
  // Keep a connection open after an answer for the next request, as a hosted model API does
  // (a client or proxy that reuses connections then pays no connect per call). Off by default:
  // the live probe reads a closed connection during an answer as the cancel, and that stays so.
  bool keep_alive = false;
};

class MockLlmServer {
 public:
  explicit MockLlmServer(MockLlmOptions options);
  ~MockLlmServer();
  MockLlmServer(const MockLlmServer&) = delete;
  MockLlmServer& operator=(const MockLlmServer&) = delete;

  // Bind and listen. kUsage for a bad host, kConflict when the port is taken.
  Status Listen();
  int port() const;
  std::string host() const;
  // Serve until Stop() (from any thread or a signal handler thread). Blocks.
  void Run();
  void Stop();
  // The log so far, JSON lines.
  std::string LogText() const;

  struct Impl;  // opaque; public only so the connection handlers in mock_llm.cpp can name it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::audit::probe
