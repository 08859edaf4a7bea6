// Presence across servers on a shared store. Presence is ephemeral (never in the log), so it
// travels as snapshots on the store's ephemeral channel: after every change of the members a
// server holds for a session (joins, updates, leaves, expiries), and again every few seconds,
// it sends {"node","session","members":{key: info},"ttl_ms"}. Other servers keep those members
// as "node:<server>/<key>" with an expiry, so a server that dies takes its members with it
// within ttl_ms, and a server that starts learns everyone's within one repeat period.
// Agents of active runs are not sent: every server derives them from the log.
#include <random>

#include "core/json_limits.hpp"
#include "core/log.hpp"
#include "session/live/event.hpp"
#include "session/live/session_hub.hpp"

namespace dsx::session::live {
namespace {

constexpr std::int64_t kPresenceRepeatMs = 5000;
constexpr std::int64_t kPresenceTtlMs = 15000;
constexpr std::string_view kRemotePrefix = "node:";

bool SharedAcrossServers(const std::string& key) { return !key.starts_with("run:") && !key.starts_with(kRemotePrefix); }

}  // namespace

void SessionHub::PublishPresenceLocked(const std::string& id, Session& s) {
  if (!service_.Shared()) return;
  json members = json::object();
  for (const auto& [key, m] : s.members) {
    if (SharedAcrossServers(key)) members[key] = m.info;
  }
  const bool nonempty = !members.empty();
  if (!nonempty && !s.presence_sent_nonempty) return;  // nothing held here, and others know it
  s.presence_sent_nonempty = nonempty;
  s.presence_sent_ms = clock_.NowMs();
  json msg = {{"node", node_}, {"session", id}, {"members", std::move(members)}, {"ttl_ms", kPresenceTtlMs}};
  service_.store().PublishEphemeral(msg.dump(-1, ' ', false, json::error_handler_t::replace));
}

void SessionHub::OnRemotePresence(std::string_view payload) {
  // Depth-limited: members are copied (recursively) below, and the channel is anyone's who can
  // PUBLISH on this Redis (fuzz found a 100000-level snapshot overflowing the stack).
  json msg = ParseJsonOrDiscarded(payload);
  if (!msg.is_object() || !msg.contains("node") || !msg["node"].is_string() || !msg.contains("session") ||
      !msg["session"].is_string() || !msg.contains("members") || !msg["members"].is_object()) {
    log::Warn("ignoring a malformed presence snapshot from another server");
    return;
  }
  const std::string node = msg["node"];
  if (node == node_) return;
  const std::string id = msg["session"];
  // Only sessions this server serves: a session entry per id heard would let any publisher grow
  // this server's memory. A session first served later learns the members at the next repeat.
  if (!service_.Holds(StreamPathFor(id))) return;
  std::int64_t ttl = kPresenceTtlMs;
  if (msg.contains("ttl_ms") && msg["ttl_ms"].is_number_integer()) ttl = msg["ttl_ms"].get<std::int64_t>();
  ttl = std::clamp<std::int64_t>(ttl, 1000, 300000);
  SessionPtr s = Get(id);
  std::vector<json> out;
  {
    MutexLock lock(&s->mu);
    const std::string prefix = std::string(kRemotePrefix) + node + "/";
    const std::int64_t expires = clock_.NowMs() + ttl;
    for (auto it = s->members.lower_bound(prefix); it != s->members.end() && it->first.starts_with(prefix);) {
      if (!msg["members"].contains(it->first.substr(prefix.size()))) {
        out.push_back(json{{"type", "presence.leave"}, {"data", it->second.info}});
        it = s->members.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [key, info] : msg["members"].items()) {
      if (!info.is_object()) continue;
      SetMemberLocked(*s, prefix + key, info, expires, &out);
    }
  }
  Broadcast(s, out);
}

void SessionHub::RepublishPresence(std::int64_t now) {
  std::vector<std::pair<std::string, SessionPtr>> all;
  {
    MutexLock lock(&map_mu_);
    all.assign(sessions_.begin(), sessions_.end());
  }
  for (auto& [id, s] : all) {
    MutexLock lock(&s->mu);
    if (s->presence_sent_nonempty && now - s->presence_sent_ms >= kPresenceRepeatMs) PublishPresenceLocked(id, *s);
  }
}

}  // namespace dsx::session::live
