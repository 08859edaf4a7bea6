// `dsx session publish` as a library call: append what a file descriptor yields to a stream,
// creating the stream first when asked.
//   - The stream is looked up (HEAD) before anything is read: its content type decides the mode,
//     and an unreachable server fails before stdin is consumed.
//   - Byte mode: every read() is appended at once, so a live pipe streams as it is written.
//   - JSON mode (application/json streams): the input is JSON Lines. Input read to the end up
//     front (a regular file, or read_all) is validated completely before anything is appended;
//     a live pipe is validated and appended one read() at a time, so an invalid line stops the
//     run with everything before it appended (the error says how much).
//   - Appends go through an Appender (retries, optional idempotent producer) paced by `clock`.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "core/clock.hpp"
#include "core/status.hpp"
#include "session/client/stream_client.hpp"

namespace dsx::session::client {

struct PublishOptions {
  bool create = false;            // create the stream when it does not exist
  CreateOptions create_options;   // with create; content_type also checks an existing stream
  bool close = false;             // close the stream at the end of the input
  bool read_all = false;          // JSON mode: validate all of the input before appending
  std::string producer;           // idempotent producer id ("" = none)
  std::optional<uint64_t> epoch;  // default: the clock's wall time in milliseconds
  std::int64_t retry_for_ms = 120000;
  // One line when appends start failing and are retried, and one when they go through again.
  std::function<void(const std::string&)> notice;
};

struct PublishResult {
  uint64_t bytes = 0;     // payload appended (JSON mode: the messages' text)
  uint64_t messages = 0;  // JSON messages (JSON mode) or appends (byte mode)
  std::string next_offset;
  bool closed = false;
};

// Errors are the "why"; callers prefix the "what" ("cannot publish to 'chat/42'").
Result<PublishResult> Publish(StreamClient& client, int input_fd, const PublishOptions& options,
                              Clock& clock = Clock::System());

}  // namespace dsx::session::client
