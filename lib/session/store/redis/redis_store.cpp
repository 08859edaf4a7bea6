// The Redis store (redis_store.hpp): mutations as Lua scripts with a version check, reads from
// a local copy, Fetch/Load to bring the copy up to date, change notifications over pub/sub.
//
// Failure model. A mutation whose script may not have run (Redis unreachable, timeout, WAIT
// short of replicas) fails with Unavailable, and the store stays usable: the service answers
// 503 and a later request succeeds once Redis is back. This differs on purpose from the file
// store, whose failed fsync makes every later mutation fail (sticky): there the local state is
// unknown, here Redis stays the arbiter and every mutation re-checks the version, so nothing
// builds on a write that may not have happened. A failed mutation may still have been applied
// (the reply was lost, or WAIT timed out with the write on the primary only): the version
// token tells the service (its next append conflicts, and it Fetches).
#include "session/store/redis/redis_store.hpp"

#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/mutex.hpp"
#include "session/store/redis/local_log.hpp"
#include "session/store/redis/redis_codec.hpp"

namespace dsx::session {
namespace {

using redisstore::Entry;
using redisstore::Keys;
using redisstore::LocalLog;
using redisstore::StreamKeys;
using Reply = redis::Reply;

constexpr std::size_t kFetchBudget = 4u << 20;  // bytes of messages per read script call
constexpr int kLoadConcurrency = 32;

// Runs short closures on one thread: the answers a call cannot give inline (callbacks never
// run inside the call that submitted them).
class Deferred {
 public:
  Deferred() : thread_([this] { Run(); }) {}
  ~Deferred() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void Post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and drained
      auto fn = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      fn();
      lk.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

// What a mutation script's reply meant.
struct Outcome {
  Status status;
  std::uint64_t tail = 0, start = 0;  // Append
  int code = 0;                       // script-specific result code
  // Non-empty when the script wrote something: the verify script's ARGV (checked after WAIT).
  std::vector<std::string> verify;
};

Status FromClient(const Status& s) {
  return Status::Unavailable("redis: " + s.message());
}

Status FromReplyError(const Reply& r) {
  // An error reply: the script ran and refused, or Redis refused it (OOM, READONLY, LOADING,
  // NOSCRIPT after a flush...). Nothing was written (the scripts check before they write), but
  // the cause is on Redis' side, so the service answers 503 like for an unreachable Redis.
  return Status::Unavailable("redis: " + r.str);
}

class RedisStore final : public StreamStore {
 public:
  RedisStore(std::unique_ptr<redis::Client> client, const RedisStoreOptions& o)
      : client_(std::move(client)),
        prefix_(o.key_prefix),
        set_key_(o.key_prefix + ":streams"),
        channel_(o.key_prefix + ":changes"),
        wait_replicas_(o.wait_replicas),
        wait_timeout_ms_(o.wait_timeout.count()),
        rng_(std::random_device{}()) {
    server_tag_ = rng_() & 0xffffffffu;
  }
  ~RedisStore() override { (void)Close(); }

  const char* Name() const override { return "redis"; }
  bool Shared() const override { return true; }

  StreamId NewId(StreamId) override {
    MutexLock lk(&rng_mu_);
    for (;;) {
      const StreamId id = rng_() >> 1;  // 63 bits: fits a signed 64-bit integer anywhere
      if (id != 0) return id;
    }
  }

  Result<std::vector<StreamState>> Load() override;
  void Create(CreateOp op, StatusCallback done) override;
  void Append(AppendOp op, AppendCallback done) override;
  Result<ReadChunk> Read(StreamId id, std::uint64_t from, std::uint64_t end_limit,
                         std::size_t max_bytes) const override {
    auto log = ById(id);
    if (!log) return Status::NotFound("no stream with id " + std::to_string(id));
    return log->Read(from, end_limit, max_bytes);
  }
  void SoftDelete(StreamId id, StatusCallback done) override;
  void Drop(StreamId id, StatusCallback done) override;
  void SetSyncObserver(SyncObserver observer) override {
    MutexLock lk(&listen_mu_);
    observer_ = std::move(observer);
  }
  void Fetch(const std::string& path, FetchCallback done) override;
  Status Health() const override {
    if (client_->Healthy()) return Status::Ok();
    return Status::Unavailable("Redis at " + client_->Describe() + " is unreachable");
  }
  void SetChangeListener(ChangeListener listener) override;
  void SetResyncListener(std::function<void()> listener) override {
    MutexLock lk(&listen_mu_);
    resync_ = std::move(listener);
  }
  void PutLease(const std::string& path, const std::string& run, std::int64_t deadline_ms) override;
  void GetLease(const std::string& path, const std::string& run,
                std::function<void(Result<std::int64_t>)> done) override;
  // Sliding TTLs across servers: the meta hash's last_access_ms only grows, and a stream that
  // is gone is not brought back (no meta key: nothing written).
  void Touch(const std::string& path, std::int64_t now_ms) override {
    static const redis::Script touch = redis::MakeScript(
        "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
        "local cur = tonumber(redis.call('HGET', KEYS[1], 'last_access_ms') or '0')\n"
        "if tonumber(ARGV[1]) > cur then redis.call('HSET', KEYS[1], 'last_access_ms', ARGV[1]) end\n"
        "return 1\n");
    if (!Begin()) return;
    client_->Eval(touch, {KeysOf(path).meta}, {std::to_string(now_ms)}, [this](Result<Reply>) { End(); });
  }

  // Ephemeral messages (hub presence) on <prefix>:ephemeral: PUBLISH, nothing stored.
  void PublishEphemeral(std::string payload) override {
    if (!Begin()) return;
    client_->Command(ephemeral_channel_, {"PUBLISH", ephemeral_channel_, std::move(payload)},
                     [this](Result<Reply>) { End(); });
  }
  void SetEphemeralListener(std::function<void(std::string_view payload)> listener) override {
    bool subscribe = false;
    {
      MutexLock lk(&listen_mu_);
      ephemeral_ = std::move(listener);
      subscribe = !ephemeral_subscribed_ && ephemeral_;
      if (subscribe) ephemeral_subscribed_ = true;
    }
    if (!subscribe) return;
    client_->Subscribe(
        ephemeral_channel_,
        [this](std::string_view payload) {
          std::function<void(std::string_view)> l;
          {
            MutexLock lk(&listen_mu_);
            l = ephemeral_;
          }
          if (l) l(payload);
        },
        [] {});
  }
  Status Close() override;

 private:
  // ---- bookkeeping -------------------------------------------------------------------------
  bool Begin() {
    MutexLock lk(&life_mu_);
    if (closed_) return false;
    ++inflight_;
    return true;
  }
  void End() {
    MutexLock lk(&life_mu_);
    if (--inflight_ == 0) life_cv_.SignalAll();
  }
  std::shared_ptr<LocalLog> ById(StreamId id) const {
    ReaderMutexLock lk(&map_mu_);
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  std::shared_ptr<LocalLog> ByPath(const std::string& path) const {
    ReaderMutexLock lk(&map_mu_);
    auto it = by_path_.find(path);
    return it == by_path_.end() ? nullptr : it->second;
  }
  // Forget `log` (if it is still the one registered for its id and path).
  void Forget(const std::shared_ptr<LocalLog>& log) {
    WriterMutexLock lk(&map_mu_);
    auto it = by_id_.find(log->id());
    if (it != by_id_.end() && it->second == log) by_id_.erase(it);
    auto pt = by_path_.find(log->path());
    if (pt != by_path_.end() && pt->second == log) by_path_.erase(pt);
  }
  // The committed local copy for the stream Redis holds at `path` as `id`: the existing one, or
  // a new one replacing whatever the path held before.
  // (This server's own create of `id`, still in flight, is the one: Redis already has it.)
  std::shared_ptr<LocalLog> Adopt(StreamId id, const std::string& path, std::uint64_t base) {
    std::shared_ptr<LocalLog> log;
    {
      WriterMutexLock lk(&map_mu_);
      auto it = by_id_.find(id);
      if (it != by_id_.end() && it->second->path() == path) {
        log = it->second;
      } else {
        log = std::make_shared<LocalLog>(id, path, base, true);
        by_id_[id] = log;
      }
      Register(path, log);
    }
    log->SetCommitted();
    return log;
  }
  // `log` becomes the copy for `path`; the one it replaces (another id) is forgotten.
  void Register(const std::string& path, const std::shared_ptr<LocalLog>& log) REQUIRES(map_mu_) {
    auto pt = by_path_.find(path);
    if (pt != by_path_.end() && pt->second != log) {
      auto old = by_id_.find(pt->second->id());
      if (old != by_id_.end() && old->second == pt->second) by_id_.erase(old);
    }
    by_path_[path] = log;
  }
  std::uint64_t NewToken() {
    MutexLock lk(&rng_mu_);
    return (server_tag_ << 32) | (++token_counter_ & 0xffffffffu);
  }
  Keys KeysOf(const std::string& path) const { return StreamKeys(prefix_, path); }

  // ---- mutations ---------------------------------------------------------------------------
  // Run one mutation script for `log`; `interpret` reads its reply; `finish` runs with the
  // outcome in the stream's submission order (after WAIT and its check when wait_replicas > 0),
  // then the in-flight count drops. `extra` is an independent command whose failure fails the
  // mutation (the index SADD of a create), or empty.
  void Mutate(const std::shared_ptr<LocalLog>& log, const redis::Script& script, std::vector<std::string> keys,
              std::vector<std::string> args, std::function<Outcome(const Reply&)> interpret,
              std::function<void(Outcome)> finish, std::vector<std::string> extra = {});

  // Fetch pages into the local copy until it reaches the state's tail.
  void FetchPage(std::string path, FetchCallback done, int attempts);
  void FinishFetch(const std::string& path, const FetchCallback& done, Result<std::optional<StreamState>> r) {
    done(std::move(r));
    End();
  }

  void OnMessage(std::string_view payload);

  std::unique_ptr<redis::Client> client_;
  const std::string prefix_, set_key_, channel_;
  // Declared after prefix_: initialized from it.
  const std::string ephemeral_channel_ = prefix_ + ":ephemeral";
  std::function<void(std::string_view)> ephemeral_;  // GUARDED_BY(listen_mu_)
  bool ephemeral_subscribed_ = false;                // GUARDED_BY(listen_mu_)
  const int wait_replicas_;
  const long long wait_timeout_ms_;

  Mutex rng_mu_;
  std::mt19937_64 rng_ GUARDED_BY(rng_mu_);
  std::uint64_t server_tag_ GUARDED_BY(rng_mu_) = 0;
  std::uint64_t token_counter_ GUARDED_BY(rng_mu_) = 0;

  mutable SharedMutex map_mu_;
  std::unordered_map<StreamId, std::shared_ptr<LocalLog>> by_id_ GUARDED_BY(map_mu_);
  std::unordered_map<std::string, std::shared_ptr<LocalLog>> by_path_ GUARDED_BY(map_mu_);

  Mutex listen_mu_;
  ChangeListener change_ GUARDED_BY(listen_mu_);
  std::function<void()> resync_ GUARDED_BY(listen_mu_);
  SyncObserver observer_ GUARDED_BY(listen_mu_);
  bool subscribed_ GUARDED_BY(listen_mu_) = false;

  Mutex life_mu_;
  CondVar life_cv_{&life_mu_};
  bool closed_ GUARDED_BY(life_mu_) = false;
  int inflight_ GUARDED_BY(life_mu_) = 0;

  Deferred deferred_;  // last member: destroyed (joined) first
};

// Joins a mutation's replies: the script's, WAIT's and the extra command's.
struct Join {
  Mutex mu;
  int waiting GUARDED_BY(mu) = 0;
  Outcome outcome GUARDED_BY(mu);
  std::optional<Result<Reply>> wait GUARDED_BY(mu);
  Status extra GUARDED_BY(mu);
};

void RedisStore::Mutate(const std::shared_ptr<LocalLog>& log, const redis::Script& script,
                        std::vector<std::string> keys, std::vector<std::string> args,
                        std::function<Outcome(const Reply&)> interpret, std::function<void(Outcome)> finish,
                        std::vector<std::string> extra) {
  auto ticket = log->Enqueue();
  auto join = std::make_shared<Join>();
  const auto t0 = std::chrono::steady_clock::now();
  const std::string route = keys[0];
  const std::string data_key = keys.size() > 2 ? keys[2] : keys[0];
  {
    MutexLock lk(&join->mu);
    join->waiting = 1 + (wait_replicas_ > 0 ? 1 : 0) + (extra.empty() ? 0 : 1);
  }
  // The last reply in: decide, verify if needed, and complete in order.
  auto deliver = [this, log, ticket, finish](Outcome o) {
    log->Complete(ticket, [this, finish, o = std::move(o)]() mutable {
      finish(std::move(o));
      End();
    });
  };
  auto proceed = [this, join, deliver, route, data_key]() {
    Outcome o;
    std::optional<Result<Reply>> wait;
    Status extra_status;
    {
      MutexLock lk(&join->mu);
      o = std::move(join->outcome);
      wait = std::move(join->wait);
      extra_status = join->extra;
    }
    if (o.status.ok() && !extra_status.ok()) o.status = extra_status;
    if (!o.status.ok() || wait_replicas_ == 0 || o.verify.empty()) return deliver(std::move(o));
    // WAIT: the write is applied on the primary; is it on enough replicas? If not, the change
    // may still be there (and may even survive): the service treats the mutation as failed.
    if (!wait->ok()) {
      o.status = Status::Unavailable("redis: WAIT failed (" + wait->status().message() +
                                     "); the change may or may not be kept");
      return deliver(std::move(o));
    }
    const Reply& w = wait->value();
    if (w.type != Reply::Type::kInteger) {
      o.status = Status::Unavailable("redis: WAIT answered " + redisstore::Describe(w));
      return deliver(std::move(o));
    }
    if (w.integer < wait_replicas_) {
      o.status = Status::Unavailable("only " + std::to_string(w.integer) + " of " + std::to_string(wait_replicas_) +
                                     " replicas confirmed the write");
      return deliver(std::move(o));
    }
    // Is the write on the server that answered WAIT (no reconnect to a new primary between)?
    auto verify = o.verify;
    client_->Eval(redisstore::GetScripts().verify, {route, data_key}, std::move(verify),
                  [deliver, o = std::move(o)](Result<Reply> r) mutable {
                    if (!r) {
                      o.status = FromClient(r.status());
                    } else if (r->type != Reply::Type::kInteger || r->integer != 1) {
                      o.status = Status::Unavailable(
                          "redis: the write is not on the primary that confirmed it (failover?)");
                    }
                    deliver(std::move(o));
                  });
  };
  auto arrived = [join, proceed]() {
    bool last;
    {
      MutexLock lk(&join->mu);
      last = --join->waiting == 0;
    }
    if (last) proceed();
  };

  if (!extra.empty()) {
    const std::string extra_route = extra.size() > 1 ? extra[1] : extra[0];
    client_->Command(extra_route, std::move(extra), [join, arrived](Result<Reply> r) {
      {
        MutexLock lk(&join->mu);
        if (!r) join->extra = FromClient(r.status());
        else if (r->is_error()) join->extra = FromReplyError(*r);
      }
      arrived();
    });
  }
  client_->Eval(script, std::move(keys), std::move(args),
                [this, join, arrived, interpret, t0](Result<Reply> r) {
                  Outcome o;
                  if (!r) o.status = FromClient(r.status());
                  else if (r->is_error()) o.status = FromReplyError(*r);
                  else o = interpret(*r);
                  SyncObserver observer;
                  {
                    MutexLock lk(&listen_mu_);
                    observer = observer_;
                  }
                  if (observer && o.status.ok()) observer(std::chrono::steady_clock::now() - t0, 1);
                  {
                    MutexLock lk(&join->mu);
                    join->outcome = std::move(o);
                  }
                  arrived();
                });
  if (wait_replicas_ > 0) {
    // Same route, so the same connection, right behind the script: WAIT counts the replicas
    // that acknowledged every write this connection sent so far.
    client_->Command(route, {"WAIT", std::to_string(wait_replicas_), std::to_string(wait_timeout_ms_)},
                     [join, arrived](Result<Reply> r) {
                       {
                         MutexLock lk(&join->mu);
                         join->wait = std::move(r);
                       }
                       arrived();
                     });
  }
}

void RedisStore::Create(CreateOp op, StatusCallback done) {
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  const StreamId id = op.meta.id;
  const std::string path = op.meta.path;
  auto log = std::make_shared<LocalLog>(id, path, op.meta.base_offset, false);
  {
    WriterMutexLock lk(&map_mu_);
    if (by_id_.count(id)) {
      End();
      return deferred_.Post([done, id] { done(Status::Conflict("stream id " + std::to_string(id) + " exists")); });
    }
    // Known by id only until Redis accepts it: a copy the path already has stays until then
    // (the create may fail with Conflict, and that stream is still there).
    by_id_[id] = log;
  }
  // Initial messages, their end offsets computed here (base + sizes).
  std::vector<std::string> triplets;
  std::uint64_t pos = op.meta.base_offset, count = 0;
  std::string first_end;
  for (const Batch& b : op.batches) {
    std::size_t at = 0;
    for (std::size_t i = 0; i < b.sizes.size(); ++i) {
      pos += b.sizes[i];
      triplets.push_back(std::to_string(pos));
      triplets.push_back(b.payload.substr(at, b.sizes[i]));
      triplets.push_back(i == 0 ? "1" : "0");
      if (first_end.empty()) first_end = std::to_string(pos);
      at += b.sizes[i];
      ++count;
    }
  }
  std::vector<std::string> meta = redisstore::EncodeMeta(op, pos, count);
  const std::string version = std::to_string(op.new_version);
  std::vector<std::string> args{channel_, path, version, std::to_string(meta.size())};
  for (auto& m : meta) args.push_back(std::move(m));
  for (auto& t : triplets) args.push_back(std::move(t));
  Keys k = KeysOf(path);
  auto batches = std::make_shared<std::vector<Batch>>(std::move(op.batches));
  const std::uint64_t base = op.meta.base_offset;
  Mutate(
      log, redisstore::GetScripts().create, {k.meta, k.producers, k.data, k.leases}, std::move(args),
      [path, version, first_end](const Reply& r) {
        Outcome o;
        if (r.type == Reply::Type::kArray && !r.elements.empty() && r.elements[0].integer == 1) {
          o.verify = {"v", version, first_end};
        } else if (r.type == Reply::Type::kArray && !r.elements.empty() && r.elements[0].integer == 0) {
          o.status = Status::Conflict("stream '" + path + "' exists");
        } else {
          o.status = Status::Failed("redis store: create answered " + redisstore::Describe(r));
        }
        return o;
      },
      [this, log, batches, base, done](Outcome o) {
        if (!o.status.ok()) {
          Forget(log);
          return done(o.status);
        }
        std::uint64_t pos = base;
        for (const Batch& b : *batches) {
          log->ApplyBatch(pos, b);
          for (auto s : b.sizes) pos += s;
        }
        log->SetCommitted();
        {
          WriterMutexLock lk(&map_mu_);
          Register(log->path(), log);
        }
        done(Status::Ok());
      },
      // The index entry goes in first (in parallel, another slot): a path in the set whose
      // stream does not exist is harmless (Load skips it), a stream missing from it is not.
      {"SADD", set_key_, path});
}

void RedisStore::Append(AppendOp op, AppendCallback done) {
  auto log = ById(op.id);
  if (!log) {
    return deferred_.Post([done, id = op.id] { done(Status::NotFound("no stream with id " + std::to_string(id))); });
  }
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  const std::string new_version = std::to_string(op.new_version);
  std::vector<std::string> args{channel_,
                                log->path(),
                                std::to_string(op.expect_version),
                                new_version,
                                op.close ? "1" : "0",
                                op.producer ? "1" : "0",
                                op.producer ? op.producer->id : "",
                                op.producer ? std::to_string(op.producer->epoch) + " " + std::to_string(op.producer->seq)
                                            : "",
                                op.producer ? redisstore::EncodeProducer(*op.producer) : "",
                                op.stream_seq ? "1" : "0",
                                op.stream_seq.value_or("")};
  std::size_t at = 0;
  for (std::uint32_t size : op.batch.sizes) {
    args.push_back(op.batch.payload.substr(at, size));
    at += size;
  }
  const std::uint64_t first_size = op.batch.sizes.empty() ? 0 : op.batch.sizes[0];
  Keys k = KeysOf(log->path());
  auto batch = std::make_shared<Batch>(std::move(op.batch));
  const std::string path = log->path();
  Mutate(
      log, redisstore::GetScripts().append, {k.meta, k.producers, k.data}, std::move(args),
      [path, new_version, first_size](const Reply& r) {
        Outcome o;
        const bool arr = r.type == Reply::Type::kArray && !r.elements.empty();
        const long long code = arr ? r.elements[0].integer : -2;
        if (code == 1 && r.elements.size() == 3) {
          auto tail = redisstore::ParseU64(r.elements[1].str);
          auto start = redisstore::ParseU64(r.elements[2].str);
          if (!tail || !start) {
            o.status = Status::Failed("redis store: append answered " + redisstore::Describe(r));
            return o;
          }
          o.tail = *tail;
          o.start = *start;
          o.verify = {"v", new_version, first_size ? std::to_string(o.start + first_size) : ""};
        } else if (code == 0) {
          const std::string now = r.elements.size() > 1 ? r.elements[1].str : "";
          o.status = Status::Conflict(now.empty() ? "stream '" + path + "' is gone"
                                                  : "stream '" + path + "' changed (version " + now + ")");
        } else if (code == -1 && r.elements.size() > 1) {
          o.status = Status::Failed("redis store: stream '" + path + "': " + r.elements[1].str);
        } else {
          o.status = Status::Failed("redis store: append answered " + redisstore::Describe(r));
        }
        return o;
      },
      [this, log, batch, path, done](Outcome o) {
        if (!o.status.ok()) return done(o.status);
        if (log->ApplyBatch(o.start, *batch) != LocalLog::Applied::kOk) {
          // The copy is behind (it should not be: the service appends on what Fetch brought in):
          // fill it from Redis; reads up to the new tail wait for that.
          if (Begin()) FetchPage(path, [](Result<std::optional<StreamState>>) {}, 0);
        }
        done(AppendResult{o.tail});
      });
}

void RedisStore::SoftDelete(StreamId id, StatusCallback done) {
  auto log = ById(id);
  if (!log) return deferred_.Post([done, id] { done(Status::NotFound("no stream with id " + std::to_string(id))); });
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  // SoftDelete carries no version token in the contract: use one of this store's own, so the
  // other servers see a new version and Fetch.
  const std::string token = std::to_string(NewToken());
  const std::string path = log->path();
  Keys k = KeysOf(path);
  Mutate(
      log, redisstore::GetScripts().soft_delete, {k.meta}, {channel_, path, std::to_string(id), token},
      [path, token](const Reply& r) {
        Outcome o;
        if (r.type == Reply::Type::kInteger && r.integer == 1) o.verify = {"v", token, ""};
        else o.status = Status::NotFound("stream '" + path + "' is gone");
        return o;
      },
      [done](Outcome o) { done(o.status); });
}

void RedisStore::Drop(StreamId id, StatusCallback done) {
  auto log = ById(id);
  if (!log) return deferred_.Post([done, id] { done(Status::NotFound("no stream with id " + std::to_string(id))); });
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  const std::string path = log->path();
  Keys k = KeysOf(path);
  Mutate(
      log, redisstore::GetScripts().drop, {k.meta, k.producers, k.data, k.leases},
      {channel_, path, std::to_string(id)},
      [id](const Reply& r) {
        Outcome o;
        if (r.type != Reply::Type::kInteger || r.integer < 1 || r.integer > 3) {
          o.status = Status::Failed("redis store: drop answered " + redisstore::Describe(r));
          return o;
        }
        o.code = static_cast<int>(r.integer);
        if (o.code == 1) o.verify = {"g", std::to_string(id), ""};
        return o;  // 2, 3: already gone (or the path holds another stream): our id is gone
      },
      [this, log, path, meta_key = k.meta, done](Outcome o) {
        if (!o.status.ok()) return done(o.status);
        Forget(log);
        if (o.code == 1 && Begin()) {
          // Out of the index after the data is gone. If another server re-created the path in
          // between, put it back (Load must find every existing stream).
          client_->Command(set_key_, {"SREM", set_key_, path}, [this, path, meta_key](Result<Reply>) {
            client_->Command(meta_key, {"EXISTS", meta_key}, [this, path](Result<Reply> r) {
              if (r.ok() && r->type == Reply::Type::kInteger && r->integer == 1) {
                client_->Command(set_key_, {"SADD", set_key_, path}, [this](Result<Reply>) { End(); });
              } else {
                End();
              }
            });
          });
        }
        done(Status::Ok());
      });
}

void RedisStore::Fetch(const std::string& path, FetchCallback done) {
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  FetchPage(path, std::move(done), 0);
}

void RedisStore::FetchPage(std::string path, FetchCallback done, int attempts) {
  auto known = ByPath(path);
  const std::uint64_t from = known ? known->Tail() : 0;
  Keys k = KeysOf(path);
  client_->Eval(
      redisstore::GetScripts().read, {k.meta, k.producers, k.data}, {std::to_string(from), std::to_string(kFetchBudget)},
      [this, path, done, attempts, known, from](Result<Reply> r) {
        if (!r) return FinishFetch(path, done, FromClient(r.status()));
        if (r->is_error()) return FinishFetch(path, done, FromReplyError(*r));
        const Reply& rep = *r;
        if (rep.type != Reply::Type::kArray || rep.elements.empty()) {
          return FinishFetch(path, done, Status::Failed("redis store: read answered " + redisstore::Describe(rep)));
        }
        if (rep.elements[0].integer == 0) {
          // No such stream in Redis: drop the local copy, unless it is this server's own create
          // still in flight (its script has not run yet).
          if (known && known->Committed() && !known->Busy()) Forget(known);
          return FinishFetch(path, done, std::optional<StreamState>());
        }
        if (rep.elements.size() != 4) {
          return FinishFetch(path, done, Status::Failed("redis store: read answered " + redisstore::Describe(rep)));
        }
        auto state = redisstore::DecodeState(rep.elements[1], rep.elements[2]);
        if (!state) return FinishFetch(path, done, state.status());
        auto entries = redisstore::DecodeEntries(rep.elements[3]);
        if (!entries) return FinishFetch(path, done, entries.status());
        auto log = Adopt(state->meta.id, path, state->meta.base_offset);
        const bool same = log == known;
        LocalLog::Applied applied = LocalLog::Applied::kGap;
        if (same || from == 0) applied = log->Apply(*entries);
        std::uint64_t tail = log->Tail();
        if (tail > state->tail) {
          // The copy is ahead of Redis: Redis lost acknowledged writes (restarted without AOF,
          // failed over without WAIT). Redis is the truth: refill the copy from it.
          log->Reset();
          tail = log->Tail();
          applied = LocalLog::Applied::kGap;
        }
        if (tail >= state->tail && applied == LocalLog::Applied::kOk) {
          return FinishFetch(path, done, std::optional<StreamState>(std::move(*state)));
        }
        // Not there yet: more pages, or the page did not fit (another copy was asked for, or
        // the copy disagrees with Redis: start it over). Give up after a few rounds without
        // progress: the stream is then unavailable (its data in Redis is incomplete).
        const bool progressed = applied == LocalLog::Applied::kOk && tail > from && same;
        if (applied == LocalLog::Applied::kMismatch) log->Reset();
        if (!progressed && attempts >= 3) {
          state->unavailable = "redis store: the data of '" + path + "' in Redis ends at " + std::to_string(tail) +
                               ", before its tail " + std::to_string(state->tail);
          return FinishFetch(path, done, std::optional<StreamState>(std::move(*state)));
        }
        FetchPage(path, done, progressed ? 0 : attempts + 1);
      });
}

Result<std::vector<StreamState>> RedisStore::Load() {
  auto members = client_->CommandSync(set_key_, {"SMEMBERS", set_key_});
  if (!members) return FromClient(members.status());
  if (members->is_error()) return FromReplyError(*members);
  std::vector<std::string> paths;
  for (const Reply& e : members->elements) paths.push_back(e.str);

  std::mutex mu;
  std::condition_variable cv;
  std::size_t next = 0, running = 0;
  std::vector<StreamState> out;
  Status failed;
  std::unique_lock<std::mutex> lk(mu);
  while (next < paths.size() || running > 0) {
    while (next < paths.size() && running < kLoadConcurrency && failed.ok()) {
      if (!Begin()) {
        failed = Status::Unavailable("store is closed");
        break;
      }
      ++running;
      const std::string path = paths[next++];
      lk.unlock();
      FetchPage(path,
                [&](Result<std::optional<StreamState>> r) {
                  std::lock_guard<std::mutex> g(mu);
                  if (!r) {
                    if (failed.ok()) failed = r.status();
                  } else if (r->has_value()) {
                    out.push_back(std::move(**r));
                  }
                  --running;
                  cv.notify_all();
                },
                0);
      lk.lock();
    }
    if (!failed.ok()) next = paths.size();
    if (running > 0) cv.wait(lk);
  }
  if (!failed.ok()) return failed.Wrap("loading streams from Redis");
  return out;
}

// Leases live in the stream's slot (<prefix>:{path}:l, run -> deadline ms), go with a drop, and
// are written by a script so that only a later deadline replaces an earlier one. A lease write
// that fails (Redis down) is dropped: the renewing server tries again at its next renewal, and
// GetLease, which the hub asks before ending a lapsed lease, fails with Unavailable meanwhile.
void RedisStore::PutLease(const std::string& path, const std::string& run, std::int64_t deadline_ms) {
  if (!Begin()) return;
  client_->Eval(redisstore::GetScripts().put_lease, {KeysOf(path).leases}, {run, std::to_string(deadline_ms)},
                [this](Result<Reply>) { End(); });
}

void RedisStore::GetLease(const std::string& path, const std::string& run,
                          std::function<void(Result<std::int64_t>)> done) {
  if (!Begin()) return deferred_.Post([done] { done(Status::Unavailable("store is closed")); });
  const std::string key = KeysOf(path).leases;
  client_->Command(key, {"HGET", key, run}, [this, done](Result<Reply> r) {
    if (!r) {
      done(FromClient(r.status()));
    } else if (r->is_error()) {
      done(FromReplyError(*r));
    } else if (r->type == Reply::Type::kNil) {
      done(std::int64_t{0});
    } else {
      std::int64_t v = 0;
      const std::string& t = r->str;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (ec != std::errc() || p != t.data() + t.size()) {
        done(Status::Failed("redis store: bad lease value '" + t + "'"));
      } else {
        done(v);
      }
    }
    End();
  });
}

void RedisStore::SetChangeListener(ChangeListener listener) {
  bool subscribe = false;
  {
    MutexLock lk(&listen_mu_);
    change_ = std::move(listener);
    subscribe = !subscribed_;
    subscribed_ = true;
  }
  if (!subscribe) return;
  client_->Subscribe(
      channel_, [this](std::string_view payload) { OnMessage(payload); },
      [this] {
        std::function<void()> resync;
        {
          MutexLock lk(&listen_mu_);
          resync = resync_;
        }
        if (resync) resync();
      });
}

void RedisStore::OnMessage(std::string_view payload) {
  const auto sp = payload.find(' ');
  if (sp == std::string_view::npos) return;
  auto version = redisstore::ParseU64(payload.substr(0, sp));
  if (!version) return;
  ChangeListener listener;
  {
    MutexLock lk(&listen_mu_);
    listener = change_;
  }
  if (listener) listener(std::string(payload.substr(sp + 1)), *version);
}

Status RedisStore::Close() {
  {
    MutexLock lk(&life_mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    while (inflight_ > 0) life_cv_.Wait();
  }
  client_->Close();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<StreamStore>> OpenRedisStore(const RedisStoreOptions& options,
                                                    std::vector<std::string>* warnings) {
  if (options.wait_replicas < 0) return Status::Usage("wait_replicas must be >= 0");
  if (options.key_prefix.empty() || options.key_prefix.find_first_of("{}") != std::string::npos) {
    return Status::Usage("redis key prefix must be non-empty and without braces");
  }
  redis::Options copts = options.client;
  if (!options.url.empty()) {
    auto parsed = redis::ParseUrl(options.url);
    if (!parsed) return parsed.status();
    copts = std::move(*parsed);
    copts.password = options.password;
  }
  auto client = redis::Client::Open(std::move(copts));
  if (!client) return client.status();
  if (warnings) *warnings = DurabilityWarnings(**client, options.wait_replicas);
  return std::unique_ptr<StreamStore>(std::make_unique<RedisStore>(std::move(*client), options));
}

}  // namespace dsx::session
