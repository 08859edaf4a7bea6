// One readable line per AutoLab progress event (progress.hpp), for the people watching a run's
// session: RunSession writes it into the run's text message, which the web UI shows as it grows
// and `dsx session tail autolab/<run> --text` prints, while the structured event goes beside it.
//
//   {"type":"autolab.run","state":"started","run":"digits","plan":"digits.yaml",
//    "objective":{"metric":"val_loss"},"budget":{"max_experiments":54}}
//       -> run digits started (plan digits.yaml; budget max_experiments=54)
//   {"type":"autolab.experiment","id":"e-1234","state":"finished","metric":0.123,"seed":2,
//    "params":{"lr":0.01}}
//       -> e-1234 finished val_loss=0.123 (lr=0.01 seed=2)
//   {"type":"autolab.metric","id":"e-1234","step":10,"value":1.5}   -> e-1234 step 10: val_loss=1.5
//   {"type":"autolab.promoted","id":"e-1234","mean":0.12,"ci":[0.11,0.13]}
//       -> e-1234 promoted: val_loss mean 0.12 [0.11, 0.13]
//   {"type":"autolab.report","path":"/runs/digits/report.md"}       -> report written: /runs/digits/report.md
//
// The metric's name is not in the experiment events: the renderer remembers it from an
// autolab.run event's "objective" ({"metric": name} or a name) or "metric" (a string), and
// says "metric" until it knows. Fields are read leniently (an absent or odd field is left out);
// other types render as "<type> <compact JSON>". A line is at most kMaxLineBytes (cut at a UTF-8
// boundary, "..." added) and has no newline inside.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace dsx::autolab {

inline constexpr std::size_t kMaxLineBytes = 1000;

class ProgressText {
 public:
  // `metric`: the objective's metric name when the caller knows it (the plan's), until an
  // autolab.run event says.
  explicit ProgressText(std::string metric = "metric") : metric_(std::move(metric)) {}

  // The line for `event` (no trailing newline).
  std::string Line(const nlohmann::json& event);

  const std::string& metric_name() const { return metric_; }

 private:
  std::string metric_;
};

}  // namespace dsx::autolab
