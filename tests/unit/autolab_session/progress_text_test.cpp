// ProgressText: the line a person reads for each AutoLab event (progress_text.hpp), including
// what it does with odd or missing fields and with text that would break a line.
#include <doctest/doctest.h>

#include "autolab/session/progress_text.hpp"

using dsx::autolab::kMaxLineBytes;
using dsx::autolab::ProgressText;
using nlohmann::json;

TEST_CASE("each event type has its line; the metric's name comes from the run's objective") {
  ProgressText t;
  CHECK(t.Line({{"type", "autolab.experiment"}, {"id", "e-1"}, {"state", "finished"}, {"metric", 0.5}}) ==
        "e-1 finished metric=0.5");
  CHECK(t.Line({{"type", "autolab.run"},
                {"state", "started"},
                {"run", "digits"},
                {"plan", "p.yaml"},
                {"objective", {{"metric", "val_loss"}, {"direction", "minimize"}}},
                {"budget", {{"max_experiments", 54}, {"max_parallel", 2}}}}) ==
        "run digits started (plan p.yaml; budget max_experiments=54 max_parallel=2)");
  CHECK(t.metric_name() == "val_loss");
  CHECK(t.Line({{"type", "autolab.experiment"},
                {"id", "e-1234"},
                {"state", "finished"},
                {"metric", 0.123},
                {"params", {{"width", 64}, {"lr", 0.01}}},
                {"seed", 2}}) == "e-1234 finished val_loss=0.123 (lr=0.01 width=64 seed=2)");
  CHECK(t.Line({{"type", "autolab.experiment"},
                {"id", "e-2"},
                {"state", "failed"},
                {"reason", "no metric"},
                {"hypothesis", "cosine schedule"}}) == "e-2 failed: no metric; hypothesis: cosine schedule");
  CHECK(t.Line({{"type", "autolab.metric"}, {"id", "e-3"}, {"step", 10}, {"value", 1.23456789}}) ==
        "e-3 step 10: val_loss=1.23457");
  CHECK(t.Line({{"type", "autolab.promoted"},
                {"id", "e-3"},
                {"mean", 0.1},
                {"ci", {0.09, 0.11}},
                {"config", {{"lr", 0.1}}},
                {"reason", "beats e-1 by 0.02"}}) ==
        "e-3 promoted: val_loss mean 0.1 [0.09, 0.11] (lr=0.1): beats e-1 by 0.02");
  CHECK(t.Line({{"type", "autolab.report"}, {"path", "/r/report.md"}}) == "report written: /r/report.md");
  CHECK(t.Line({{"type", "autolab.run"}, {"state", "stopped"}, {"run", "digits"}, {"reason", "stop requested"}}) ==
        "run digits stopped: stop requested");
  CHECK(t.Line({{"type", "autolab.other"}, {"x", 1}}) == "autolab.other {\"x\":1}");
}

TEST_CASE("odd values and dangerous text stay one bounded line") {
  ProgressText t;
  CHECK(
      t.Line(
          {{"type", "autolab.experiment"}, {"id", "e-1"}, {"state", "failed"}, {"reason", "line1\nline2\r\x1b[31m"}}) ==
      "e-1 failed: line1 line2  [31m");
  CHECK(t.Line({{"type", "autolab.experiment"}, {"id", 7}, {"state", json::array()}, {"metric", "NaN"}}) == " ");
  CHECK(t.Line({{"type", "autolab.metric"}, {"id", "e-1"}, {"value", std::nan("")}}) == "e-1: metric=nan");
  CHECK(t.Line(json(42)) == " {}");
  const std::string long_reason(5000, 'x');
  const std::string l = t.Line({{"type", "autolab.experiment"}, {"id", "e-1"}, {"reason", long_reason}});
  CHECK(l.size() == kMaxLineBytes);
  CHECK(l.substr(l.size() - 3) == "...");
  // A cut never splits a UTF-8 sequence.
  std::string euro;
  for (int i = 0; i < 600; ++i) euro += "\xe2\x82\xac";
  const std::string e = t.Line({{"type", "autolab.report"}, {"path", euro}});
  CHECK(e.size() <= kMaxLineBytes);
  const std::string body = e.substr(std::string("report written: ").size(), e.size() - 3 - 16);
  CHECK(body.size() % 3 == 0);
}

TEST_CASE("the session protocol's progress and metric events read as lines, not JSON (issue 18)") {
  ProgressText t;
  CHECK(t.Line({{"type", "progress"}, {"done", 2}, {"total", 4}, {"unit", "experiments"}, {"label", "experiments ended"}}) ==
        "experiments ended: 2/4 experiments");
  CHECK(t.Line({{"type", "progress"}, {"done", 3}}) == "progress: 3");
  CHECK(t.Line({{"type", "metric"}, {"name", "best val_loss"}, {"step", 2}, {"value", 0.25}}) == "best val_loss at 2: 0.25");
}
