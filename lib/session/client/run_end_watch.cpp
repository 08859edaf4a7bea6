#include "session/client/run_end_watch.hpp"

#include "session/wire/event.hpp"

namespace dsx::session::client {

using nlohmann::json;
using wire::StringOr;

void RunEndWatch::Feed(const json& e) {
  if (done_ || !e.is_object()) return;
  const std::string type = StringOr(e, "type");
  const std::string run = StringOr(e, "run");
  if (run.empty()) return;
  if (type == "run.start") {
    active_.insert(run);
    if (armed_ && wait_next_) {
      watched_.insert(run);
      wait_next_ = false;
    }
  } else if (type == "run.end") {
    active_.erase(run);
    ended_.insert(run);
    if (armed_ && watched_.erase(run) && watched_.empty() && !wait_next_) {
      done_ = true;
      run_ = run;
      auto d = e.find("data");
      reason_ = d != e.end() ? StringOr(*d, "reason") : "";
    }
  }
}

void RunEndWatch::Arm(const std::vector<std::string>& active_on_server) {
  if (armed_) return;
  armed_ = true;
  watched_ = active_;
  for (const auto& r : active_on_server) {
    if (!ended_.count(r)) watched_.insert(r);
  }
  wait_next_ = watched_.empty();
}

}  // namespace dsx::session::client
