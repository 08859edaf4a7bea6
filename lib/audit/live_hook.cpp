// See live_hook.hpp.
#include "audit/live_hook.hpp"

namespace dsx::audit {

namespace {
LiveAuditFn& Slot() {
  static LiveAuditFn fn;
  return fn;
}
}  // namespace

void SetLiveAudit(LiveAuditFn fn) { Slot() = std::move(fn); }
const LiveAuditFn& LiveAudit() { return Slot(); }

}  // namespace dsx::audit
