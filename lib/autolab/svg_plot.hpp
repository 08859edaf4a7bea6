// A tiny SVG chart writer for the Reporter's plots (metric per configuration with CI bars, best so
// far, intermediate curves): line, step-line and scatter series, error bars, linear axes with "nice"
// ticks (or given categorical ticks), axis labels, a title and a legend. No dependencies, no fonts to
// measure, no clock, no locale: the same chart always renders to the same bytes, so a regenerated
// report does not churn, and every number is written with std::to_chars (a comma-decimal locale
// cannot break the file). Text is XML-escaped, so a parameter value or a metric name with '<' or '&'
// cannot corrupt it. Log scales are deliberately not supported (metrics here are losses and scores).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsx::autolab::svg {

struct Point {
  double x = 0, y = 0;
};

// A vertical bar from low to high at x (a confidence interval); skipped when either end is not finite.
struct ErrorBar {
  double x = 0, low = 0, high = 0;
};

struct Series {
  std::string name;           // tooltip (<title>) of the series; "" = none
  std::string legend;         // legend label; "" = not in the legend (series with equal labels share one entry)
  std::vector<Point> points;  // non-finite points are skipped (a line is broken there)
  bool line = true;           // join the points
  bool step = false;          // join them as a step function (horizontal then vertical): best so far
  bool markers = false;       // a dot at each point
  bool dashed = false;        // dashed line (pruned runs)
  double opacity = 1.0;       // 0..1 (light dots behind a line)
  std::string color;          // "#rrggbb"; "" = Palette(index of the series)
  std::vector<ErrorBar> error_bars;
};

struct Tick {
  double value = 0;
  std::string label;
};

struct Chart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::optional<std::vector<Tick>> x_ticks;  // categorical axes; default: NiceTicks over the data
  int width = 760, height = 440;
};

// The whole document: <svg ...>...</svg> with a trailing newline. A chart with no finite point
// renders its axes and the words "no data".
std::string Render(const Chart& chart);

// Round tick positions covering [lo, hi] (about `target` of them; 1, 2 or 5 times a power of ten
// apart, Heckbert's "nice numbers"). lo == hi gets a range around the value.
std::vector<double> NiceTicks(double lo, double hi, int target = 6);

// The ten colours of Tableau 10 (distinct, colour-blind aware), cycled.
std::string Palette(std::size_t index);

// &, <, >, " and ' as entities; control characters other than tab/newline (invalid in XML 1.0) as '?';
// bytes that are not valid UTF-8 as U+FFFD (an XML reader refuses the whole file otherwise).
std::string EscapeXml(std::string_view text);

// Shortest text that reads back as v (std::to_chars); "nan"/"inf" never reach a chart.
std::string FormatNumber(double v);

}  // namespace dsx::autolab::svg
