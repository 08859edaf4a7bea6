// Rights on sessions: what a verified principal may do, per session-id pattern.
//
// A token grants rights per pattern ("chat/*": read, append). `*` in a pattern matches any run
// of characters, '/' included; everything else matches literally. Implications: `admin` gives
// every right, `cancel_any` gives `cancel_own`. An open server (no key) uses Principal::Open(),
// which allows everything. See docs/protocol/sessions.md, section 7.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace dsx::session::auth {

enum class Right : std::uint8_t { kRead, kAppend, kRun, kCancelOwn, kCancelAny, kSteer, kPresence, kAdmin };

const char* RightName(Right right);
std::optional<Right> ParseRight(std::string_view name);
// "read,append" -> rights; unknown names are a usage error naming them.
Result<std::vector<Right>> ParseRightList(std::string_view list);

// True if `pattern` (with `*` wildcards) matches the whole of `id`.
bool PatternMatches(std::string_view pattern, std::string_view id);

struct Grant {
  std::string pattern;
  std::vector<Right> rights;
};

// Who is asking, as verified from a token (or the open server's anonymous principal).
struct Principal {
  std::string sub;     // principal name ("anonymous" on an open server)
  std::string device;  // optional device name from the token
  std::vector<Grant> grants;
  std::int64_t exp_s = 0;  // token expiry, Unix seconds; 0: never (open server)
  bool open = false;       // open server: everything allowed

  static Principal Open();
  // True if some grant whose pattern matches `session` gives `right` (implications included).
  bool Allows(std::string_view session, Right right) const;
  // The 403 reason for a missing right: "token for 'bob' lacks 'steer' on 'chat/1'".
  std::string Lacks(std::string_view session, Right right) const;
};

}  // namespace dsx::session::auth
