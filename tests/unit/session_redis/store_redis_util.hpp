// Helpers for the Redis store tests: redis-server processes from the redis module's fixture
// (tests/unit/redis/redis_server_fixture.hpp), synchronous wrappers over the async store API,
// batches and metas. Tests skip (pass with a message) when redis-server is not installed.
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../redis/redis_server_fixture.hpp"
#include "redis/client.hpp"
#include "session/store/redis/redis_store.hpp"

namespace dsx::session::redistest {

using redis::test::FreePort;
using redis::test::PollUntil;
using redis::test::RedisCluster;
using redis::test::RawCommand;
using redis::test::RedisServer;  // Kill() (SIGKILL), Restart() (same port and folder)
using redis::test::SentinelServer;

template <typename Server>
RedisStoreOptions Options(const Server& r, int wait_replicas = 0) {
  RedisStoreOptions o;
  o.url = r.url();
  o.wait_replicas = wait_replicas;
  o.wait_timeout = std::chrono::milliseconds(200);
  return o;
}

template <typename Server>
std::unique_ptr<StreamStore> OpenStore(const Server& r, int wait_replicas = 0) {
  auto s = OpenRedisStore(Options(r, wait_replicas));
  if (!s) return nullptr;
  return std::move(*s);
}

inline std::unique_ptr<redis::Client> OpenClient(const RedisServer& r) {
  auto o = redis::ParseUrl(r.url());
  if (!o) return nullptr;
  auto c = redis::Client::Open(*o);
  if (!c) return nullptr;
  return std::move(*c);
}

inline Batch MakeBatch(std::vector<std::string> msgs) {
  Batch b;
  for (auto& m : msgs) {
    b.payload += m;
    b.sizes.push_back(static_cast<std::uint32_t>(m.size()));
  }
  return b;
}

inline StreamMeta Meta(StreamId id, std::string path, std::string ct = "text/plain") {
  StreamMeta m;
  m.id = id;
  m.path = std::move(path);
  m.content_type = std::move(ct);
  m.created_ms = 1700000000000;
  return m;
}

inline CreateOp MakeCreate(StreamId id, std::string path, std::vector<Batch> batches, std::uint64_t version) {
  CreateOp op;
  op.meta = Meta(id, std::move(path));
  op.batches = std::move(batches);
  op.new_version = version;
  return op;
}

inline Status CreateSync(StreamStore& s, CreateOp op) {
  std::promise<Status> p;
  s.Create(std::move(op), [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Result<AppendResult> AppendSync(StreamStore& s, AppendOp op) {
  std::promise<Result<AppendResult>> p;
  s.Append(std::move(op), [&](Result<AppendResult> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline AppendOp MakeAppend(StreamId id, std::vector<std::string> msgs, std::uint64_t expect, std::uint64_t next) {
  AppendOp op;
  op.id = id;
  op.batch = MakeBatch(std::move(msgs));
  op.expect_version = expect;
  op.new_version = next;
  return op;
}

inline Status DropSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.Drop(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Status SoftDeleteSync(StreamStore& s, StreamId id) {
  std::promise<Status> p;
  s.SoftDelete(id, [&](Status st) { p.set_value(st); });
  return p.get_future().get();
}

inline Result<std::optional<StreamState>> FetchSync(StreamStore& s, const std::string& path) {
  std::promise<Result<std::optional<StreamState>>> p;
  s.Fetch(path, [&](Result<std::optional<StreamState>> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

inline std::string ReadAll(const StreamStore& s, StreamId id, std::uint64_t from, std::uint64_t tail,
                           std::size_t max_bytes = 1 << 20) {
  std::string out;
  while (from < tail) {
    auto r = s.Read(id, from, tail, max_bytes);
    if (!r || r->messages.empty()) return out + "<read error: " + r.status().message() + ">";
    out += r->data;
    from = r->messages.back().end;
  }
  return out;
}

inline const StreamState* Find(const std::vector<StreamState>& v, StreamId id) {
  for (const auto& s : v)
    if (s.meta.id == id) return &s;
  return nullptr;
}

}  // namespace dsx::session::redistest

// Skip the test case when there is no redis-server.
#define REQUIRE_REDIS_SERVER()                                      \
  do {                                                              \
    if (!::dsx::redis::test::HaveRedis()) {                         \
      MESSAGE(::dsx::redis::test::kSkipMessage);                    \
      return;                                                       \
    }                                                               \
  } while (0)
