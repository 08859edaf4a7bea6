#include "session/model/protocol_values.hpp"

#include <chrono>
#include <random>

namespace dsx::session {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool Num(std::string_view s, std::size_t pos, std::size_t len, int* out) {
  if (pos + len > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

constexpr std::int64_t kCursorEpochMs = 1728432000000;  // 2024-10-09T00:00:00Z
constexpr std::int64_t kCursorIntervalMs = 20000;

}  // namespace

std::string NormalizeContentType(std::string_view content_type) {
  const auto semi = content_type.find(';');
  if (semi != std::string_view::npos) content_type = content_type.substr(0, semi);
  content_type = Trim(content_type);
  std::string out(content_type);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsJsonContentType(std::string_view content_type) {
  return NormalizeContentType(content_type) == "application/json";
}

bool SseNeedsBase64(std::string_view content_type) {
  const std::string n = NormalizeContentType(content_type);
  return !(n.rfind("text/", 0) == 0 || n == "application/json");
}

std::optional<std::int64_t> ParseRfc3339Ms(std::string_view s) {
  int year, mon, day, hour, min, sec;
  if (!Num(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !Num(s, 5, 2, &mon) || s[7] != '-' ||
      !Num(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !Num(s, 11, 2, &hour) || s[13] != ':' ||
      !Num(s, 14, 2, &min) || s[16] != ':' || !Num(s, 17, 2, &sec)) {
    return std::nullopt;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) {
    return std::nullopt;
  }
  std::size_t i = 19;
  std::int64_t ms = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const std::size_t start = i;
    int scale = 100;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ms += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  std::int64_t offset_min = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!Num(s, i + 1, 2, &oh) || i + 3 >= s.size() || s[i + 3] != ':' || !Num(s, i + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return std::nullopt;
    }
    offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - offset_min * 60;
  return secs * 1000 + ms;
}

std::uint64_t NextCursor(std::int64_t now_ms, std::optional<std::uint64_t> client_cursor) {
  const std::int64_t since = now_ms > kCursorEpochMs ? now_ms - kCursorEpochMs : 0;
  const auto interval = static_cast<std::uint64_t>(since / kCursorIntervalMs);
  if (!client_cursor || *client_cursor < interval) return interval;
  thread_local std::minstd_rand rng{std::random_device{}()};
  // Jitter of 1..3600 s expressed in intervals, at least one interval.
  const std::uint64_t jitter_s = 1 + rng() % 3600;
  const std::uint64_t jitter = std::max<std::uint64_t>(1, (jitter_s + 19) / 20);
  return *client_cursor + jitter;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

}  // namespace dsx::session
