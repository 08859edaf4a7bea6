// One stream's Durable Streams operations over a Transport: create (PUT), info (HEAD),
// delete, catch-up and long-poll reads (GET), and the raw request builder that the producer
// and the follower use. HTTP statuses become dsx::Status codes by net::StatusFromHttp
// (net/http_status.hpp, the one table for every client); this file words the messages for the
// stream endpoints. Messages are the "why" part; callers prefix the "what" ("cannot append to
// 'chat/42'").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net/transport.hpp"
#include "session/client/stream_ref.hpp"

namespace dsx::session::client {

struct StreamInfo {
  std::string content_type;
  std::string next_offset;  // the tail
  bool closed = false;
  std::string ttl;         // Stream-TTL as sent by the server ("" when none)
  std::string expires_at;  // Stream-Expires-At ("" when none)
};

struct CreateOptions {
  std::string content_type;  // "" = let the server default (application/octet-stream)
  std::optional<uint64_t> ttl_seconds;
  std::string expires_at;  // RFC 3339; "" = none
};

struct CreateResult {
  bool created = false;  // 201 (new) vs 200 (already existed with the same settings)
  StreamInfo info;
};

enum class ReadMode { kCatchUp, kLongPoll };

struct ReadResult {
  int http_status = 0;  // 200 data (maybe empty), 204 long-poll timeout or EOF
  std::string body;     // raw bytes; a JSON array for JSON streams
  std::string content_type;
  std::string next_offset;
  std::string cursor;  // Stream-Cursor (long-poll), echoed on the next request
  bool up_to_date = false;
  bool closed = false;
};

// True for application/json (parameters and case ignored): the stream holds JSON messages.
bool IsJsonContentType(std::string_view content_type);
// The media type without parameters, lowercased and trimmed.
std::string NormalizeContentType(std::string_view content_type);

// A non-success HTTP response as a Status: the code from net::StatusFromHttp, the message
// worded for the stream endpoints (producer conflicts, closed streams...).
Status StatusFromResponse(const net::HttpResponse& response);

class StreamClient {
 public:
  // `transport` must outlive the client. `token` (may be empty) goes out as
  // `Authorization: Bearer <token>` and is never part of any message.
  StreamClient(net::Transport& transport, StreamRef ref, std::string token);
  // The same stream on several servers (server_list.hpp): requests go to the current one;
  // FailOver() moves to the next. `refs` must not be empty.
  StreamClient(net::Transport& transport, std::vector<StreamRef> refs, std::string token);

  // The stream on the current server.
  const StreamRef& ref() const { return refs_[active_]; }
  net::Transport& transport() { return transport_; }
  std::size_t server_count() const { return refs_.size(); }
  std::size_t active_server() const { return active_; }
  // Make `index` (mod server_count()) the current server; the next request goes there.
  void UseServer(std::size_t index) { active_ = index % refs_.size(); }
  // The current server's origin ("http://h:1"), for notices.
  std::string server() const;

  // With several servers, Head and Create (idempotent) try the next server after a kUnavailable
  // failure, each server once; Delete only when the request cannot have been applied (never
  // delivered, or 502/503/504).
  Result<StreamInfo> Head();
  Result<CreateResult> Create(const CreateOptions& options);
  Status Delete();
  Result<ReadResult> Read(const std::string& offset, ReadMode mode, const std::string& cursor, long timeout_ms = 0);

  // A request to this stream's URL (plus `query`, already encoded, starting without '?'),
  // with the auth header set.
  net::HttpRequest MakeRequest(std::string method, const std::string& query = "") const;
  // Transport failure -> kUnavailable "<why> (<server>)".
  Status TransportError(const net::Exchange& exchange) const;

 private:
  // Send `build()`'s request; with several servers, on a failure that `retry_ok` allows, once
  // more on each other server.
  template <typename Build, typename RetryOk>
  net::Exchange SendOnAny(const Build& build, const RetryOk& retry_ok);

  net::Transport& transport_;
  std::vector<StreamRef> refs_;
  std::size_t active_ = 0;
  std::string token_;
};

}  // namespace dsx::session::client
