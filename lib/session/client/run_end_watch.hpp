// When `dsx session tail --until-run-end` stops: after the run that is active when the
// catch-up reaches the tail has ended, or, when no run is active then, after the next run to
// start has ended. With several active runs (lanes), after the last of them. Pure: fed the
// session's events in log order; the command asks the server which runs are active when the
// catch-up is done (a run started before a `--from now` is not in the events it saw).
#pragma once

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dsx::session::client {

class RunEndWatch {
 public:
  // Every event read, in log order (catch-up and live).
  void Feed(const nlohmann::json& event);
  // The catch-up reached the tail: watch the runs active now (those the events fed show active,
  // plus `active_on_server`), or the next run to start when there are none.
  void Arm(const std::vector<std::string>& active_on_server);

  bool armed() const { return armed_; }
  bool done() const { return done_; }
  // The run whose end stopped the watch, and its run.end data.reason.
  const std::string& run() const { return run_; }
  const std::string& reason() const { return reason_; }

 private:
  std::set<std::string> active_;   // per the events fed
  std::set<std::string> watched_;  // armed: the runs whose end is awaited
  std::set<std::string> ended_;    // every run.end seen (a server's list may lag behind the log)
  bool armed_ = false;
  bool wait_next_ = false;
  bool done_ = false;
  std::string run_, reason_;
};

}  // namespace dsx::session::client
