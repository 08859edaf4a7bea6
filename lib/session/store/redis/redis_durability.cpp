// DurabilityWarnings: what the connected Redis may lose of acknowledged appends
// (docs/scaling.md, "Durability"). Reads CONFIG GET appendonly/appendfsync and INFO replication.
#include <string>
#include <vector>

#include "session/store/redis/redis_store.hpp"

namespace dsx::session {
namespace {

// CONFIG GET <name>: the value, or the error text (prefixed "!") when CONFIG is refused.
std::string ConfigGet(redis::Client& client, const std::string& name) {
  auto r = client.CommandSync("", {"CONFIG", "GET", name});
  if (!r) return "!" + r.status().message();
  if (r->is_error()) return "!" + r->str;
  if (r->type != redis::Reply::Type::kArray || r->elements.size() < 2) return "!no value for " + name;
  return r->elements[1].str;
}

// One "field:value" line of an INFO section ("" if absent).
std::string InfoField(const std::string& info, const std::string& field) {
  const std::string key = field + ":";
  std::size_t at = 0;
  while (at < info.size()) {
    std::size_t eol = info.find('\n', at);
    if (eol == std::string::npos) eol = info.size();
    std::string line = info.substr(at, eol - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(key, 0) == 0) return line.substr(key.size());
    at = eol + 1;
  }
  return "";
}

}  // namespace

int OnlineReplicas(const std::string& info) {
  int online = 0;
  for (int i = 0;; ++i) {
    const std::string line = InfoField(info, "slave" + std::to_string(i));  // ip=...,state=online,...
    if (line.empty()) break;
    if (("," + line + ",").find(",state=online,") != std::string::npos) ++online;
  }
  return online;
}

std::vector<std::string> DurabilityWarnings(redis::Client& client, int wait_replicas) {
  std::vector<std::string> out;
  const std::string aof = ConfigGet(client, "appendonly");
  if (!aof.empty() && aof[0] == '!') {
    out.push_back("could not check the Redis persistence settings (CONFIG GET refused: " + aof.substr(1) +
                  "); acknowledged appends survive a Redis restart only with appendonly yes and appendfsync "
                  "always");
  } else if (aof != "yes") {
    out.push_back("Redis has appendonly " + aof +
                  ": acknowledged appends are lost if Redis restarts (set appendonly yes, appendfsync always)");
  } else {
    const std::string fsync = ConfigGet(client, "appendfsync");
    if (fsync == "everysec") {
      out.push_back(
          "Redis has appendfsync everysec: up to 1 s of acknowledged appends may be lost if the Redis host crashes "
          "or loses power (appendfsync always loses none)");
    } else if (fsync == "no") {
      out.push_back(
          "Redis has appendfsync no: acknowledged appends the OS has not yet written out (typically up to 30 s) "
          "may be lost if the Redis host crashes or loses power");
    } else if (!fsync.empty() && fsync[0] == '!') {
      out.push_back("could not check Redis appendfsync (" + fsync.substr(1) + ")");
    }
  }

  auto info = client.CommandSync("", {"INFO", "replication"});
  if (!info || info->is_error()) {
    out.push_back("could not check Redis replication (INFO replication: " +
                  (info ? info->str : info.status().message()) + ")");
    return out;
  }
  const std::string role = InfoField(info->str, "role");
  if (role == "slave") {
    out.push_back("the Redis server dsx connected to is a replica: writes will fail (point dsx at the primary or "
                  "use redis+sentinel://)");
    return out;
  }
  int connected = 0;
  try {
    connected = std::stoi(InfoField(info->str, "connected_slaves"));
  } catch (...) {
    connected = 0;
  }
  const int replicas = OnlineReplicas(info->str);
  const std::string syncing =
      connected > replicas ? " (" + std::to_string(connected - replicas) + " more still in their first sync)" : "";
  if (connected > 0 && wait_replicas == 0) {
    out.push_back("Redis has " + std::to_string(connected) +
                  " replica(s) and --redis-wait-replicas is 0: replication is asynchronous, so a failover may lose "
                  "the last acknowledged appends");
  }
  if (wait_replicas > replicas) {
    out.push_back("--redis-wait-replicas is " + std::to_string(wait_replicas) + " but Redis has " +
                  std::to_string(replicas) + " replica(s) in sync" + syncing +
                  ": appends fail (503) until enough replicas are connected and in sync");
  }
  return out;
}

}  // namespace dsx::session
