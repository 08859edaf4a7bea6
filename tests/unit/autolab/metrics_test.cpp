// metrics.hpp: JSON-lines and regex metric streams over realistic (messy) stdout, and results files.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "autolab/metrics.hpp"

using dsx::Code;
using namespace dsx::autolab;

namespace {

MetricOutcome FeedAll(MetricStream m, std::string_view out) {
  m.Feed(out);
  m.Finish();
  return m.Outcome();
}

// A temporary folder removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/dsx-metrics-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::filesystem::path Write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return path / name;
  }
};

}  // namespace

TEST_CASE("JSON lines among logs: intermediate curve and the last value as final") {
  const std::string out =
      "Loading data... 1797 samples\n"
      "{\"step\": 10, \"val_loss\": 1.5, \"lr\": 0.1}\n"
      "warning: something {not json}\n"
      "{\"step\": 20, \"train_loss\": 0.9}\n"  // JSON without the metric
      "[1, 2, 3]\n"                            // JSON, not an object
      "  {\"step\": 20, \"val_loss\": 1.25}\r\n"
      "{\"epoch\": 3, \"val_loss_ema\": 7}\n"  // the name as a prefix of another key
      "{\"val_loss\": 1.125}\n";               // final value with no step: not on the curve
  auto o = FeedAll(MetricStream::Json("val_loss"), out);
  CHECK(o.kind == MetricKind::kOk);
  REQUIRE(o.value);
  CHECK(*o.value == 1.125);
  CHECK(o.reason.empty());
  REQUIRE(o.curve.size() == 2);
  CHECK(o.curve[0] == std::pair<std::int64_t, double>{10, 1.5});
  CHECK(o.curve[1] == std::pair<std::int64_t, double>{20, 1.25});
}

TEST_CASE("JSON split across Feed calls at every byte, and a last line without a newline") {
  const std::string out = "log line\n{\"step\": 1, \"acc\": 0.5}\n{\"step\": 2.0, \"acc\": 0.75}";
  for (size_t cut = 0; cut <= out.size(); ++cut) {
    auto m = MetricStream::Json("acc");
    m.Feed(out.substr(0, cut));
    m.Feed(out.substr(cut));
    CHECK(m.curve().size() == 1);  // the unterminated last line waits for Finish
    m.Finish();
    auto o = m.Outcome();
    REQUIRE(o.value);
    CHECK(*o.value == 0.75);
    REQUIRE(o.curve.size() == 2);
    CHECK(o.curve[1].first == 2);  // a float step with an integral value counts
  }
  // One byte at a time.
  auto m = MetricStream::Json("acc");
  for (char c : out) m.Feed(std::string_view(&c, 1));
  m.Finish();
  CHECK(m.Outcome().curve.size() == 2);
}

TEST_CASE("a line over the bound is skipped, not buffered, and parsing resumes after it") {
  auto m = MetricStream::Json("val_loss");
  m.Feed("{\"step\": 1, \"val_loss\": 2.0}\n");
  // A 3 MiB line (a progress bar without newlines) that would parse as a metric if it were kept.
  std::string huge = "{\"step\": 2, \"val_loss\": 0.001, \"pad\": \"" + std::string(3 << 20, 'x') + "\"}";
  for (size_t i = 0; i < huge.size(); i += 65536) m.Feed(std::string_view(huge).substr(i, 65536));
  m.Feed("\n{\"step\": 3, \"val_loss\": 1.5}\n");
  m.Finish();
  auto o = m.Outcome();
  CHECK(m.skipped_long_lines() == 1);
  REQUIRE(o.value);
  CHECK(*o.value == 1.5);
  REQUIRE(o.curve.size() == 2);
  CHECK(o.curve[1].first == 3);

  // Only over-long lines: the reason says they were skipped.
  auto only = MetricStream::Json("val_loss");
  only.Feed(std::string(kMaxMetricLine + 1, 'y'));
  only.Finish();
  auto none = only.Outcome();
  CHECK(none.kind == MetricKind::kMissing);
  CHECK(none.reason.find("1 line(s) over 1024 KiB were skipped") != std::string::npos);
}

TEST_CASE("NaN and Infinity as Python prints them are garbage with the step in the reason") {
  auto o = FeedAll(MetricStream::Json("val_loss"),
                   "{\"step\": 10, \"val_loss\": 1.0}\n"
                   "{\"step\": 20, \"val_loss\": 0.9, \"note\": \"NaN in a string is fine\"}\n"
                   "{\"step\": 30, \"val_loss\": NaN}\n"
                   "{\"step\": 40, \"val_loss\": Infinity}\n"
                   "{\"step\": 50, \"val_loss\": 0.5}\n");
  CHECK(o.kind == MetricKind::kGarbage);
  CHECK_FALSE(o.value);
  CHECK(o.reason == "metric 'val_loss' was NaN at step 30");  // the first garbage is the cause
  CHECK(o.curve.size() == 3);                                 // the curve up to then is kept for plots

  auto inf = FeedAll(MetricStream::Json("loss"), "{\"loss\": -Infinity}\n");
  CHECK(inf.kind == MetricKind::kGarbage);
  CHECK(inf.reason == "metric 'loss' was -Infinity on output line 1");

  // NaN in another key does not matter.
  auto other = FeedAll(MetricStream::Json("loss"), "{\"grad_norm\": NaN, \"loss\": 0.25}\n");
  CHECK(other.kind == MetricKind::kOk);
}

TEST_CASE("a metric given as a string, null or object is garbage, not silently parsed") {
  auto s = FeedAll(MetricStream::Json("val_loss"), "{\"step\": 7, \"val_loss\": \"1.23\"}\n");
  CHECK(s.kind == MetricKind::kGarbage);
  CHECK(s.reason == "metric 'val_loss' was a string (\"1.23\"), not a number at step 7");
  auto n = FeedAll(MetricStream::Json("val_loss"), "x\n{\"val_loss\": null}\n");
  CHECK(n.reason == "metric 'val_loss' was null, not a number on output line 2");
  CHECK(FeedAll(MetricStream::Json("val_loss"), "{\"val_loss\": {\"v\": 1}}").kind == MetricKind::kGarbage);
}

TEST_CASE("no metric at all: missing, with the reason naming it") {
  auto o = FeedAll(MetricStream::Json("val_loss"), "Traceback (most recent call last):\n  oops\n");
  CHECK(o.kind == MetricKind::kMissing);
  CHECK_FALSE(o.value);
  CHECK(o.reason == "printed no metric 'val_loss'");
  CHECK(FeedAll(MetricStream::Json("val_loss"), "").kind == MetricKind::kMissing);
}

TEST_CASE("regex mode: one group, the last match wins") {
  auto m = MetricStream::Regex("bpb", R"(val_bpb[=:]\s*(\S+))");
  REQUIRE(m.ok());
  auto o = FeedAll(*m,
                   "step 100 val_bpb=1.90\n"
                   "noise\n"
                   "step 200 val_bpb=1.80 then val_bpb: 1.75\n"
                   "done\n");
  REQUIRE(o.value);
  CHECK(*o.value == 1.75);
  CHECK(o.curve.empty());

  auto bad = MetricStream::Regex("bpb", R"(val_bpb=(\S+))");
  auto g = FeedAll(*bad, "val_bpb=1.0\nval_bpb=nan\n");
  CHECK(g.kind == MetricKind::kGarbage);
  CHECK(g.reason == "metric 'bpb' was NaN on output line 2");
  auto word = FeedAll(*bad, "val_bpb=abc\n");
  CHECK(word.reason == "metric 'bpb' was 'abc', not a number on output line 1");

  auto none = FeedAll(*bad, "nothing here\n");
  CHECK(none.kind == MetricKind::kMissing);
  CHECK(none.reason == "printed no line matching the regex for metric 'bpb'");
}

TEST_CASE("regex mode: long lines are skipped, not fed to the backtracking matcher") {
  auto m = MetricStream::Regex("v", R"(.*v=(\S+).*)");
  REQUIRE(m.ok());
  m->Feed(std::string(1 << 20, 'a') + " v=9\nv=2\n");  // would overflow the stack in std::regex
  m->Finish();
  CHECK(m->skipped_long_lines() == 1);
  REQUIRE(m->Outcome().value);
  CHECK(*m->Outcome().value == 2);
}

TEST_CASE("regex mode: invalid patterns and wrong group counts are usage errors") {
  auto bad = MetricStream::Regex("v", "val=(");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == Code::kUsage);
  CHECK(bad.status().message().find("'val=('") != std::string::npos);
  auto none = MetricStream::Regex("v", "val=\\S+");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("exactly one capture group") != std::string::npos);
  CHECK_FALSE(MetricStream::Regex("v", "(a)=(b)").ok());
  CHECK(MetricStream::Regex("v", "(?:x)=(\\d+)").ok());  // non-capturing groups are fine
}

TEST_CASE("ReadMetricFile: value, and errors naming the file and key") {
  TempDir dir;
  auto good = dir.Write("results.json", "{\"val_loss\": 0.3125, \"acc\": 0.9}\n");
  auto v = ReadMetricFile(good, "val_loss");
  REQUIRE(v.ok());
  CHECK(*v == 0.3125);

  auto missing = ReadMetricFile(dir.path / "nope.json", "val_loss");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(missing.status().message().find("nope.json") != std::string::npos);

  auto garbage = ReadMetricFile(dir.Write("g.json", "val_loss = 0.3\n"), "val_loss");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.status().code() == Code::kFailed);
  CHECK(garbage.status().message().find("g.json' is not valid JSON") != std::string::npos);

  auto no_key = ReadMetricFile(good, "bpb");
  REQUIRE_FALSE(no_key.ok());
  CHECK(no_key.status().message().find("has no key 'bpb' (keys: acc, val_loss)") != std::string::npos);

  auto nan = ReadMetricFile(dir.Write("n.json", "{\"val_loss\": NaN}"), "val_loss");
  REQUIRE_FALSE(nan.ok());
  CHECK(nan.status().message().find("n.json': key 'val_loss' is NaN") != std::string::npos);

  auto str = ReadMetricFile(dir.Write("s.json", "{\"val_loss\": \"0.3\"}"), "val_loss");
  REQUIRE_FALSE(str.ok());
  CHECK(str.status().message().find("not a number") != std::string::npos);

  auto arr = ReadMetricFile(dir.Write("a.json", "[0.3]"), "val_loss");
  REQUIRE_FALSE(arr.ok());
  CHECK(arr.status().message().find("holds a JSON array, not an object") != std::string::npos);
}

TEST_CASE("an empty step key reads the final value without a curve") {
  auto o = FeedAll(MetricStream::Json("val_loss", ""), "{\"step\": 1, \"val_loss\": 2.5}\n{\"val_loss\": 2}\n");
  REQUIRE(o.value);
  CHECK(*o.value == 2);
  CHECK(o.curve.empty());
}

TEST_CASE("a Python dict printed instead of JSON: missing, and the reason points at the line") {
  auto o = FeedAll(MetricStream::Json("val_loss"), "start\n{'step': 10, 'val_loss': 1.23}\n");
  CHECK(o.kind == MetricKind::kMissing);
  CHECK(o.reason ==
        "printed no metric 'val_loss' (line 2 looks like one but is not JSON: {'step': 10, 'val_loss': 1.23})");
}

TEST_CASE("ReadMetricFile: an experiment's results file linked to /dev/zero is refused, not read forever") {
  TempDir dir;
  std::filesystem::create_symlink("/dev/zero", dir.path / "results.json");
  auto v = ReadMetricFile(dir.path / "results.json", "val_loss");
  REQUIRE_FALSE(v.ok());
  CHECK(v.status().message().find("larger than") != std::string::npos);
}
