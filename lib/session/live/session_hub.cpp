#include "session/live/session_hub.hpp"

#include <cstdio>
#include <random>

#include <chrono>

#include "core/log.hpp"
#include "session/model/json_input.hpp"
#include "session/model/offset.hpp"

namespace dsx::session::live {
namespace {

bool ValidAgentState(const std::string& s) {
  return s == "thinking" || s == "streaming" || s == "tool" || s == "waiting" || s == "idle" || s == "lost";
}

json PresenceEvent(const char* type, const json& member) { return {{"type", type}, {"data", member}}; }

}  // namespace

HubReply HubReply::Error(int status, std::string why) {
  HubReply r;
  r.status = status;
  r.body = {{"error", std::move(why)}, {"status", status}};
  return r;
}

SessionHub::SessionHub(StreamService& service, HubOptions options)
    : service_(service), clock_(service.clock()), options_(options) {
  if (service_.Shared()) {
    // Another server changed a session's log: what this one holds of it is stale. Marking is
    // cheap; the state is read again on next use, or by the reaper (at most once a second).
    const std::string prefix = StreamPathFor("");
    service_.SetRemoteChangeObserver([this, prefix](const std::string& path) {
      if (!path.starts_with(prefix)) return;
      // A session not in memory is read from the log on its next use anyway.
      if (SessionPtr s = Find(path.substr(prefix.size()))) s->stale.store(true);
    });
    std::random_device rd;
    char name[17];
    std::snprintf(name, sizeof name, "%08x%08x", rd(), rd());
    node_ = name;
    service_.store().SetEphemeralListener([this](std::string_view payload) { OnRemotePresence(payload); });
  }
}

SessionHub::~SessionHub() {
  if (service_.Shared()) {
    service_.SetRemoteChangeObserver(nullptr);
    service_.store().SetEphemeralListener(nullptr);
  }
  StopReaper();
}

void SessionHub::StartReaper() {
  if (reaper_.joinable()) return;
  recover_ = std::thread([this] {
    const std::size_t n = RecoverRuns(&recover_stop_);
    if (n > 0)
      log::Info("loaded sessions with open runs; their leases count from now", {{"sessions", std::to_string(n)}});
  });
  reaper_ = std::thread([this] {
    MutexLock lock(&reaper_mu_);
    while (!reaper_stop_) {
      reaper_cv_.WaitUntil(std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.reaper_period_ms));
      if (reaper_stop_) break;
      lock.Unlock();
      Tick(clock_.NowMs());
      lock.Lock();
    }
  });
}

void SessionHub::StopReaper() {
  {
    MutexLock lock(&reaper_mu_);
    reaper_stop_ = true;
  }
  recover_stop_.store(true);
  reaper_cv_.SignalAll();
  if (recover_.joinable()) recover_.join();
  if (reaper_.joinable()) reaper_.join();
}

SessionHub::SessionPtr SessionHub::Get(const std::string& id) {
  MutexLock lock(&map_mu_);
  auto& s = sessions_[id];
  if (!s) s = std::make_shared<Session>();
  s->last_used_ms.store(clock_.NowMs(), std::memory_order_relaxed);
  return s;
}

SessionHub::SessionPtr SessionHub::Find(const std::string& id) {
  MutexLock lock(&map_mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

std::size_t SessionHub::SessionsInMemory() {
  MutexLock lock(&map_mu_);
  return sessions_.size();
}

bool SessionHub::IdleLocked(const Session& s) {
  if (!s.members.empty() || !s.listeners.empty() || !s.lease_checks.empty() || s.presence_sent_nonempty) return false;
  for (const auto& [rid, run] : s.state.runs)
    if (run.active) return false;
  return true;
}

void SessionHub::EvictIdle(const std::vector<std::string>& ids, std::int64_t now) {
  MutexLock lock(&map_mu_);
  for (const std::string& id : ids) {
    auto it = sessions_.find(id);
    // Another reference: a request, a pending append's callback or a listener's connection holds it.
    if (it == sessions_.end() || it->second.use_count() != 1) continue;
    Session& s = *it->second;
    // Nobody holds it and nobody can take it without map_mu_, so the lock is free; look again,
    // since a request that held it during the reaper's pass may have started a run since.
    if (!s.mu.TryLock()) continue;
    const bool idle = IdleLocked(s) && (!s.loaded || now - s.last_used_ms.load() >= options_.idle_evict_ms);
    s.mu.Unlock();
    if (idle) sessions_.erase(it);
  }
}

std::optional<HubReply> SessionHub::LoadLocked(const std::string& id, Session& s) {
  if (s.loaded && !s.stale.load()) return std::nullopt;
  const std::int64_t now = clock_.NowMs();
  SessionState fresh;
  StreamHandle stream;
  std::uint64_t end = 0;
  std::uint64_t remote_seen = 0;
  s.stale.store(false);  // before reading: a change during the replay marks it stale again
  if (auto err = ReplayLog(id, now, &fresh, &stream, &end, &remote_seen)) {
    s.stale.store(true);
    return err;
  }
  InstallLocked(s, std::move(fresh), now);
  s.remote_seen = remote_seen;
  return std::nullopt;
}

std::optional<HubReply> SessionHub::ReplayLog(const std::string& id, std::int64_t now, SessionState* out,
                                              StreamHandle* stream, std::uint64_t* end, std::uint64_t* remote_seen) {
  OffsetParam start;
  ReadReply first = service_.Read(StreamPathFor(id), start);
  if (first.reply.status != 200) {
    return HubReply::Error(
        first.reply.status == 410 ? 404 : first.reply.status,
        first.reply.status == 404 || first.reply.status == 410 ? "no session '" + id + "'" : first.reply.error);
  }
  if (!first.json) return HubReply::Error(409, "stream '" + id + "' is not a JSON stream, so not a session");
  // Before the pages are read: a change installed later counts past this, so an append decided
  // on this state is refused (changed_elsewhere) rather than applied over a log it never saw.
  if (remote_seen) *remote_seen = service_.RemoteChanges(first.stream);
  std::uint64_t from = 0;
  for (;;) {
    EventPage page = ReadEvents(service_, first.stream, from);
    if (page.status != 200) return HubReply::Error(page.status, page.error);
    for (const LogEvent& e : page.events) {
      // Raw stream writes (admin) can store events of any shape; one the state machine cannot
      // read makes this session unavailable, not the server (issue 11).
      try {
        ApplyEffects(*out, e.body, now);
      } catch (const std::exception& ex) {
        return HubReply::Error(503, "session '" + id + "' has an unreadable event before offset " +
                                        FormatOffset(e.offset) + ": " + ex.what());
      }
    }
    if (page.up_to_date || page.next == from) {
      *end = page.next;
      break;
    }
    from = page.next;
  }
  *stream = first.stream;
  return std::nullopt;
}

void SessionHub::InstallLocked(Session& s, SessionState state, std::int64_t now) {
  s.state = std::move(state);
  s.loaded = true;
  // Agents of runs that ended meanwhile (on another server, or while this one was away) leave.
  for (auto it = s.members.begin(); it != s.members.end();) {
    if (it->first.starts_with("run:")) {
      auto run = s.state.runs.find(it->first.substr(4));
      if (run == s.state.runs.end() || !run->second.active) {
        it = s.members.erase(it);
        continue;
      }
    }
    ++it;
  }
  // Agents of runs found active are present (their presence is not in the log).
  for (const auto& [rid, run] : s.state.runs) {
    if (!run.active) continue;
    json m = {{"sub", run.owner}, {"kind", "agent"},          {"run", run.id},
              {"lane", run.lane}, {"state", run.agent_state}, {"since", now}};
    if (!run.device.empty()) m["device"] = run.device;
    s.members["run:" + run.id] = Member{m, 0};
  }
}

std::size_t SessionHub::RecoverRuns(const std::atomic<bool>* stop) {
  const std::string prefix = StreamPathFor("");
  std::size_t found = 0;
  for (const StreamListing& l : service_.ListStreams(prefix, clock_.NowMs())) {
    if (stop && stop->load()) break;
    // Not a session, nothing in it, or closed (no run.end could be appended anyway).
    if (!l.json || l.closed || l.tail == 0) continue;
    const std::string id = l.path.substr(prefix.size());
    {
      MutexLock lock(&map_mu_);
      if (sessions_.count(id)) continue;  // a request got there first: it loads it (or has)
    }
    // Replay without the session's lock: most candidates have no active run and are not kept.
    const std::int64_t now = clock_.NowMs();
    SessionState state;
    StreamHandle stream;
    std::uint64_t end = 0;
    std::uint64_t seen = 0;
    if (ReplayLog(id, now, &state, &stream, &end, &seen)) continue;
    bool active = false;
    for (const auto& [rid, run] : state.runs) active = active || run.active;
    if (!active) continue;
    SessionPtr s = Get(id);
    MutexLock lock(&s->mu);
    if (s->loaded && !s->stale.load()) continue;
    StreamService::TailState t = service_.Peek(stream);
    if (!t.gone && t.tail == end && service_.RemoteChanges(stream) == seen) {
      s->stale.store(false);
      InstallLocked(*s, std::move(state), now);
      s->remote_seen = seen;
    } else if (LoadLocked(id, *s)) {
      continue;  // written or removed meanwhile and now unreadable: the next request decides
    }
    ++found;
  }
  return found;
}

void SessionHub::Create(const std::string& id, HubDone done) {
  CreateArgs a;
  a.path = StreamPathFor(id);
  a.content_type = "application/json";
  SessionPtr s = Get(id);
  service_.Create(std::move(a), [s, id, done = std::move(done)](Reply r) {
    if (r.status == 201) s->stale.store(true);  // a new stream under an old name: reload
    if (r.status == 201 || r.status == 200) {
      HubReply ok;
      ok.status = r.status;
      ok.body = {{"session", id}, {"created", r.status == 201}, {"offset", FormatOffset(r.info.tail)}};
      return done(std::move(ok));
    }
    done(HubReply::Error(r.status, r.status == 409 ? "a stream '" + id + "' exists with other settings" : r.error));
  });
}

void SessionHub::Submit(const std::string& id, const auth::Principal& who, const json& drafts,
                        std::optional<ProducerArgs> producer, HubDone done) {
  SubmitAttempt(id, who, drafts, std::move(producer), std::move(done), 0);
}

void SessionHub::SubmitAttempt(const std::string& id, const auth::Principal& who, const json& drafts,
                               std::optional<ProducerArgs> producer, HubDone done, int attempt) {
  // Another server may append to this session between our read of the log and our append:
  // then the append is refused untouched (changed_elsewhere) and the drafts are checked again
  // on the log as it is now. A few rounds; a session that busy answers 409. The refusal can
  // come inline, while this call still holds the session's lock: the retry then runs after the
  // lock is released (below), never from inside it (that deadlocked: found by tests/scale).
  struct Retry {
    Mutex mu;
    bool in_call GUARDED_BY(mu) = true;
    std::optional<HubDone> stashed GUARDED_BY(mu);
  };
  std::shared_ptr<Retry> retry;
  if (service_.Shared()) {
    retry = std::make_shared<Retry>();
    done = [this, id, who, drafts, producer, attempt, retry, done = std::move(done)](HubReply r) mutable {
      if (!r.changed_elsewhere || attempt >= 8) return done(std::move(r));
      {
        MutexLock lock(&retry->mu);
        if (retry->in_call) {
          retry->stashed = std::move(done);
          return;
        }
      }
      SubmitAttempt(id, who, drafts, std::move(producer), std::move(done), attempt + 1);
    };
  }
  SubmitLocked(id, who, drafts, producer, std::move(done));
  if (!retry) return;
  std::optional<HubDone> again;
  {
    MutexLock lock(&retry->mu);
    retry->in_call = false;
    again.swap(retry->stashed);
  }
  if (again) SubmitAttempt(id, who, drafts, std::move(producer), std::move(*again), attempt + 1);
}

void SessionHub::SubmitLocked(const std::string& id, const auth::Principal& who, const json& drafts,
                              std::optional<ProducerArgs> producer, HubDone done) {
  const bool batch = drafts.is_array();
  if (batch && drafts.empty()) return done(HubReply::Error(400, "empty event batch"));
  if (batch && drafts.size() > 1000) return done(HubReply::Error(413, "more than 1000 events in one batch"));
  SessionPtr s = Get(id);
  std::vector<json> presence;
  {
    MutexLock lock(&s->mu);
    if (auto err = LoadLocked(id, *s)) {
      lock.Unlock();
      return done(std::move(*err));
    }
    const std::int64_t now = clock_.NowMs();
    SessionState scratch;
    SessionState* st = &s->state;
    if (batch && drafts.size() > 1) {
      scratch = s->state;
      st = &scratch;
    }
    std::vector<json> events;
    json answers = json::array();
    bool duplicate = false;
    const std::size_t n = batch ? drafts.size() : 1;
    for (std::size_t i = 0; i < n; ++i) {
      auto normalized = NormalizeDraft(batch ? drafts[i] : drafts);
      if (!normalized.ok()) {
        lock.Unlock();
        return done(HubReply::Error(400, normalized.status().message()));
      }
      if (StoredBytes(*normalized).size() > kMaxDraftBytes) {
        lock.Unlock();
        return done(HubReply::Error(413, "event larger than 1 MiB"));
      }
      Checked c = CheckDraft(*st, who, id, std::move(normalized).value(), now, options_.lease);
      if (c.status != 200) {
        lock.Unlock();
        HubReply refused = HubReply::Error(c.status, batch ? "event " + std::to_string(i) + ": " + c.error : c.error);
        if (producer) return AnswerRetryOr(id, *producer, std::move(refused), std::move(done));
        return done(std::move(refused));
      }
      if (c.duplicate) {
        if (n > 1) {
          lock.Unlock();
          return done(HubReply::Error(409, "event " + std::to_string(i) + ": already written"));
        }
        duplicate = true;
      }
      for (const json& e : c.events) {
        ApplyEffects(*st, e, now);
        events.push_back(e);
      }
      answers.push_back(std::move(c.answer));
    }
    if (duplicate) {
      lock.Unlock();
      HubReply r;
      r.body = answers[0];
      return done(std::move(r));
    }
    if (st == &scratch) s->state = std::move(scratch);
    for (const json& e : events) AgentPresenceLocked(*s, e, &presence);
    json answer = batch ? json{{"results", answers}} : answers[0];
    AppendLocked(id, s, std::move(events), std::move(producer), std::move(answer), std::move(done));
  }
  Broadcast(s, presence);
}

// A producer's retry of a request that was stored (its answer was lost on the way) meets a state
// that already holds its effects: an ack for a request no longer pending, a msg.end for a closed
// message. It is answered as the duplicate it is, as the stream layer answers any retry; refused,
// the client could not tell "stored" from "refused", and a client that moves on to its next seq
// only after a success would resend this one's seq with other events (stored as "duplicates":
// lost). Found by the Python client's tests (issue 17).
void SessionHub::AnswerRetryOr(const std::string& id, const ProducerArgs& producer, HubReply refusal, HubDone done) {
  AppendArgs a;
  a.path = StreamPathFor(id);
  a.content_type = "application/json";
  a.producer = producer;
  a.body = "[]";  // never parsed: only a duplicate is answered, and it writes nothing
  a.only_if_duplicate = true;
  service_.Append(std::move(a), [refusal = std::move(refusal), done = std::move(done)](Reply r) mutable {
    if (r.status != 204 || !r.producer_seq) return done(std::move(refusal));
    HubReply ok;
    ok.body = {{"duplicate", true}};
    if (r.next_offset) ok.body["offset"] = FormatOffset(*r.next_offset);
    done(std::move(ok));
  });
}

void SessionHub::AppendLocked(const std::string& id, const SessionPtr& s, std::vector<json> events,
                              std::optional<ProducerArgs> producer, json answer, HubDone done) {
  AppendArgs a;
  a.path = StreamPathFor(id);
  a.content_type = "application/json";
  a.producer = std::move(producer);
  if (service_.Shared()) a.expect_remote_changes = s->remote_seen;
  std::vector<std::size_t> sizes;
  json arr = json::array();
  for (json& e : events) {
    sizes.push_back(StoredBytes(e).size());
    arr.push_back(std::move(e));
  }
  a.body = arr.dump(-1, ' ', false, json::error_handler_t::replace);
  // Keep only what the answer needs from each event.
  json summary = json::array();
  for (const json& e : arr) {
    json one = {{"type", StringOr(e, "type", "")}};
    for (const char* f : {"run", "msg", "id"}) {
      if (e.contains(f)) one[f] = e[f];
    }
    summary.push_back(std::move(one));
  }
  service_.Append(std::move(a), [s, sizes = std::move(sizes), summary = std::move(summary), answer = std::move(answer),
                                 done = std::move(done)](Reply r) mutable {
    if (r.status != 200 && r.status != 204) {
      s->stale.store(true);  // the state ran ahead of the log: rebuild it on next use
      HubReply err = HubReply::Error(r.status, r.error.empty() ? "append failed" : r.error);
      err.changed_elsewhere = r.changed_elsewhere;
      return done(std::move(err));
    }
    HubReply ok;
    ok.body = std::move(answer);
    if (r.status == 204 && r.producer_seq && !r.next_offset) {
      ok.body["duplicate"] = true;
      return done(std::move(ok));
    }
    const std::uint64_t tail = r.next_offset.value_or(r.info.tail);
    std::uint64_t end = tail;
    for (std::size_t i = sizes.size(); i-- > 0;) {
      summary[i]["offset"] = FormatOffset(end);
      end -= sizes[i];
    }
    // 204 is also a plain append's success (no producer): only a producer's 204 is a retry.
    if (r.status == 204 && r.producer_seq) ok.body["duplicate"] = true;
    ok.body["offset"] = FormatOffset(tail);
    ok.body["events"] = std::move(summary);
    done(std::move(ok));
  });
}

HubReply SessionHub::Heartbeat(const std::string& id, const auth::Principal& who, const std::string& run_id,
                               const std::string& state) {
  if (!state.empty() && !ValidAgentState(state)) {
    return HubReply::Error(400, "invalid agent state '" + state + "': want thinking, streaming, tool, waiting, idle");
  }
  SessionPtr s = Get(id);
  std::vector<json> presence;
  {
    MutexLock lock(&s->mu);
    if (auto err = LoadLocked(id, *s)) return *err;
    auto it = s->state.runs.find(run_id);
    if (it == s->state.runs.end()) return HubReply::Error(404, "no run '" + run_id + "' in session '" + id + "'");
    RunInfo& run = it->second;
    if (!who.Allows(id, auth::Right::kRun)) return HubReply::Error(403, who.Lacks(id, auth::Right::kRun));
    if (run.owner != who.sub && !who.Allows(id, auth::Right::kAdmin)) {
      return HubReply::Error(403, "run '" + run.id + "' belongs to '" + run.owner + "'");
    }
    if (!run.active) return HubReply::Error(409, "run '" + run.id + "' has ended (" + run.end_reason + ")");
    run.deadline_ms = clock_.NowMs() + run.lease_ms;
    if (service_.Shared()) service_.store().PutLease(StreamPathFor(id), run.id, run.deadline_ms);
    if (!state.empty() && state != run.agent_state) {
      run.agent_state = state;
      auto m = s->members.find("run:" + run.id);
      if (m != s->members.end()) {
        json info = m->second.info;
        info["state"] = state;
        SetMemberLocked(*s, m->first, info, 0, &presence);
      }
    }
  }
  Broadcast(s, presence);
  HubReply r;
  r.status = 204;
  return r;
}

void SessionHub::Tick(std::int64_t now) {
  std::vector<std::pair<std::string, SessionPtr>> all;
  {
    MutexLock lock(&map_mu_);
    all.assign(sessions_.begin(), sessions_.end());
  }
  std::vector<std::string> idle;
  for (auto& [id, s] : all) {
    std::vector<json> presence;
    {
      MutexLock lock(&s->mu);
      if (service_.Shared() && s->stale.load() && now >= s->reload_after_ms) {
        // Changed on another server: read it again here too, so this reaper sees the runs
        // started elsewhere (at most once a second: a reload replays the whole log).
        s->reload_after_ms = now + 1000;
        std::map<std::string, json> agents_before;
        for (const auto& [k, m] : s->members)
          if (k.starts_with("run:")) agents_before[k] = m.info;
        if (LoadLocked(id, *s)) continue;
        // Tell this server's listeners which agents came and went with the other server's writes.
        for (const auto& [k, info] : agents_before)
          if (!s->members.count(k)) presence.push_back(PresenceEvent("presence.leave", info));
        for (const auto& [k, m] : s->members)
          if (k.starts_with("run:") && !agents_before.count(k)) presence.push_back(PresenceEvent("presence.join", m.info));
      }
      std::vector<json> events;
      // Runs only in a loaded session; presence (members heard from other servers included)
      // lapses in every session.
      for (auto& [rid, run] : s->state.runs) {
        if (!s->loaded) break;
        if (!run.active || run.deadline_ms > now) continue;
        if (service_.Shared() && !LeaseLapsedEverywhere(id, s, run, now)) continue;
        for (json& e : LeaseLostEvents(run, now)) events.push_back(std::move(e));
      }
      if (!events.empty()) {
        for (const json& e : events) {
          ApplyEffects(s->state, e, now);
          AgentPresenceLocked(*s, e, &presence);
        }
        const std::string sid = id;
        AppendLocked(id, s, std::move(events), std::nullopt, json::object(), [sid](HubReply r) {
          // changed_elsewhere: another server's reaper (or the agent) got there first.
          if (r.status >= 400 && !r.changed_elsewhere)
            log::Warn("cannot end lapsed run", {{"session", sid}, {"why", StringOr(r.body, "error", "")}});
        });
      }
      bool local_left = false;
      for (auto it = s->members.begin(); it != s->members.end();) {
        if (it->second.expires_ms > 0 && it->second.expires_ms <= now) {
          presence.push_back(PresenceEvent("presence.leave", it->second.info));
          local_left = local_left || !it->first.starts_with("node:");
          it = s->members.erase(it);
        } else {
          ++it;
        }
      }
      if (local_left) PublishPresenceLocked(id, *s);
      if (IdleLocked(*s) && (!s->loaded || now - s->last_used_ms.load() >= options_.idle_evict_ms)) idle.push_back(id);
    }
    Broadcast(s, presence);
  }
  all.clear();  // the map's must be the only references left for EvictIdle to drop an entry
  EvictIdle(idle, now);
  if (service_.Shared()) RepublishPresence(now);
}

bool SessionHub::LeaseLapsedEverywhere(const std::string& id, const SessionPtr& s, const RunInfo& run,
                                       std::int64_t now) {
  (void)now;
  auto lapsed = s->lease_lapsed.find(run.id);
  if (lapsed != s->lease_lapsed.end() && lapsed->second == run.deadline_ms) return true;
  if (!s->lease_checks.insert(run.id).second) return false;  // the store is being asked
  const std::string rid = run.id;
  const std::int64_t mine = run.deadline_ms;
  service_.store().GetLease(StreamPathFor(id), rid, [s, rid, mine](Result<std::int64_t> latest) {
    MutexLock lock(&s->mu);
    s->lease_checks.erase(rid);
    if (!latest.ok()) return;  // cannot tell: end nothing while the store is away
    auto it = s->state.runs.find(rid);
    if (it == s->state.runs.end() || !it->second.active) return;
    if (*latest > it->second.deadline_ms) {
      it->second.deadline_ms = *latest;  // renewed through another server
    } else if (it->second.deadline_ms == mine) {
      s->lease_lapsed[rid] = mine;  // nobody renewed it: the next tick ends it
    }
  });
  return false;
}

HubReply SessionHub::CheckRunStart(const std::string& id, const auth::Principal& who, const std::string& lane) {
  if (!who.Allows(id, auth::Right::kRun)) return HubReply::Error(403, who.Lacks(id, auth::Right::kRun));
  SessionPtr s = Get(id);
  MutexLock lock(&s->mu);
  if (auto err = LoadLocked(id, *s)) return *err;
  if (const RunInfo* active = ActiveRunOnLane(s->state, lane))
    return HubReply::Error(409, BusyLaneRefusal(lane, *active));
  return HubReply{};
}

HubReply SessionHub::Info(const std::string& id) {
  SessionPtr s = Get(id);
  Reply head = service_.Head(StreamPathFor(id));
  MutexLock lock(&s->mu);
  if (auto err = LoadLocked(id, *s)) return *err;
  json members = json::array();
  for (const auto& [k, m] : s->members) members.push_back(m.info);
  HubReply r;
  r.body = {{"session", id},
            {"offset", FormatOffset(head.info.tail)},
            {"runs", s->state.ActiveRuns()},
            {"presence", std::move(members)}};
  return r;
}

HubReply SessionHub::Runs(const std::string& id) {
  SessionPtr s = Get(id);
  MutexLock lock(&s->mu);
  if (auto err = LoadLocked(id, *s)) return *err;
  HubReply r;
  r.body = {{"runs", s->state.ActiveRuns()}};
  return r;
}

StreamHandle SessionHub::Stream(const std::string& id, HubReply* error) {
  OffsetParam now;
  now.kind = OffsetParam::Kind::kNow;
  ReadReply rr = service_.Read(StreamPathFor(id), now);
  if (rr.reply.status != 200) {
    *error =
        HubReply::Error(rr.reply.status == 410 ? 404 : rr.reply.status,
                        rr.reply.status == 404 || rr.reply.status == 410 ? "no session '" + id + "'" : rr.reply.error);
    return nullptr;
  }
  if (!rr.json) {
    *error = HubReply::Error(409, "stream '" + id + "' is not a JSON stream, so not a session");
    return nullptr;
  }
  return rr.stream;
}

// ---------------------------------------------------------------- presence

std::uint64_t SessionHub::Subscribe(const std::string& id, Listener listener) {
  SessionPtr s = Get(id);
  const std::uint64_t token = next_token_.fetch_add(1);
  MutexLock lock(&s->mu);
  s->listeners[token] = std::move(listener);
  return token;
}

void SessionHub::Unsubscribe(const std::string& id, std::uint64_t token) {
  SessionPtr s = Get(id);
  MutexLock lock(&s->mu);
  s->listeners.erase(token);
}

void SessionHub::SetMemberLocked(Session& s, const std::string& key, json info, std::int64_t expires_ms,
                                 std::vector<json>* out) {
  auto it = s.members.find(key);
  if (it == s.members.end()) {
    info["since"] = clock_.NowMs();
    out->push_back(PresenceEvent("presence.join", info));
    s.members[key] = Member{std::move(info), expires_ms};
    return;
  }
  info["since"] = it->second.info.value("since", clock_.NowMs());
  if (info != it->second.info) out->push_back(PresenceEvent("presence.update", info));
  it->second = Member{std::move(info), expires_ms};
}

void SessionHub::PresenceSet(const std::string& id, const std::string& key, const auth::Principal& who,
                             const std::string& kind, const std::string& state, std::int64_t ttl_ms) {
  SessionPtr s = Get(id);
  std::vector<json> out;
  {
    MutexLock lock(&s->mu);
    json info = {{"sub", who.sub}, {"kind", kind}, {"state", state.empty() ? "online" : state}};
    if (!who.device.empty()) info["device"] = who.device;
    SetMemberLocked(*s, key, std::move(info), ttl_ms > 0 ? clock_.NowMs() + ttl_ms : 0, &out);
    if (!out.empty()) PublishPresenceLocked(id, *s);
  }
  Broadcast(s, out);
}

void SessionHub::PresenceLeave(const std::string& id, const std::string& key) {
  SessionPtr s = Get(id);
  std::vector<json> out;
  {
    MutexLock lock(&s->mu);
    auto it = s->members.find(key);
    if (it == s->members.end()) return;
    out.push_back(PresenceEvent("presence.leave", it->second.info));
    s->members.erase(it);
    PublishPresenceLocked(id, *s);
  }
  Broadcast(s, out);
}

json SessionHub::PresenceList(const std::string& id) {
  SessionPtr s = Get(id);
  MutexLock lock(&s->mu);
  (void)LoadLocked(id, *s);  // agents of active runs are members
  json members = json::array();
  const std::int64_t now = clock_.NowMs();
  for (const auto& [k, m] : s->members) {
    if (m.expires_ms > 0 && m.expires_ms <= now) continue;  // lapsed, not yet reaped
    members.push_back(m.info);
  }
  return members;
}

void SessionHub::AgentPresenceLocked(Session& s, const json& e, std::vector<json>* out) {
  const std::string type = StringOr(e, "type", "");
  const std::string run_id = StringOr(e, "run", "");
  const std::string key = "run:" + run_id;
  if (type == "run.start") {
    const json& from = e.contains("from") ? e["from"] : json::object();
    json info = {{"sub", StringOr(from, "sub", "")},
                 {"kind", "agent"},
                 {"run", run_id},
                 {"lane", StringOr(e, "lane", kDefaultLane)},
                 {"state", "thinking"}};
    if (from.contains("device")) info["device"] = from["device"];
    SetMemberLocked(s, key, std::move(info), 0, out);
  } else if (type == "msg.append" || type == "run.end") {
    auto it = s.members.find(key);
    if (it == s.members.end()) return;
    if (type == "msg.append") {
      if (StringOr(it->second.info, "state", "") == "streaming") return;
      json info = it->second.info;
      info["state"] = "streaming";
      SetMemberLocked(s, key, std::move(info), 0, out);
      return;
    }
    json info = it->second.info;
    const json& data = e.contains("data") ? e["data"] : json::object();
    if (StringOr(data, "reason", "") == "agent_lost") {
      info["state"] = "lost";
      SetMemberLocked(s, key, info, 0, out);
    }
    out->push_back(PresenceEvent("presence.leave", s.members[key].info));
    s.members.erase(key);
  }
}

void SessionHub::Broadcast(const SessionPtr& s, const std::vector<json>& events) {
  if (events.empty()) return;
  std::vector<Listener> listeners;
  {
    MutexLock lock(&s->mu);
    for (const auto& [t, l] : s->listeners) listeners.push_back(l);
  }
  for (const json& e : events) {
    for (const auto& l : listeners) l(e);
  }
}

}  // namespace dsx::session::live
