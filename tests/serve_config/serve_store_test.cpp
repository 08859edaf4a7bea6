// Serve opens its durable store through the function the app passes (apps/dsx/session_serve.cpp
// passes the file store), so dsx_session needs no store library of its own; --memory never calls it.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "session/server/serve.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx;
using namespace dsx::session;

namespace {

// A config that gets past validation and the store, then fails to listen: 203.0.113.0/24 is a
// documentation range that is never a local address, so Serve returns instead of serving.
ServeConfig Unlistenable() {
  ServeConfig c;
  c.listen = "203.0.113.7:0";
  c.insecure = true;  // a non-loopback address without a key: allowed, so the bind is reached
  c.data = "/nonexistent/dsx-data";
  c.fsync = "batch";
  c.fsync_interval_ms = 250;
  return c;
}

}  // namespace

TEST_CASE("serve: the durable store comes from the opener, with the validated config") {
  ServeConfig c = Unlistenable();
  int calls = 0;
  Status s = Serve(c, [&](const ServeConfig& got) -> Result<std::unique_ptr<StreamStore>> {
    ++calls;
    CHECK(got.data == "/nonexistent/dsx-data");
    CHECK(got.fsync == "batch");
    CHECK(got.fsync_interval_ms == 250);
    return MakeMemoryStore();
  });
  CHECK(calls == 1);
  CHECK_FALSE(s.ok());  // the bind failed after the store was opened
  CHECK(s.message().find("cannot open store") == std::string::npos);
}

TEST_CASE("serve: an opener's error is returned with the data directory, nothing served") {
  ServeConfig c = Unlistenable();
  Status s = Serve(c, [](const ServeConfig&) -> Result<std::unique_ptr<StreamStore>> {
    return Status::Unavailable("disk on fire");
  });
  CHECK(s.code() == Code::kUnavailable);
  CHECK(s.message() == "cannot open store '/nonexistent/dsx-data': disk on fire");
}

TEST_CASE("serve: --memory does not call the opener; no opener and no --memory fails") {
  ServeConfig c = Unlistenable();
  c.memory = true;
  int calls = 0;
  Status s = Serve(c, [&](const ServeConfig&) -> Result<std::unique_ptr<StreamStore>> {
    ++calls;
    return MakeMemoryStore();
  });
  CHECK(calls == 0);
  CHECK_FALSE(s.ok());

  c.memory = false;
  Status none = Serve(c, nullptr);
  CHECK(none.code() == Code::kFailed);
  CHECK(none.message().find("no durable store") != std::string::npos);
}

TEST_CASE("serve: an invalid config fails before the opener is called") {
  ServeConfig c = Unlistenable();
  c.fsync = "sometimes";
  int calls = 0;
  Status s = Serve(c, [&](const ServeConfig&) -> Result<std::unique_ptr<StreamStore>> {
    ++calls;
    return MakeMemoryStore();
  });
  CHECK(calls == 0);
  CHECK(s.code() == Code::kUsage);
}

TEST_CASE("serve: --store file:DIR and redis URLs go to the opener; memory: does not") {
  ServeConfig c = Unlistenable();
  c.store = "file:/nonexistent/other";
  Status s = Serve(c, [](const ServeConfig&) -> Result<std::unique_ptr<StreamStore>> {
    return Status::Unavailable("disk on fire");
  });
  CHECK(s.message() == "cannot open store '/nonexistent/other': disk on fire");

  c.store = "redis://127.0.0.1:1";
  s = Serve(c, [](const ServeConfig& got) -> Result<std::unique_ptr<StreamStore>> {
    CHECK(got.store == "redis://127.0.0.1:1");
    return Status::Unavailable("redis unreachable: connection refused");
  });
  CHECK(s.code() == Code::kUnavailable);
  CHECK(s.message() == "cannot open store 'redis://127.0.0.1:1': redis unreachable: connection refused");

  c.store = "memory:";
  int calls = 0;
  s = Serve(c, [&](const ServeConfig&) -> Result<std::unique_ptr<StreamStore>> {
    ++calls;
    return MakeMemoryStore();
  });
  CHECK(calls == 0);
  CHECK_FALSE(s.ok());  // the bind failed
}
