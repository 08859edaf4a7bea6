// Tokenizer and quantity readers for the fine-tuning request parser (see spec_lexer.hpp).
#include "finetune/spec_lexer.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <string>

namespace dsx::finetune {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool IsRepoPart(std::string_view p) {
  if (p.empty() || p.size() > 96) return false;
  for (char c : p) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return p.front() != '-' && p.front() != '.' && p.back() != '-' && p.back() != '.';
}

Token MakeToken(std::string raw) {
  Token t;
  t.lower = Lower(raw);
  t.raw = std::move(raw);
  size_t start = 0;
  for (size_t i = 0; i <= t.lower.size(); ++i) {
    if (i == t.lower.size() || t.lower[i] == '-') {
      if (i > start) t.words.push_back(t.lower.substr(start, i - start));
      start = i + 1;
    }
  }
  if (t.words.empty()) t.words.push_back(t.lower);
  return t;
}

// A number in scientific notation keeps its '-' ("1e-4"); so does anything with a '/' or a URL.
bool KeepWhole(std::string_view w) { return w.find('/') != std::string_view::npos || StartsWith(w, "http"); }

// Splits one white-space word at '=' / ':' (kept as "=") and, outside ids, at '_'.
void Emit(std::string_view w, std::vector<Token>& out) {
  // "--max_steps" (flag spelling) reads as "max steps"; "-1" keeps its sign.
  while (w.size() > 1 && w[0] == '-' && !std::isdigit(static_cast<unsigned char>(w[1])) && w[1] != '.')
    w.remove_prefix(1);
  if (w.empty()) return;
  std::string lw = Lower(w);
  if (lw == "w/") return out.push_back(MakeToken("with"));
  if (lw == "w/o") return out.push_back(MakeToken("without"));
  if (!StartsWith(lw, "http") && lw.find('[') == std::string::npos) {
    size_t eq = w.find_first_of("=:");
    if (eq != std::string_view::npos) {
      Emit(w.substr(0, eq), out);
      out.push_back(MakeToken("="));
      Emit(w.substr(eq + 1), out);
      return;
    }
  }
  if (!KeepWhole(w) && w.find('_') != std::string_view::npos) {
    size_t start = 0;
    for (size_t i = 0; i <= w.size(); ++i) {
      if (i == w.size() || w[i] == '_') {
        if (i > start) out.push_back(MakeToken(std::string(w.substr(start, i - start))));
        start = i + 1;
      }
    }
    return;
  }
  out.push_back(MakeToken(std::string(w)));
}

}  // namespace

std::vector<Token> Tokenize(std::string_view text) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view w = text.substr(start, i - start);
    // Quotes and brackets around a word, sentence punctuation after it. A trailing '.' is
    // punctuation ("trl-lib/Capybara."), never part of a number or an id.
    while (!w.empty() && std::string_view("\"'`([{<").find(w.front()) != std::string_view::npos) w.remove_prefix(1);
    bool pause = false;
    while (!w.empty() && std::string_view("\"'`)]}>.,;!?").find(w.back()) != std::string_view::npos) {
      // A split slice keeps its bracket: "train[:10%]".
      if (w.back() == ']' && w.find('[') != std::string_view::npos && w.front() != '[') break;
      pause = pause || std::string_view(".,;!?").find(w.back()) != std::string_view::npos;
      w.remove_suffix(1);
    }
    const size_t before = out.size();
    // "lr:" / "steps=" followed by a space still mark a value.
    if (!w.empty() && (w.back() == ':' || w.back() == '=') && w.size() > 1 && !StartsWith(w, "http")) {
      Emit(w.substr(0, w.size() - 1), out);
      if (w.back() == ':' && out.size() > before) out.back().pause = true;
      out.push_back(MakeToken("="));
      continue;
    }
    if (w == "=" || w == ":") {
      out.push_back(MakeToken("="));
      continue;
    }
    Emit(w, out);
    if (pause && out.size() > before) out.back().pause = true;
  }
  return out;
}

std::optional<HubRef> ParseHubRef(std::string_view raw) {
  HubRef ref;
  std::string_view s = raw;
  for (std::string_view prefix :
       {"https://huggingface.co/", "http://huggingface.co/", "https://hf.co/", "hf.co/", "huggingface.co/", "hf://"}) {
    if (StartsWith(s, prefix)) {
      s.remove_prefix(prefix.size());
      break;
    }
  }
  if (StartsWith(s, "datasets/")) {
    s.remove_prefix(9);
    ref.is_dataset = true;
  }
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  size_t slash = s.find('/');
  if (slash == std::string_view::npos || s.find('/', slash + 1) != std::string_view::npos) return std::nullopt;
  if (!IsRepoPart(s.substr(0, slash)) || !IsRepoPart(s.substr(slash + 1))) return std::nullopt;
  // "1/2" is a fraction, not a repository.
  bool letter = false;
  for (char c : s) letter = letter || std::isalpha(static_cast<unsigned char>(c));
  if (!letter) return std::nullopt;
  ref.id = std::string(s);
  return ref;
}

std::optional<double> ParseQuantity(std::string_view s, double k, bool allow_m) {
  if (s.empty()) return std::nullopt;
  double mult = 1;
  char last = s.back();
  if (last == 'k') mult = k, s.remove_suffix(1);
  else if (last == 'm' && allow_m) mult = 1e6, s.remove_suffix(1);
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.' || s.front() == '-'))
    return std::nullopt;
  // "2,000" and "1,000,000.5": commas only as thousands separators, in groups of three.
  std::string digits;
  if (s.find(',') != std::string_view::npos) {
    size_t start = 0, part = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
      if (i < s.size() && s[i] != ',') continue;
      std::string_view g = s.substr(start, i - start);
      bool last = i == s.size();
      std::string_view whole = last ? g.substr(0, g.find('.')) : g;
      bool ok = part == 0 ? (!whole.empty() && whole.size() <= 3) : whole.size() == 3;
      for (char c : whole) ok = ok && std::isdigit(static_cast<unsigned char>(c));
      if (!ok || (!last && g.find('.') != std::string_view::npos)) return std::nullopt;
      digits += g;
      start = i + 1;
      ++part;
    }
  } else {
    digits = std::string(s);
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(digits.c_str(), &end);
  if (errno != 0 || end != digits.c_str() + digits.size() || !std::isfinite(v)) return std::nullopt;
  // strtod also reads "0x10", "inf" and "nan": only plain decimal spellings count.
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.' && c != 'e' && c != '-' && c != '+')
      return std::nullopt;
  }
  return v * mult;
}

std::optional<double> WordNumber(std::string_view s) {
  static const char* kWords[] = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"};
  for (int i = 0; i < 10; ++i) {
    if (s == kWords[i]) return i + 1;
  }
  if (s == "single") return 1;
  return std::nullopt;
}

bool IsMoneyUnit(std::string_view s) {
  return s == "dollars" || s == "dollar" || s == "usd" || s == "bucks" || s == "$";
}

std::optional<double> ParseMoneyToken(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  if (s.front() == '$') s.remove_prefix(1);
  else if (s.back() == '$') s.remove_suffix(1);
  else if (s.size() > 3 && s.substr(s.size() - 3) == "usd") s.remove_suffix(3);
  else return std::nullopt;
  return ParseQuantity(s, 1000, false);
}

std::optional<std::int64_t> DurationUnit(std::string_view s) {
  if (s == "h" || s == "hr" || s == "hrs" || s == "hour" || s == "hours") return 3600;
  if (s == "m" || s == "min" || s == "mins" || s == "minute" || s == "minutes") return 60;
  if (s == "s" || s == "sec" || s == "secs" || s == "second" || s == "seconds") return 1;
  if (s == "d" || s == "day" || s == "days") return 86400;
  return std::nullopt;
}

std::optional<std::int64_t> ParseDurationToken(std::string_view s) {
  // One or more <number><unit> groups: "3h", "1h30m", "1.5h", "90min".
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t num_start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == num_start) return std::nullopt;
    size_t unit_start = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    auto unit = DurationUnit(s.substr(unit_start, i - unit_start));
    auto num = ParseQuantity(s.substr(num_start, unit_start - num_start), 1000, false);
    if (!unit || !num) return std::nullopt;
    total += *num * static_cast<double>(*unit);
    any = true;
  }
  if (!any || !(total < 1e15)) return std::nullopt;  // beyond any job; llround would overflow
  return static_cast<std::int64_t>(std::llround(total));
}

int EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[n][m];
}

}  // namespace dsx::finetune
