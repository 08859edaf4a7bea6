// svg_plot.hpp: nice ticks, XML escaping, round-trip numbers, and rendered charts that are
// well-formed XML (checked by a small tag-balancing parser below), hold the plotted values, keep
// every mark inside the plot area, skip non-finite points, and render byte-identically twice.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "autolab/svg_plot.hpp"

using namespace dsx::autolab::svg;

namespace dsx_test_svg {

// A minimal XML well-formedness check, enough for what Render writes: every element closed in
// order, attribute values quoted, '<' never in text, '&' only as one of the five entities, one root
// <svg>. Returns "" when well-formed, else what is wrong. Also used by report_test.cpp (the same
// unit_autolab binary).
std::string XmlProblem(const std::string& doc) {
  std::vector<std::string> stack;
  int roots = 0;
  std::size_t i = 0;
  auto entity_ok = [&](std::size_t at) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"}) {
      if (doc.compare(at, std::string(e).size(), e) == 0) return true;
    }
    return false;
  };
  while (i < doc.size()) {
    const char c = doc[i];
    if (c == '&' && !entity_ok(i)) return "bare '&' at " + std::to_string(i);
    if (c != '<') {
      if (stack.empty() && !std::isspace(static_cast<unsigned char>(c))) return "text outside the root";
      ++i;
      continue;
    }
    const bool closing = i + 1 < doc.size() && doc[i + 1] == '/';
    std::size_t j = i + (closing ? 2 : 1);
    std::size_t name_start = j;
    while (j < doc.size() && (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == '-' || doc[j] == ':')) ++j;
    const std::string name = doc.substr(name_start, j - name_start);
    if (name.empty()) return "a tag without a name at " + std::to_string(i);
    // Attributes: name="value" pairs up to '>' or '/>'.
    bool self_closing = false;
    while (true) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j >= doc.size()) return "unterminated tag <" + name;
      if (doc[j] == '>') break;
      if (doc[j] == '/' && j + 1 < doc.size() && doc[j + 1] == '>') {
        self_closing = true;
        ++j;
        break;
      }
      if (closing) return "attributes on a closing tag </" + name;
      std::size_t a = j;
      while (j < doc.size() && doc[j] != '=' && !std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j == a || j >= doc.size() || doc[j] != '=') return "attribute without a value in <" + name;
      ++j;
      if (j >= doc.size() || doc[j] != '"') return "unquoted attribute in <" + name;
      std::size_t end = doc.find('"', j + 1);
      if (end == std::string::npos) return "unterminated attribute in <" + name;
      for (std::size_t k = j + 1; k < end; ++k) {
        if (doc[k] == '<') return "'<' in an attribute of <" + name;
        if (doc[k] == '&' && !entity_ok(k)) return "bare '&' in an attribute of <" + name;
      }
      j = end + 1;
    }
    if (closing) {
      if (stack.empty() || stack.back() != name) return "</" + name + "> closes nothing open";
      stack.pop_back();
    } else if (!self_closing) {
      if (stack.empty()) ++roots;
      stack.push_back(name);
    } else if (stack.empty()) {
      ++roots;
    }
    i = j + 1;
  }
  if (!stack.empty()) return "<" + stack.back() + "> never closed";
  if (roots != 1) return std::to_string(roots) + " root elements";
  if (doc.rfind("<svg", 0) != 0) return "does not start with <svg";
  return "";
}

}  // namespace dsx_test_svg

namespace {

using dsx_test_svg::XmlProblem;

// Every value of `attr` on elements named `tag`, as numbers.
std::vector<double> AttrValues(const std::string& doc, const std::string& tag, const std::string& attr) {
  std::vector<double> out;
  std::regex el("<" + tag + "\\b[^>]*\\b" + attr + "=\"([-0-9.]+)\"");
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), el); it != std::sregex_iterator(); ++it) {
    out.push_back(std::strtod((*it)[1].str().c_str(), nullptr));
  }
  return out;
}

int Count(const std::string& doc, const std::string& needle) {
  int n = 0;
  for (std::size_t p = doc.find(needle); p != std::string::npos; p = doc.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the XML checker itself rejects what it must") {
  CHECK(XmlProblem("<svg><g></g></svg>") == "");
  CHECK(XmlProblem("<svg a=\"1\"><path d=\"M0 0\"/></svg>\n") == "");
  CHECK(XmlProblem("<svg><g></svg>") != "");
  CHECK(XmlProblem("<svg><g></g>") != "");
  CHECK(XmlProblem("<svg a=1></svg>") != "");
  CHECK(XmlProblem("<svg>a & b</svg>") != "");
  CHECK(XmlProblem("<svg></svg><svg></svg>") != "");
  CHECK(XmlProblem("<svg><text>a &lt; b</text></svg>") == "");
}

TEST_CASE("NiceTicks: round steps covering the range") {
  auto t = NiceTicks(0, 1);
  REQUIRE(t.size() == 6);
  CHECK(t.front() == 0);
  CHECK(t.back() == doctest::Approx(1));
  CHECK(t[1] == doctest::Approx(0.2));

  t = NiceTicks(0.13, 0.87);
  CHECK(t.front() <= 0.13);
  CHECK(t.back() >= 0.87);
  const double step = t[1] - t[0];
  for (std::size_t i = 1; i < t.size(); ++i) CHECK(t[i] - t[i - 1] == doctest::Approx(step));
  // 1, 2 or 5 times a power of ten.
  const double mant = step / std::pow(10, std::floor(std::log10(step) + 1e-9));
  CHECK((std::fabs(mant - 1) < 1e-9 || std::fabs(mant - 2) < 1e-9 || std::fabs(mant - 5) < 1e-9));

  t = NiceTicks(5, 5);  // one value: a range around it, not a zero-width axis
  CHECK(t.front() < 5);
  CHECK(t.back() > 5);
  t = NiceTicks(0, 0);
  CHECK(t.front() < 0);
  CHECK(t.back() > 0);
  t = NiceTicks(-1234.5, 98765.4);
  CHECK(t.front() <= -1234.5);
  CHECK(t.back() >= 98765.4);
  CHECK(t.size() <= 12);
  t = NiceTicks(std::nan(""), 1);
  CHECK(t.size() >= 2);
}

TEST_CASE("EscapeXml and FormatNumber") {
  CHECK(EscapeXml("a<b & 'c' \"d\">") == "a&lt;b &amp; &apos;c&apos; &quot;d&quot;&gt;");
  CHECK(EscapeXml(std::string("x\x01y\tz")) == "x?y\tz");  // C0 controls are invalid XML 1.0
  // Invalid UTF-8 (a stray byte, a truncated sequence, an overlong form, a surrogate) becomes U+FFFD;
  // valid multi-byte characters pass through.
  CHECK(EscapeXml("caf\xc3\xa9 \xe2\x88\x9e") == "caf\xc3\xa9 \xe2\x88\x9e");
  CHECK(EscapeXml("a\xff") == "a\xef\xbf\xbd");
  CHECK(EscapeXml("\xc3") == "\xef\xbf\xbd");
  CHECK(EscapeXml("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(EscapeXml("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  CHECK(EscapeXml("\xf0\x9f\x98\x80<") == "\xf0\x9f\x98\x80&lt;");
  CHECK(FormatNumber(0.1) == "0.1");
  CHECK(FormatNumber(2) == "2");
  const double tricky = 0.1 + 0.2;
  CHECK(std::strtod(FormatNumber(tricky).c_str(), nullptr) == tricky);
  CHECK(std::strtod(FormatNumber(1e-300).c_str(), nullptr) == 1e-300);
}

TEST_CASE("Render: a well-formed chart that holds its points, deterministically") {
  Chart c;
  c.title = "loss <per> run & seed";
  c.x_label = "step";
  c.y_label = "val_loss";
  Series line;
  line.name = "e-1";
  line.legend = "lr=0.1 \"fast\"";
  line.points = {{1, 0.9}, {2, 0.5}, {3, std::nan("")}, {4, 0.25}};
  line.markers = true;
  Series best;
  best.name = "best";
  best.legend = "best so far";
  best.step = true;
  best.points = {{1, 0.9}, {2, 0.5}, {4, 0.25}};
  best.error_bars = {{2, 0.4, 0.6}, {4, -std::numeric_limits<double>::infinity(), 1}};
  c.series = {line, best};

  const std::string doc = Render(c);
  CHECK(XmlProblem(doc) == "");
  CHECK(doc.find("loss &lt;per&gt; run &amp; seed") != std::string::npos);
  CHECK(doc.find("lr=0.1 &quot;fast&quot;") != std::string::npos);
  // The data values, NaN left out, in order.
  CHECK(doc.find("data-values=\"1,0.9 2,0.5 4,0.25\"") != std::string::npos);
  CHECK(Count(doc, "<circle") == 3);  // markers on the finite points of the first series only
  // A NaN breaks the line: a second move-to in the first path.
  CHECK(doc.find("nan") == std::string::npos);
  CHECK(doc.find("inf") == std::string::npos);
  std::smatch m;
  REQUIRE(std::regex_search(doc, m, std::regex("<path d=\"(M[^\"]*)\" fill=\"none\" stroke=\"#4e79a7\"")));
  CHECK(Count(m[1].str(), "M") == 2);
  // The step series goes horizontally then vertically.
  REQUIRE(std::regex_search(doc, m,
                            std::regex("<path d=\"(M[^\"]*)\" fill=\"none\" stroke=\"#f28e2b\" stroke-width=\"1.8\"")));
  CHECK(m[1].str().find(" H") != std::string::npos);
  CHECK(m[1].str().find(" V") != std::string::npos);
  CHECK(m[1].str().find(" L") == std::string::npos);
  // One error bar drawn (the one with an infinite end is skipped): a path with two caps.
  CHECK(Count(doc, "stroke-width=\"1.5\"") == 1);

  // Every marker inside the plot area (left 80, top 44, legend 210 on the right, bottom 62).
  for (double cx : AttrValues(doc, "circle", "cx")) {
    CHECK(cx >= 80);
    CHECK(cx <= c.width - 210);
  }
  for (double cy : AttrValues(doc, "circle", "cy")) {
    CHECK(cy >= 44);
    CHECK(cy <= c.height - 62);
  }
  // Higher values are drawn higher: y = 0.9 above y = 0.25.
  auto cys = AttrValues(doc, "circle", "cy");
  REQUIRE(cys.size() == 3);
  CHECK(cys[0] < cys[1]);
  CHECK(cys[1] < cys[2]);

  CHECK(Render(c) == doc);  // same chart, same bytes
}

TEST_CASE("Render: categorical ticks, thinned labels, empty and degenerate charts") {
  Chart c;
  c.title = "per configuration";
  std::vector<Tick> ticks;
  Series s;
  s.line = false;
  s.markers = true;
  for (int i = 1; i <= 60; ++i) {
    ticks.push_back({double(i), std::to_string(i)});
    s.points.push_back({double(i), 1.0 / i});
  }
  c.x_ticks = ticks;
  c.series = {s};
  std::string doc = Render(c);
  CHECK(XmlProblem(doc) == "");
  CHECK(Count(doc, "<circle") == 60);
  // 60 labels cannot fit in ~650 px without overlapping: fewer are written, "1" always.
  const int labels = Count(doc, "text-anchor=\"middle\">");
  CHECK(labels < 60);
  CHECK(doc.find(">1</text>") != std::string::npos);
  // The first and last categories are half a slot in from the edges.
  auto cx = AttrValues(doc, "circle", "cx");
  CHECK(cx.front() > 80);
  CHECK(cx.back() < c.width - 24);

  Chart empty;
  empty.title = "nothing";
  doc = Render(empty);
  CHECK(XmlProblem(doc) == "");
  CHECK(doc.find(">no data</text>") != std::string::npos);

  Chart one;  // a line through a single point is drawn as a dot, not as nothing
  Series single;
  single.points = {{5, 1.5}};
  one.series = {single};
  doc = Render(one);
  CHECK(XmlProblem(doc) == "");
  CHECK(Count(doc, "<circle") == 1);

  Chart flat;  // every value equal: the axis still has a range
  Series f;
  f.points = {{0, 3}, {1, 3}};
  flat.series = {f};
  doc = Render(flat);
  CHECK(XmlProblem(doc) == "");
  CHECK(doc.find("nan") == std::string::npos);
  CHECK(doc.find("no data") == std::string::npos);
}

TEST_CASE("Render: the legend lists each label once and says how many more") {
  Chart c;
  for (int i = 0; i < 25; ++i) {
    Series s;
    s.legend = "cfg " + std::to_string(i / 1);
    s.points = {{0, double(i)}, {1, double(i + 1)}};
    c.series.push_back(s);
    Series repeat = s;  // a second series with the same label: no second entry
    c.series.push_back(repeat);
  }
  const std::string doc = Render(c);
  CHECK(XmlProblem(doc) == "");
  CHECK(Count(doc, ">cfg 3</text>") == 1);
  CHECK(doc.find("... 5 more") != std::string::npos);
  CHECK(doc.find(">cfg 24</text>") == std::string::npos);
}
