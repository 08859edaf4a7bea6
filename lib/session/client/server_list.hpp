// Several servers for one client: `--server URL1,URL2,...` (DSX_SERVER likewise) names dsx nodes
// that serve the same streams (several `dsx session serve --store redis://...` on one Redis,
// docs/scaling.md). A client talks to one of them at a time and moves to the next when that one
// stops answering; offsets are the same on every node, so a reader resumes where it was.
//
// What moves a client on (ShouldFailOver): a kUnavailable status, i.e. no answer at all
// (connection refused or reset, timeout, name not resolved) or 502/503/504. A node that answers
// anything else (404, 409, 400, 500...) answered for the whole service: moving on would not help.
//
// Failover (the policy both the follower and the appender use): after a failure the client
// switches to the next server at once, until every server has failed once since the last
// success; from then on it waits (the caller's backoff) before each further try, still going
// round the list. Before the first success (first contact) every server is tried once and then
// the failure is returned: a wrong URL list should not hang.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "session/client/stream_ref.hpp"

namespace dsx::session::client {

// "URL" or "URL1,URL2,..." (spaces around commas ignored; a repeated URL counts once; trailing
// slashes dropped). Empty text: {kDefaultServer}. Usage error naming the entry for an empty
// entry ("a,,b") or one that is not an http:// or https:// URL (or has a query or fragment).
Result<std::vector<std::string>> ParseServerList(std::string_view text);

// `name` resolved against every server (ResolveStream). A full URL name gives that one URL,
// whatever the list holds.
Result<std::vector<StreamRef>> ResolveStreamAll(std::string_view name, const std::vector<std::string>& servers);

// The server part of a URL: "http://h:1/v1/stream/x" -> "http://h:1".
std::string OriginOf(std::string_view url);

bool ShouldFailOver(const Status& why);

class Failover {
 public:
  enum class Action {
    kGiveUp,       // return the error
    kSwitchNow,    // move to the next server and retry without waiting
    kSwitchLater,  // move to the next server and retry after the caller's backoff
    kRetryLater,   // one server: retry it after the caller's backoff
  };
  explicit Failover(std::size_t servers) : servers_(servers == 0 ? 1 : servers) {}

  // After a failed request. `contacted`: some request succeeded before (an outage, not a bad
  // URL). Advances current() for the kSwitch actions.
  Action OnFailure(const Status& why, bool contacted);
  // After a successful request: the next failure starts a fresh round.
  void OnSuccess() { failures_ = 0; }

  std::size_t current() const { return current_; }
  std::size_t servers() const { return servers_; }

 private:
  std::size_t servers_;
  std::size_t current_ = 0;
  std::size_t failures_ = 0;  // consecutive failures since the last success
};

}  // namespace dsx::session::client
