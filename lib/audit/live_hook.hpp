// The bridge between `dsx audit PATH` (apps/dsx/cmd_audit.cpp) and the live probe
// (apps/dsx/audit_probe.cpp), which adds its own flags (--url, ...) to the same command.
// register_audit_probe() installs a function here; after parsing, cmd_audit.cpp calls it:
//   std::nullopt  -> no live probe was asked for (no --url);
//   a Report      -> the live report (source live), shown beside the static one when PATH is
//                    also given, with disagreements called out (audit::Compare);
//   an error      -> printed as `dsx: ...` with its exit code.
#pragma once

#include <functional>
#include <optional>

#include "audit/report/report.hpp"

namespace dsx::audit {

using LiveAuditFn = std::function<Result<std::optional<Report>>()>;

void SetLiveAudit(LiveAuditFn fn);
// The installed function, or an empty std::function when no probe is linked in.
const LiveAuditFn& LiveAudit();

}  // namespace dsx::audit
