// The SVG chart writer (svg_plot.hpp). Pixel coordinates are written with two decimals and data
// values (in each series' data-values attribute, so a tool or a test can read the plotted numbers
// back without inverting the axes) with the shortest round-trip form; both through std::to_chars.
#include "autolab/svg_plot.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

namespace dsx::autolab::svg {
namespace {

// Fixed-point text with `decimals` digits, locale-free; "-0.00" is written as "0.00".
std::string Fixed(double v, int decimals) {
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  std::string s(buf, r.ptr);
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string Px(double v) { return Fixed(v, 2); }

// "Nice" number near x (Heckbert, Graphics Gems 1990): 1, 2, 5 or 10 times a power of ten.
double Nice(double x, bool round) {
  const double e = std::floor(std::log10(x));
  const double f = x / std::pow(10, e);
  double nf;
  if (round) {
    nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  } else {
    nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  }
  return nf * std::pow(10, e);
}

// Tick labels: enough decimals for the step, scientific for very large or very small numbers.
std::vector<std::string> TickLabels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  if (ticks.empty()) return out;
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  double biggest = 0;
  for (double t : ticks) biggest = std::max(biggest, std::fabs(t));
  const int k = static_cast<int>(std::floor(std::log10(step) + 1e-9));
  const bool scientific = biggest >= 1e6 || (step < 1e-4 && biggest > 0);
  for (double t : ticks) {
    if (std::fabs(t) < step * 1e-9) t = 0;
    if (scientific) {
      const int digits = std::clamp(static_cast<int>(std::floor(std::log10(biggest))) - k, 0, 15);
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, t, std::chars_format::scientific, digits);
      out.emplace_back(buf, r.ptr);
    } else {
      out.push_back(Fixed(t, std::max(0, -k)));
    }
  }
  return out;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void Add(double v) {
    if (!std::isfinite(v)) return;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  bool Empty() const { return lo > hi; }
};

std::string Attr(std::string_view name, const std::string& value) {
  // Appends rather than operator+ chains: GCC 12 warns (-Wrestrict, a false positive) on those.
  std::string out;
  out.reserve(name.size() + value.size() + 4);
  out += ' ';
  out += name;
  out += "=\"";
  out += value;
  out += '"';
  return out;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when the bytes there are not one (overlong
// forms, surrogates and code points past U+10FFFF included).
std::size_t Utf8Length(std::string_view text, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned min_second = 0x80, max_second = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) min_second = 0xA0;  // overlong
    if (c == 0xED) max_second = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) min_second = 0x90;  // overlong
    if (c == 0xF4) max_second = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (b(i + 1) < min_second || b(i + 1) > max_second) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

}  // namespace

std::string FormatNumber(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string EscapeXml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    const std::size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: an XML reader refuses a file with invalid UTF-8
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    ++i;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids C0 controls other than tab, newline and carriage return, even as entities.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string Palette(std::size_t index) {
  static const char* const kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                        "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return kColors[index % 10];
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  target = std::max(target, 2);
  const double step = Nice(Nice(hi - lo, false) / (target - 1), true);
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  std::vector<double> ticks;
  // (first + i) * step, not repeated addition: no drift, and the same values on every machine.
  for (double i = first; i <= last + 0.5 && ticks.size() < 200; i += 1) ticks.push_back(i * step);
  if (ticks.size() < 2) ticks.push_back((last + 1) * step);
  return ticks;
}

std::string Render(const Chart& chart) {
  const double width = std::max(chart.width, 200), height = std::max(chart.height, 150);

  // Legend entries (first occurrence of each label, in series order).
  std::vector<std::pair<std::string, std::string>> legend;  // label, colour
  std::map<std::string, bool> seen;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    if (s.legend.empty() || seen[s.legend]) continue;
    seen[s.legend] = true;
    legend.emplace_back(s.legend, s.color.empty() ? Palette(i) : s.color);
  }
  constexpr std::size_t kMaxLegend = 20;

  const double left = 80, top = 44, bottom = 62, right = legend.empty() ? 24 : 210;
  const double plot_w = width - left - right, plot_h = height - top - bottom;

  Range xr, yr;
  for (const Series& s : chart.series) {
    for (const Point& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      xr.Add(p.x);
      yr.Add(p.y);
    }
    for (const ErrorBar& b : s.error_bars) {
      if (!std::isfinite(b.x) || !std::isfinite(b.low) || !std::isfinite(b.high)) continue;
      xr.Add(b.x);
      yr.Add(b.low);
      yr.Add(b.high);
    }
  }
  const bool no_data = yr.Empty();

  std::vector<Tick> xticks;
  double x0, x1;
  if (chart.x_ticks) {
    xticks = *chart.x_ticks;
    for (const Tick& t : xticks) xr.Add(t.value);
    if (xr.Empty()) xr = Range{0, 1};
    // Categories sit half a slot in from the edges.
    x0 = xr.lo - 0.5;
    x1 = xr.hi + 0.5;
  } else {
    std::vector<double> v = xr.Empty() ? std::vector<double>{0, 1} : NiceTicks(xr.lo, xr.hi);
    auto labels = TickLabels(v);
    for (std::size_t i = 0; i < v.size(); ++i) xticks.push_back({v[i], labels[i]});
    x0 = v.front();
    x1 = v.back();
  }
  std::vector<double> yv = yr.Empty() ? std::vector<double>{0, 1} : NiceTicks(yr.lo, yr.hi);
  const double y0 = yv.front(), y1 = yv.back();
  auto ylabels = TickLabels(yv);

  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) { return top + plot_h - (y - y0) / (y1 - y0) * plot_h; };

  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\"" + Attr("width", Px(width)) + Attr("height", Px(height)) +
       Attr("viewBox", "0 0 " + Px(width) + " " + Px(height)) + " font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<title>" + EscapeXml(chart.title) + "</title>\n";
  o += "<rect x=\"0\" y=\"0\"" + Attr("width", Px(width)) + Attr("height", Px(height)) + " fill=\"#ffffff\"/>\n";
  o += "<text" + Attr("x", Px(left + plot_w / 2)) + " y=\"24\" text-anchor=\"middle\" font-size=\"15\">" +
       EscapeXml(chart.title) + "</text>\n";

  // Grid and ticks. Categorical x labels are thinned so that they do not overlap.
  o += "<g class=\"grid\" stroke=\"#e6e6e6\" stroke-width=\"1\">\n";
  for (double y : yv) {
    o += "<line" + Attr("x1", Px(left)) + Attr("y1", Px(py(y))) + Attr("x2", Px(left + plot_w)) +
         Attr("y2", Px(py(y))) + "/>\n";
  }
  o += "</g>\n";
  o += "<g class=\"axes\" stroke=\"#333333\" stroke-width=\"1\" fill=\"none\">\n";
  o += "<rect" + Attr("x", Px(left)) + Attr("y", Px(top)) + Attr("width", Px(plot_w)) + Attr("height", Px(plot_h)) +
       "/>\n";
  for (double y : yv) {
    o += "<line" + Attr("x1", Px(left - 5)) + Attr("y1", Px(py(y))) + Attr("x2", Px(left)) + Attr("y2", Px(py(y))) +
         "/>\n";
  }
  for (const Tick& t : xticks) {
    o += "<line" + Attr("x1", Px(px(t.value))) + Attr("y1", Px(top + plot_h)) + Attr("x2", Px(px(t.value))) +
         Attr("y2", Px(top + plot_h + 5)) + "/>\n";
  }
  o += "</g>\n";
  o += "<g class=\"tick-labels\" fill=\"#333333\">\n";
  for (std::size_t i = 0; i < yv.size(); ++i) {
    o += "<text" + Attr("x", Px(left - 8)) + Attr("y", Px(py(yv[i]) + 4)) + " text-anchor=\"end\">" +
         EscapeXml(ylabels[i]) + "</text>\n";
  }
  const std::size_t every = std::max<std::size_t>(1, (xticks.size() * 40 + static_cast<std::size_t>(plot_w) - 1) /
                                                         std::max<std::size_t>(1, static_cast<std::size_t>(plot_w)));
  for (std::size_t i = 0; i < xticks.size(); i += every) {
    o += "<text" + Attr("x", Px(px(xticks[i].value))) + Attr("y", Px(top + plot_h + 19)) + " text-anchor=\"middle\">" +
         EscapeXml(xticks[i].label) + "</text>\n";
  }
  o += "</g>\n";
  o += "<text" + Attr("x", Px(left + plot_w / 2)) + Attr("y", Px(height - 16)) + " text-anchor=\"middle\">" +
       EscapeXml(chart.x_label) + "</text>\n";
  const std::string ylx = Px(20), yly = Px(top + plot_h / 2);
  o += "<text" + Attr("x", ylx) + Attr("y", yly) + Attr("transform", "rotate(-90 " + ylx + " " + yly + ")") +
       " text-anchor=\"middle\">" + EscapeXml(chart.y_label) + "</text>\n";
  if (no_data) {
    o += "<text" + Attr("x", Px(left + plot_w / 2)) + Attr("y", Px(top + plot_h / 2)) +
         " text-anchor=\"middle\" fill=\"#888888\">no data</text>\n";
  }

  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const Series& s = chart.series[i];
    const std::string color = s.color.empty() ? Palette(i) : s.color;
    std::string values;
    for (const Point& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      if (!values.empty()) values += ' ';
      values += FormatNumber(p.x) + "," + FormatNumber(p.y);
    }
    o += "<g class=\"series\"" + Attr("data-name", EscapeXml(s.name)) + Attr("data-values", values);
    if (s.opacity < 1) o += Attr("opacity", Fixed(std::clamp(s.opacity, 0.0, 1.0), 2));
    o += ">\n";
    if (!s.name.empty()) o += "<title>" + EscapeXml(s.name) + "</title>\n";
    if (s.line) {
      std::string d;
      bool pen_down = false;
      double last_y = 0;
      for (const Point& p : s.points) {
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) {
          pen_down = false;  // a gap: the line is broken here
          continue;
        }
        if (!pen_down) {
          d += (d.empty() ? "M" : " M") + Px(px(p.x)) + " " + Px(py(p.y));
        } else if (s.step) {
          d += " H" + Px(px(p.x));
          if (p.y != last_y) d += " V" + Px(py(p.y));
        } else {
          d += " L" + Px(px(p.x)) + " " + Px(py(p.y));
        }
        pen_down = true;
        last_y = p.y;
      }
      if (!d.empty()) {
        o += "<path" + Attr("d", d) + " fill=\"none\"" + Attr("stroke", color) + " stroke-width=\"1.8\"";
        if (s.dashed) o += " stroke-dasharray=\"5 3\"";
        o += "/>\n";
      }
    }
    for (const ErrorBar& b : s.error_bars) {
      if (!std::isfinite(b.x) || !std::isfinite(b.low) || !std::isfinite(b.high)) continue;
      const double x = px(b.x), lo = py(b.low), hi = py(b.high);
      o += "<path" +
           Attr("d", "M" + Px(x) + " " + Px(lo) + " V" + Px(hi) + " M" + Px(x - 5) + " " + Px(lo) + " H" + Px(x + 5) +
                         " M" + Px(x - 5) + " " + Px(hi) + " H" + Px(x + 5)) +
           " fill=\"none\"" + Attr("stroke", color) + " stroke-width=\"1.5\"/>\n";
    }
    // A line through one point draws nothing: show that point as a dot (a run pruned at its first step).
    const auto finite = std::count_if(s.points.begin(), s.points.end(),
                                      [](const Point& p) { return std::isfinite(p.x) && std::isfinite(p.y); });
    if (s.markers || (s.line && finite == 1)) {
      for (const Point& p : s.points) {
        if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
        o += "<circle" + Attr("cx", Px(px(p.x))) + Attr("cy", Px(py(p.y))) + " r=\"3\"" + Attr("fill", color) + "/>\n";
      }
    }
    o += "</g>\n";
  }

  if (!legend.empty()) {
    o += "<g class=\"legend\">\n";
    const double lx = left + plot_w + 16;
    for (std::size_t i = 0; i < legend.size() && i <= kMaxLegend; ++i) {
      const double ly = top + 8 + 18 * static_cast<double>(i);
      if (i == kMaxLegend) {
        o += "<text" + Attr("x", Px(lx)) + Attr("y", Px(ly + 4)) + " fill=\"#555555\">... " +
             std::to_string(legend.size() - kMaxLegend) + " more</text>\n";
        break;
      }
      o += "<line" + Attr("x1", Px(lx)) + Attr("y1", Px(ly)) + Attr("x2", Px(lx + 18)) + Attr("y2", Px(ly)) +
           Attr("stroke", legend[i].second) + " stroke-width=\"3\"/>\n";
      o += "<text" + Attr("x", Px(lx + 24)) + Attr("y", Px(ly + 4)) + ">" + EscapeXml(legend[i].first) + "</text>\n";
    }
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace dsx::autolab::svg
