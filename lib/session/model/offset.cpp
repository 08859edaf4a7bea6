#include "session/model/offset.hpp"

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
  // "0000000000000000_" then the position in 16 digits (more if it ever exceeds 10^16).
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + position % 10);
    position /= 10;
  } while (position != 0);
  std::string out(17 + static_cast<std::size_t>(n < 16 ? 16 : n), '0');
  out[16] = '_';
  for (int i = 0; i < n; ++i) out[out.size() - 1 - static_cast<std::size_t>(i)] = digits[i];
  return out;
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
