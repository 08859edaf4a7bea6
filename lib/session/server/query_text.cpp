#include "session/server/query_text.hpp"

namespace dsx::session::server {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::string_view kTokenKey = "access_token";

// Calls fn(key_begin, key_end, value_begin, value_end) per parameter, offsets into target;
// value_begin == value_end == npos when there is no '='.
template <class Fn>
void ForEachParam(std::string_view target, Fn&& fn) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return;
  std::size_t pos = q + 1;
  while (pos < target.size()) {
    std::size_t amp = target.find('&', pos);
    if (amp == std::string_view::npos) amp = target.size();
    const std::string_view part = target.substr(pos, amp - pos);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) {
      fn(part, std::string_view::npos, std::string_view::npos);
    } else {
      fn(part.substr(0, eq), pos + eq + 1, amp);
    }
    pos = amp + 1;
  }
}

}  // namespace

std::string DecodeQueryComponent(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

std::optional<std::string> QueryValue(std::string_view target, std::string_view key) {
  std::optional<std::string> found;
  ForEachParam(target, [&](std::string_view k, std::size_t vb, std::size_t ve) {
    if (DecodeQueryComponent(k) != key) return;
    found = vb == std::string_view::npos ? std::string() : DecodeQueryComponent(target.substr(vb, ve - vb));
  });
  return found;
}

std::string RedactTarget(std::string_view target) {
  std::string out;
  std::size_t copied = 0;  // target[0, copied) is in out
  ForEachParam(target, [&](std::string_view k, std::size_t vb, std::size_t ve) {
    if (vb == std::string_view::npos || DecodeQueryComponent(k) != kTokenKey) return;
    out.append(target.substr(copied, vb - copied));
    out += "REDACTED";
    copied = ve;
  });
  out.append(target.substr(copied));
  return out;
}

}  // namespace dsx::session::server
