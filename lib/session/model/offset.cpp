#include "session/model/offset.hpp"

#include <cstdio>

namespace dsx::session {
namespace {

constexpr std::uint64_t kMaxSafeInteger = (std::uint64_t{1} << 53) - 1;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Saturating decimal parse of an all-digit string.
std::uint64_t DigitsValue(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s) {
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (kOffsetBeyond - d) / 10) return kOffsetBeyond;
    v = v * 10 + d;
  }
  return v;
}

}  // namespace

std::string FormatOffset(std::uint64_t position) {
  char buf[48];
  const int n = std::snprintf(buf, sizeof buf, "%016llu_%016llu", 0ULL,
                              static_cast<unsigned long long>(position));
  return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::uint64_t> ParseConcreteOffset(std::string_view text) {
  const auto us = text.find('_');
  if (us == std::string_view::npos) return std::nullopt;
  const std::string_view seq = text.substr(0, us);
  const std::string_view pos = text.substr(us + 1);
  if (!AllDigits(seq) || !AllDigits(pos)) return std::nullopt;
  if (DigitsValue(seq) != 0) return kOffsetBeyond;
  return DigitsValue(pos);
}

std::optional<OffsetParam> ParseOffset(std::string_view text) {
  if (text == "-1") return OffsetParam{OffsetParam::Kind::kStart, 0};
  if (text == "now") return OffsetParam{OffsetParam::Kind::kNow, 0};
  auto pos = ParseConcreteOffset(text);
  if (!pos) return std::nullopt;
  return OffsetParam{OffsetParam::Kind::kAt, *pos};
}

std::optional<std::uint64_t> ParseStrictUint(std::string_view text) {
  if (!AllDigits(text)) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  if (text.size() > 16) return std::nullopt;
  const std::uint64_t v = DigitsValue(text);
  if (v > kMaxSafeInteger) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> ParseDigits(std::string_view text) {
  if (!AllDigits(text)) return std::nullopt;
  std::size_t i = 0;
  while (i + 1 < text.size() && text[i] == '0') ++i;
  text = text.substr(i);
  if (text.size() > 16) return std::nullopt;
  const std::uint64_t v = DigitsValue(text);
  if (v > kMaxSafeInteger) return std::nullopt;
  return v;
}

}  // namespace dsx::session
