#include "session/auth/rights.hpp"

#include <algorithm>

namespace dsx::session::auth {
namespace {

constexpr std::pair<Right, const char*> kNames[] = {
    {Right::kRead, "read"},
    {Right::kAppend, "append"},
    {Right::kRun, "run"},
    {Right::kCancelOwn, "cancel_own"},
    {Right::kCancelAny, "cancel_any"},
    {Right::kSteer, "steer"},
    {Right::kPresence, "presence"},
    {Right::kAdmin, "admin"},
};

bool Gives(Right held, Right wanted) {
  if (held == wanted || held == Right::kAdmin) return true;
  return held == Right::kCancelAny && wanted == Right::kCancelOwn;
}

}  // namespace

const char* RightName(Right right) {
  for (const auto& [r, name] : kNames) {
    if (r == right) return name;
  }
  return "?";
}

std::optional<Right> ParseRight(std::string_view name) {
  for (const auto& [r, n] : kNames) {
    if (name == n) return r;
  }
  return std::nullopt;
}

Result<std::vector<Right>> ParseRightList(std::string_view list) {
  std::vector<Right> out;
  while (!list.empty()) {
    const auto comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    auto r = ParseRight(item);
    if (!r) {
      return Status::Usage("unknown right '" + std::string(item) +
                           "': want read, append, run, cancel_own, cancel_any, steer, presence, admin");
    }
    if (std::find(out.begin(), out.end(), *r) == out.end()) out.push_back(*r);
  }
  if (out.empty()) return Status::Usage("no rights given");
  return out;
}

bool PatternMatches(std::string_view p, std::string_view s) {
  // Iterative glob with backtracking to the last '*': O(|p| * |s|) worst case.
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Principal Principal::Open() {
  Principal p;
  p.sub = "anonymous";
  p.open = true;
  return p;
}

bool Principal::Allows(std::string_view session, Right right) const {
  if (open) return true;
  for (const Grant& g : grants) {
    if (!PatternMatches(g.pattern, session)) continue;
    for (Right held : g.rights) {
      if (Gives(held, right)) return true;
    }
  }
  return false;
}

std::string Principal::Lacks(std::string_view session, Right right) const {
  return "token for '" + sub + "' lacks '" + RightName(right) + "' on '" + std::string(session) + "'";
}

}  // namespace dsx::session::auth
