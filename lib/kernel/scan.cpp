#include "kernel/scan.hpp"

#include <regex>
#include <set>

#include "core/fs.hpp"

namespace dsx::kernel {

namespace {

// The comment/literal state machine; literals are blanked only when `blank_literals`.
std::string Strip(std::string_view s, bool blank_literals) {
  std::string out(s);
  enum { kCode, kLine, kBlock, kStr, kChar } st = kCode;
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i], n = i + 1 < out.size() ? out[i + 1] : '\0';
    switch (st) {
      case kCode:
        if (c == '/' && n == '/') {
          st = kLine;
          out[i] = ' ';
        } else if (c == '/' && n == '*') {
          st = kBlock;
          out[i] = ' ';
          out[i + 1] = ' ';
          ++i;
        } else if (c == '"') st = kStr;
        else if (c == '\'') st = kChar;
        break;
      case kLine:
        if (c == '\n') st = kCode;
        else out[i] = ' ';
        break;
      case kBlock:
        if (c == '*' && n == '/') {
          out[i] = ' ';
          out[i + 1] = ' ';
          ++i;
          st = kCode;
        } else if (c != '\n') out[i] = ' ';
        break;
      case kStr:
      case kChar:
        if (c == '\\') {
          if (blank_literals) out[i] = ' ';
          if (i + 1 < out.size() && out[i + 1] != '\n') {
            ++i;
            if (blank_literals) out[i] = ' ';
          }
        } else if ((st == kStr && c == '"') || (st == kChar && c == '\'')) {
          st = kCode;
        } else if (c != '\n' && blank_literals) {
          out[i] = ' ';
        }
        break;
    }
  }
  return out;
}

}  // namespace

std::string StripCommentsAndStrings(std::string_view s) { return Strip(s, true); }

namespace {

int LineOf(const std::string& s, size_t pos) {
  int line = 1;
  for (size_t i = 0; i < pos && i < s.size(); ++i) line += s[i] == '\n';
  return line;
}

// Brace depth at each position (0 = file scope), counting only braces in code.
std::vector<int> Depths(const std::string& s) {
  std::vector<int> d(s.size() + 1, 0);
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    d[i] = depth;
    if (s[i] == '{') ++depth;
    else if (s[i] == '}' && depth > 0) --depth;
  }
  d[s.size()] = depth;
  return d;
}

// Timer registers live inside inline-PTX strings, which StripCommentsAndStrings blanks, so they
// are searched in the source with comments removed but strings kept.
std::string StripCommentsOnly(std::string_view s) { return Strip(s, false); }

}  // namespace

namespace {

void ScanHeaders(std::string_view text, const std::filesystem::path& dir, std::set<std::string>& seen, int depth,
                 std::vector<ScanFinding>& out) {
  static const std::regex kInclude(R"re(^\s*#\s*include\s*"([^"]+)")re", std::regex::ECMAScript | std::regex::multiline);
  if (depth > 16) return;
  const std::string s(text);
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kInclude, std::regex_constants::match_not_null);
       it != std::sregex_iterator(); ++it) {
    const std::filesystem::path p = dir / (*it)[1].str();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) continue;  // NVRTC's own headers, or a compile error later
    const std::string canon = std::filesystem::weakly_canonical(p, ec).string();
    if (!seen.insert(canon).second) continue;
    auto body = dsx::fs::ReadFile(p);
    if (!body.ok()) continue;
    for (ScanFinding f : ScanSource(*body)) {
      f.message = "in " + (*it)[1].str() + ": " + f.message;
      out.push_back(std::move(f));
    }
    ScanHeaders(*body, p.parent_path(), seen, depth + 1, out);
  }
}

}  // namespace

std::vector<ScanFinding> ScanSourceAndHeaders(std::string_view source, const std::filesystem::path& dir) {
  std::vector<ScanFinding> out = ScanSource(source);
  std::set<std::string> seen;
  ScanHeaders(source, dir, seen, 0, out);
  return out;
}

std::vector<ScanFinding> ScanSource(std::string_view source) {
  std::vector<ScanFinding> out;
  const std::string code = StripCommentsAndStrings(source);
  const std::string with_strings = StripCommentsOnly(source);
  const std::vector<int> depth = Depths(code);

  auto each = [&](const std::string& text, const std::regex& re, auto&& fn) {
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
      fn(*it, static_cast<size_t>(it->position(0)));
  };

  static const std::regex kClock(R"(\b(clock64|clock|__clock64|__globaltimer)\s*\()");
  each(code, kClock, [&](const std::smatch& m, size_t pos) {
    out.push_back({"clock", "reject", LineOf(code, pos),
                   "reads a clock ('" + m[1].str() + "()'): a kernel must not depend on time"});
  });
  static const std::regex kTimerReg(R"(%(globaltimer|globaltimer_lo|globaltimer_hi|clock64|clock)\b)");
  each(with_strings, kTimerReg, [&](const std::smatch& m, size_t pos) {
    out.push_back(
        {"clock", "reject", LineOf(with_strings, pos), "reads the '%" + m[1].str() + "' timer register in inline PTX"});
  });

  static const std::regex kSide(
      R"((<<<)|\b(cudaStream\w*|cudaLaunch\w*|cudaGraph\w*|cudaMalloc\w*|cudaMemcpy\w*|cudaMemset\w*|cudaDeviceSynchronize|cudaEvent\w*|cuLaunch\w*|cuStream\w*)\b)");
  each(code, kSide, [&](const std::smatch& m, size_t pos) {
    std::string what = m[1].matched ? "a device-side launch '<<<'" : "'" + m[2].str() + "'";
    out.push_back({"side-work", "reject", LineOf(code, pos),
                   "uses " + what + ": work on other streams or launches outside the timed kernel is not allowed"});
  });

  // File-scope variables: __device__/__managed__ followed by a declaration with no '(' before ';'.
  static const std::regex kGlobal(R"(\b(__device__|__managed__)\b([^;{}()]*);)");
  each(code, kGlobal, [&](const std::smatch& m, size_t pos) {
    if (depth[pos] != 0) return;
    std::string decl = m[2].str();
    if (decl.find("__constant__") != std::string::npos) return;  // read-only from the device
    static const std::regex kName(R"(([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*(=.*)?$)");
    std::smatch nm;
    std::string name = std::regex_search(decl, nm, kName) ? nm[1].str() : "?";
    out.push_back({"device-global", "reject", LineOf(code, pos),
                   "file-scope " + m[1].str() + " variable '" + name +
                       "' keeps state across calls (result caching or replay); use a scratch parameter"});
  });

  static const std::regex kStaticLocal(
      R"(\bstatic\s+(?!constexpr\b|const\b|__shared__\b|__device__\b|__host__\b|__forceinline__\b|inline\b|__global__\b|void\b|_Pragma\b)[A-Za-z_][\w:<>,\s\*&]*?\b([A-Za-z_]\w*)\s*(\[[^\]]*\]\s*)*(=[^;()]*)?;)");
  each(code, kStaticLocal, [&](const std::smatch& m, size_t pos) {
    if (depth[pos] == 0) return;
    out.push_back({"static-local", "reject", LineOf(code, pos),
                   "static variable '" + m[1].str() + "' inside a function keeps state across calls"});
  });

  static const std::regex kSleep(R"(\b__nanosleep\s*\()");
  each(code, kSleep, [&](const std::smatch&, size_t pos) {
    out.push_back({"spin-wait", "warn", LineOf(code, pos), "__nanosleep distorts timing"});
  });
  return out;
}

bool HasReject(const std::vector<ScanFinding>& f) {
  for (const auto& x : f)
    if (x.severity == "reject") return true;
  return false;
}

nlohmann::json FindingsToJson(const std::vector<ScanFinding>& f) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& x : f)
    a.push_back({{"rule", x.rule}, {"severity", x.severity}, {"line", x.line}, {"message", x.message}});
  return a;
}

}  // namespace dsx::kernel
