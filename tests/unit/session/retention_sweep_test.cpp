// Retention: StreamService::SweepExpired expires every expired stream the way a request
// would (404 afterwards, data dropped from the store), keeps what forks still read (soft
// delete), and leaves alone streams that are not expired or whose TTL reads renewed.
#include <doctest/doctest.h>

#include <set>

#include "core/clock.hpp"
#include "session/model/protocol_values.hpp"
#include "session/model/stream_service.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx;
using namespace dsx::session;

namespace {

// The memory store, recording which streams were dropped or soft-deleted.
class RecordingStore final : public StreamStore {
 public:
  RecordingStore(std::set<StreamId>* dropped, std::set<StreamId>* soft)
      : inner_(MakeMemoryStore()), dropped_(dropped), soft_(soft) {}
  const char* Name() const override { return "recording"; }
  Result<std::vector<StreamState>> Load() override { return inner_->Load(); }
  void Create(CreateOp op, StatusCallback done) override { inner_->Create(std::move(op), std::move(done)); }
  void Append(AppendOp op, AppendCallback done) override { inner_->Append(std::move(op), std::move(done)); }
  Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end, std::size_t max) const override {
    return inner_->Read(id, from, end, max);
  }
  void SoftDelete(StreamId id, StatusCallback done) override {
    soft_->insert(id);
    inner_->SoftDelete(id, std::move(done));
  }
  void Drop(StreamId id, StatusCallback done) override {
    dropped_->insert(id);
    inner_->Drop(id, std::move(done));
  }
  Status Close() override { return inner_->Close(); }

 private:
  std::unique_ptr<StreamStore> inner_;
  std::set<StreamId>* dropped_;
  std::set<StreamId>* soft_;
};

struct Fixture {
  std::set<StreamId> dropped, soft;
  ManualClock clock;  // the service's time: TTLs count from its readings, not the machine's
  StreamService service{std::make_unique<RecordingStore>(&dropped, &soft), ServiceOptions{}, clock};
  Fixture() { REQUIRE(service.Open().ok()); }

  int Create(CreateArgs a) {
    int status = -1;
    service.Create(std::move(a), [&](Reply r) { status = r.status; });
    return status;  // memory store: answered inline
  }
  int CreateTtl(const std::string& path, std::uint64_t ttl_s, std::string body = "data") {
    CreateArgs a;
    a.path = path;
    a.content_type = "text/plain";
    a.ttl_seconds = ttl_s;
    a.body = std::move(body);
    return Create(std::move(a));
  }
  std::string ReadAll(const std::string& path) {
    ReadReply rr = service.Read(path, OffsetParam{});
    REQUIRE(rr.reply.status == 200);
    return rr.body;
  }
};

}  // namespace

TEST_CASE("an expired stream nobody touches is swept: 404 afterwards, its data dropped") {
  Fixture f;
  const std::int64_t t0 = f.clock.NowMs();
  REQUIRE(f.CreateTtl("/ttl", 1) == 201);
  CreateArgs a;
  a.path = "/at";
  a.content_type = "text/plain";
  a.expires_at = "2100-01-01T00:00:00Z";  // the header; expiry follows expires_at_ms
  a.expires_at_ms = t0 + 1000;
  a.body = "x";
  REQUIRE(f.Create(std::move(a)) == 201);
  REQUIRE(f.CreateTtl("/keep", 3600) == 201);
  REQUIRE(f.service.stats().streams == 3);

  CHECK(f.service.SweepExpired(t0 + 500) == 0);  // nothing due yet
  CHECK(f.dropped.empty());
  CHECK(f.service.SweepExpired(t0 + 5000) == 2);
  CHECK(f.dropped.size() == 2);
  CHECK(f.soft.empty());
  CHECK(f.service.stats().streams == 1);
  CHECK(f.service.Head("/ttl").status == 404);
  CHECK(f.service.Head("/at").status == 404);
  CHECK(f.service.SweepExpired(t0 + 5000) == 0);  // idempotent
  // The name is free again.
  CHECK(f.CreateTtl("/ttl", 3600) == 201);
}

TEST_CASE("a stream that is not expired is left alone") {
  Fixture f;
  REQUIRE(f.CreateTtl("/a", 3600, "hello") == 201);
  CreateArgs plain;
  plain.path = "/b";
  plain.body = "forever";
  REQUIRE(f.Create(std::move(plain)) == 201);
  CHECK(f.service.SweepExpired(f.clock.NowMs() + 60'000) == 0);
  CHECK(f.dropped.empty());
  CHECK(f.service.Head("/a").status == 200);
  CHECK(f.ReadAll("/a") == "hello");
  CHECK(f.ReadAll("/b") == "forever");
}

TEST_CASE("an expired source a fork still reads is soft-deleted; its data stays readable through the fork") {
  Fixture f;
  const std::int64_t t0 = f.clock.NowMs();
  CreateArgs src;
  src.path = "/src";
  src.content_type = "text/plain";
  src.expires_at = "2100-01-01T00:00:00Z";
  src.expires_at_ms = t0 + 1000;
  src.body = "shared-prefix";
  REQUIRE(f.Create(std::move(src)) == 201);
  CreateArgs fork;
  fork.path = "/fork";
  fork.fork_from = "/src";
  fork.ttl_seconds = 3600;  // its own expiry, so it outlives the source
  REQUIRE(f.Create(std::move(fork)) == 201);

  CHECK(f.service.SweepExpired(t0 + 2000) == 1);
  CHECK(f.dropped.empty());
  CHECK(f.soft.size() == 1);
  CHECK(f.service.Head("/src").status == 410);  // gone for clients, as after a DELETE
  CHECK(f.ReadAll("/fork") == "shared-prefix");
  CHECK(f.service.SweepExpired(t0 + 3000) == 0);  // already soft-deleted: not counted again

  // Dropping the last fork drops the source too (cascading GC).
  int status = -1;
  f.service.Delete("/fork", [&](Reply r) { status = r.status; });
  CHECK(status == 204);
  CHECK(f.dropped.size() == 2);
  CHECK(f.service.Head("/src").status == 404);
}

TEST_CASE("an expired source and its expired fork are both swept, in either order") {
  Fixture f;
  const std::int64_t t0 = f.clock.NowMs();
  REQUIRE(f.CreateTtl("/s", 1, "abc") == 201);
  CreateArgs fork;
  fork.path = "/s-fork";
  fork.fork_from = "/s";  // inherits the 1 s TTL
  REQUIRE(f.Create(std::move(fork)) == 201);
  CHECK(f.service.SweepExpired(t0 + 5000) == 2);
  CHECK(f.dropped.size() == 2);
  CHECK(f.service.Head("/s").status == 404);
  CHECK(f.service.Head("/s-fork").status == 404);
  CHECK(f.service.stats().streams == 0);
}

TEST_CASE("a TTL renewed by reads is not swept") {
  Fixture f;
  const std::int64_t t0 = f.clock.NowMs();
  REQUIRE(f.CreateTtl("/read", 1) == 201);
  REQUIRE(f.CreateTtl("/idle", 1) == 201);
  f.clock.Advance(600);
  CHECK(f.ReadAll("/read") == "data");  // last access t0 + 600, read from the service's clock
  // At t0 + 1300 the idle stream's second is over, the read one's is not.
  CHECK(f.service.SweepExpired(t0 + 1300) == 1);
  CHECK(f.service.Head("/idle").status == 404);
  CHECK(f.service.Head("/read").status == 200);
  // The read one lapses exactly one TTL after that read.
  CHECK(f.service.SweepExpired(t0 + 1599) == 0);
  CHECK(f.service.SweepExpired(t0 + 1600) == 1);
  CHECK(f.service.Head("/read").status == 404);
}

TEST_CASE("lazy expiry (a request finds the stream) follows the service's clock to the millisecond") {
  Fixture f;
  REQUIRE(f.CreateTtl("/t", 1) == 201);
  f.clock.Advance(999);
  CHECK(f.service.Head("/t").status == 200);  // HEAD does not renew
  f.clock.Advance(1);
  CHECK(f.service.Head("/t").status == 404);
  CHECK(f.dropped.size() == 1);
}

TEST_CASE("ListStreams lists live streams under a prefix, sorted, without renewing TTLs") {
  Fixture f;
  const std::int64_t t0 = f.clock.NowMs();
  REQUIRE(f.CreateTtl("/v1/stream/b", 1) == 201);
  CreateArgs j;
  j.path = "/v1/stream/a";
  j.content_type = "application/json";
  j.body = "[1]";
  REQUIRE(f.Create(std::move(j)) == 201);
  REQUIRE(f.CreateTtl("/other", 3600) == 201);
  auto all = f.service.ListStreams("/v1/stream/", t0);
  REQUIRE(all.size() == 2);
  CHECK(all[0].path == "/v1/stream/a");
  CHECK(all[0].json);
  CHECK(all[0].tail > 0);
  CHECK_FALSE(all[1].json);
  // Expired streams are not listed (and listing did not renew them).
  auto later = f.service.ListStreams("/v1/stream/", t0 + 5000);
  REQUIRE(later.size() == 1);
  CHECK(later[0].path == "/v1/stream/a");
  CHECK(f.service.SweepExpired(t0 + 5000) == 1);
}
