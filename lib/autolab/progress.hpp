// Where a run reports as it goes, besides the ledger: the run's session `autolab/<run>` on a session
// server (lib/autolab_session implements this), so people and agents can watch a run from anywhere
// and stop or pause it from the web UI. The driver never depends on it: a sink that fails only logs.
//
// Events are JSON objects with a "type" (wire format: docs/formats/autolab-session.md):
//   {"type":"autolab.run","state":"started|paused|stopped|done|...","run":..,"plan":..,"budget":{..}}
//   {"type":"autolab.experiment","id":..,"state":"queued|running|finished|failed|pruned|cancelled",
//    "params":{..},"seed":..,"hypothesis":..,"metric":..,"reason":..}
//   {"type":"autolab.metric","id":..,"step":..,"value":..}        intermediate points
//   {"type":"autolab.promoted","id":..,"config":..,"mean":..,"ci":[lo,hi],"reason":..}
//   {"type":"autolab.report","path":..}                            the reporter wrote its files
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "autolab/control.hpp"

namespace dsx::autolab {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // One event; must not block for long (a sink buffers and drops rather than stall the run).
  virtual void Publish(const nlohmann::json& event) = 0;
  // A control request that arrived since the last call (Stop / Pause / Resume from the session),
  // or nullopt. The driver writes it to the ledger (control.hpp) and acts on it.
  virtual std::optional<Control> TakeControl() = 0;
};

}  // namespace dsx::autolab
