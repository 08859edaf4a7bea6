// The service against a store that completes later (like the file store's group commit):
// no append is answered, and no reader sees its data, before the store says it is durable;
// producer checks see in-flight appends; a duplicate of an in-flight append waits for it.
#include <doctest/doctest.h>

#include <deque>
#include <functional>

#include "session/model/stream_service.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx;
using namespace dsx::session;

namespace {

// Wraps the memory store; Append completions are held until Flush().
class DeferredStore final : public StreamStore {
 public:
  explicit DeferredStore(std::deque<std::function<void()>>* queue) : inner_(MakeMemoryStore()), queue_(queue) {}
  const char* Name() const override { return "deferred"; }
  Result<std::vector<StreamState>> Load() override { return inner_->Load(); }
  void Create(CreateOp op, StatusCallback done) override { inner_->Create(std::move(op), std::move(done)); }
  void Append(AppendOp op, AppendCallback done) override {
    auto shared = std::make_shared<AppendOp>(std::move(op));
    queue_->push_back(
        [this, shared, done = std::move(done)]() mutable { inner_->Append(std::move(*shared), std::move(done)); });
  }
  Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end, std::size_t max) const override {
    return inner_->Read(id, from, end, max);
  }
  void SoftDelete(StreamId id, StatusCallback done) override { inner_->SoftDelete(id, std::move(done)); }
  void Drop(StreamId id, StatusCallback done) override { inner_->Drop(id, std::move(done)); }
  Status Close() override { return inner_->Close(); }

 private:
  std::unique_ptr<StreamStore> inner_;
  std::deque<std::function<void()>>* queue_;
};

void Flush(std::deque<std::function<void()>>& q) {
  while (!q.empty()) {
    auto fn = std::move(q.front());
    q.pop_front();
    fn();
  }
}

AppendArgs Args(std::string body, std::optional<ProducerArgs> producer = std::nullopt) {
  AppendArgs a;
  a.path = "/s";
  a.content_type = "text/plain";
  a.body = std::move(body);
  a.producer = std::move(producer);
  return a;
}

}  // namespace

TEST_CASE("appends are answered and visible only once durable") {
  std::deque<std::function<void()>> queue;
  StreamService svc(std::make_unique<DeferredStore>(&queue), ServiceOptions{});
  REQUIRE(svc.Open().ok());
  CreateArgs c;
  c.path = "/s";
  c.content_type = "text/plain";
  std::optional<Reply> created;
  svc.Create(c, [&](Reply r) { created = r; });
  REQUIRE(created);
  CHECK(created->status == 201);

  std::optional<Reply> first, dup, second, gap;
  svc.Append(Args("a", ProducerArgs{"p", 0, 0}), [&](Reply r) { first = r; });
  CHECK_FALSE(first);                      // not durable yet: no answer
  CHECK(svc.Read("/s", {}).body.empty());  // and readers see nothing
  bool woke = false;
  StreamService::WaitToken token;
  ReadReply rr = svc.Read("/s", {});
  CHECK(svc.Wait(
      rr.stream, 0, [&] { woke = true; }, &token));

  svc.Append(Args("a", ProducerArgs{"p", 0, 0}), [&](Reply r) { dup = r; });     // retry of in-flight
  svc.Append(Args("b", ProducerArgs{"p", 0, 1}), [&](Reply r) { second = r; });  // sees seq 0 pending
  svc.Append(Args("z", ProducerArgs{"p", 0, 5}), [&](Reply r) { gap = r; });
  REQUIRE(gap);  // refused at once: validation needs no disk
  CHECK(gap->status == 409);
  CHECK(gap->expected_seq == 2u);
  CHECK_FALSE(dup);  // a duplicate waits for the original
  CHECK_FALSE(woke);

  Flush(queue);
  REQUIRE(first);
  REQUIRE(dup);
  REQUIRE(second);
  CHECK(first->status == 200);
  CHECK(dup->status == 204);
  CHECK(second->status == 200);
  CHECK(woke);
  CHECK(svc.Read("/s", {}).body == "ab");
}
