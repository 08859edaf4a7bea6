// SessionHub: the live session layer over a StreamService. It is the write gate of every
// session (checks drafts against the run state, stamps them, appends them to the session's
// JSON stream in order), keeps the run state of each session in use (rebuilt from the log on
// first use, dropped when idle: HubOptions::idle_evict_ms), expires leases, and holds presence
// (ephemeral) with its subscribers.
//
// Thread-safe. Per session one mutex orders checks and submissions, so the run state always
// matches the order of the log. Answers (`done`) run on the store's completion thread, or
// inline; they must not block. Durable events reach live readers through the service's
// waiters (ReadEvents + StreamService::Wait); presence changes through Subscribe listeners.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/mutex.hpp"
#include "session/auth/rights.hpp"
#include "session/live/session_state.hpp"
#include "session/live/shared_pages.hpp"
#include "session/model/stream_service.hpp"

namespace dsx::session::live {

struct HubOptions {
  LeaseLimits lease;
  std::int64_t presence_ttl_ms = 30000;  // POST .../presence holds this long
  std::int64_t reaper_period_ms = 100;   // lease / presence check interval
  // A session with nothing live here (no active run, no presence member or subscriber, no lease
  // check pending) leaves memory once unused this long; its next use rebuilds it from the log.
  // A name that is not a session (a 404 lookup) leaves at the next check. Without this every
  // name ever asked for stayed, and the reaper visited each one every period.
  std::int64_t idle_evict_ms = 60000;
};

// An HTTP-shaped answer: status and JSON body ({"error":…,"status":…} when >= 400).
struct HubReply {
  int status = 200;
  json body = json::object();
  bool changed_elsewhere = false;  // 409: another server changed the session first (shared store)
  static HubReply Error(int status, std::string why);
};
using HubDone = std::function<void(HubReply)>;

class SessionHub {
 public:
  // Leases, presence expiry and event stamps run on service.clock(), the clock that also decides
  // the sessions' stream TTLs: a test that hands the service a ManualClock drives both.
  SessionHub(StreamService& service, HubOptions options = {});
  ~SessionHub();
  SessionHub(const SessionHub&) = delete;
  SessionHub& operator=(const SessionHub&) = delete;

  // Background lease/presence expiry (a thread calling Tick(clock.NowMs()) every reaper period
  // of real time: the period only paces the checks, the clock decides what has lapsed),
  // and, once, on its own thread, RecoverRuns (so a restart is never delayed by it).
  void StartReaper();
  void StopReaper();
  // After a restart nobody may touch a session again, yet its open run must still end
  // agent_lost when its lease lapses: load every session whose log shows an active run so the
  // reaper sees it, its lease counting from now. Candidates are the live, open, non-empty JSON
  // streams (any of them may be a session); each is read once, and only those with an active
  // run are kept in memory. Cost: O(streams) to list, plus one read of each candidate's log.
  // Sessions already loaded are skipped. Stops early when `stop` becomes true. Returns how
  // many sessions with active runs it loaded.
  std::size_t RecoverRuns(const std::atomic<bool>* stop = nullptr);
  // Expire lapsed leases (append run.end agent_lost) and stale presence, and drop idle sessions
  // from memory (HubOptions::idle_evict_ms). For tests and the reaper.
  void Tick(std::int64_t now_ms);
  // How many sessions this hub holds in memory (tests, metrics).
  std::size_t SessionsInMemory();

  // Whether a run.start from `who` on `lane` (no takeover) would be accepted now: 403 without
  // the run right, 409 while the lane has an active run, else 200; nothing is changed. Cheaper
  // than a full check, for a caller that starts costly work before it submits (the LLM proxy
  // calls its upstream while its run.start is being stored); the submit still decides, and
  // may refuse if another writer got in between.
  HubReply CheckRunStart(const std::string& id, const auth::Principal& who, const std::string& lane);
  // PUT /v1/session/<id>: create the JSON stream if missing (201, 200 if it exists).
  void Create(const std::string& id, HubDone done);
  // POST .../events: one draft or an array (atomic batch) from `who`.
  void Submit(const std::string& id, const auth::Principal& who, const json& drafts,
              std::optional<ProducerArgs> producer, HubDone done);
  // POST .../runs/<run>/heartbeat: 204, 404 no run, 403 not the owner, 409 ended.
  HubReply Heartbeat(const std::string& id, const auth::Principal& who, const std::string& run,
                     const std::string& state);
  // GET /v1/session/<id>: {"session","offset","runs","presence"}.
  HubReply Info(const std::string& id);
  // Active runs of a session (loads it). 404 reply when the session does not exist.
  HubReply Runs(const std::string& id);

  // The session's stream for reading (nullptr and *error when missing).
  StreamHandle Stream(const std::string& id, HubReply* error);

  // ---- presence (ephemeral)
  using Listener = std::function<void(const json& presence_event)>;
  std::uint64_t Subscribe(const std::string& id, Listener listener);
  void Unsubscribe(const std::string& id, std::uint64_t token);
  // Join or update a member identified by `key` (a connection id, or "post:<sub>/<device>").
  // `ttl_ms` > 0: the member leaves after that long unless refreshed.
  void PresenceSet(const std::string& id, const std::string& key, const auth::Principal& who, const std::string& kind,
                   const std::string& state, std::int64_t ttl_ms);
  void PresenceLeave(const std::string& id, const std::string& key);
  json PresenceList(const std::string& id);

  StreamService& service() { return service_; }
  // Log pages shared by every live reader of a session (one read and serialization per offset).
  SharedPages& pages() { return pages_; }
  const HubOptions& options() const { return options_; }

 private:
  struct Member {
    json info;                    // sub, device, kind, state, since, [run, lane]
    std::int64_t expires_ms = 0;  // 0: held by a connection
  };
  struct Session {
    Mutex mu;
    bool loaded GUARDED_BY(mu) = false;
    std::atomic<bool> stale{false};  // the log may differ from `state`: reload
    std::atomic<std::int64_t> last_used_ms{0};  // set by Get: when a request last took it
    SessionState state GUARDED_BY(mu);
    std::map<std::string, Member> members GUARDED_BY(mu);
    std::map<std::uint64_t, Listener> listeners GUARDED_BY(mu);
    // Shared store (several servers): remote changes of the stream the state was built on (an
    // append refused with changed_elsewhere makes the hub read the log again), when a stale
    // state may be reloaded by the reaper, and leases being checked with the store / confirmed
    // lapsed there (run id -> the deadline the store had nothing later than).
    std::uint64_t remote_seen GUARDED_BY(mu) = 0;
    std::int64_t reload_after_ms GUARDED_BY(mu) = 0;
    std::set<std::string> lease_checks GUARDED_BY(mu);
    std::map<std::string, std::int64_t> lease_lapsed GUARDED_BY(mu);
    // Shared store: members held on other servers are kept here as "node:<server>/<key>" with an
    // expiry (their server repeats its snapshot); ours are sent after each change and repeated.
    std::int64_t presence_sent_ms GUARDED_BY(mu) = 0;
    bool presence_sent_nonempty GUARDED_BY(mu) = false;
  };
  using SessionPtr = std::shared_ptr<Session>;

  // The session's entry, created when missing (every request path takes it here, under
  // map_mu_: what makes "the map holds the only reference" mean "nobody is using it").
  SessionPtr Get(const std::string& id);
  // The entry when it is in memory, else nullptr (creates nothing).
  SessionPtr Find(const std::string& id);
  // Nothing in `s` lives only in memory: no active run, member, subscriber, pending lease check
  // or presence snapshot that other servers hold. mu held.
  static bool IdleLocked(const Session& s) REQUIRES(s.mu);
  // Drops those of `ids` that are still idle and that nobody holds.
  void EvictIdle(const std::vector<std::string>& ids, std::int64_t now_ms);
  // Loads the run state from the log (once). mu held. Returns 404/503 replies on failure.
  std::optional<HubReply> LoadLocked(const std::string& id, Session& s) REQUIRES(s.mu);
  // Replays the session's whole log into `out` (lease deadlines from `now_ms`); `stream` and
  // `end` tell which stream and up to which offset. No lock needed.
  std::optional<HubReply> ReplayLog(const std::string& id, std::int64_t now_ms, SessionState* out, StreamHandle* stream,
                                    std::uint64_t* end, std::uint64_t* remote_seen = nullptr);
  // Makes `state` the session's state (loaded) and marks agents of active runs present. mu held.
  void InstallLocked(Session& s, SessionState state, std::int64_t now_ms) REQUIRES(s.mu);
  // Appends `events` (stamped) to the session's stream; mu held (submission order).
  void AnswerRetryOr(const std::string& id, const ProducerArgs& producer, HubReply refusal, HubDone done);
  void AppendLocked(const std::string& id, const SessionPtr& s, std::vector<json> events,
                    std::optional<ProducerArgs> producer, json answer, HubDone done) REQUIRES(s->mu);
  // Presence changes caused by stored events (agents join/leave/update). mu held; collects
  // events to broadcast after unlocking.
  void AgentPresenceLocked(Session& s, const json& event, std::vector<json>* out) REQUIRES(s.mu);
  void SetMemberLocked(Session& s, const std::string& key, json info, std::int64_t expires_ms, std::vector<json>* out)
      REQUIRES(s.mu);
  void Broadcast(const SessionPtr& s, const std::vector<json>& events);
  // Shared store presence (session_presence_sync.cpp).
  void PublishPresenceLocked(const std::string& id, Session& s) REQUIRES(s.mu);
  void OnRemotePresence(std::string_view payload);
  void RepublishPresence(std::int64_t now);
  std::string node_;  // this server's name in presence snapshots (random)
  // One check-and-append of Submit (takes the session's lock; answers through `done`).
  void SubmitLocked(const std::string& id, const auth::Principal& who, const json& drafts,
                    std::optional<ProducerArgs> producer, HubDone done);
  void SubmitAttempt(const std::string& id, const auth::Principal& who, const json& drafts,
                     std::optional<ProducerArgs> producer, HubDone done, int attempt);
  // Shared store: a lapsed lease is ended only after the store confirms no server renewed it.
  bool LeaseLapsedEverywhere(const std::string& id, const SessionPtr& s, const RunInfo& run, std::int64_t now)
      REQUIRES(s->mu);

  StreamService& service_;
  Clock& clock_;
  SharedPages pages_{service_};
  HubOptions options_;
  Mutex map_mu_;
  std::map<std::string, SessionPtr> sessions_ GUARDED_BY(map_mu_);
  std::atomic<std::uint64_t> next_token_{1};

  Mutex reaper_mu_;
  CondVar reaper_cv_{&reaper_mu_};
  bool reaper_stop_ GUARDED_BY(reaper_mu_) = false;
  std::thread reaper_;
  std::atomic<bool> recover_stop_{false};
  std::thread recover_;
};

}  // namespace dsx::session::live
