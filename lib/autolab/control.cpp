// Run control words kept in the ledger's meta table (control.hpp).
#include "autolab/control.hpp"

namespace dsx::autolab {

namespace {
constexpr const char* kControlKey = "control";
}

const char* ControlName(Control c) {
  switch (c) {
    case Control::kRun: return "run";
    case Control::kPause: return "pause";
    case Control::kStop: return "stop";
  }
  return "run";
}

Result<Control> ParseControl(const std::string& word) {
  if (word == "run" || word == "resume" || word.empty()) return Control::kRun;
  if (word == "pause") return Control::kPause;
  if (word == "stop") return Control::kStop;
  return Status::Usage("unknown control '" + word + "' (run, pause or stop)");
}

Result<Control> ReadControl(Ledger& ledger) {
  auto v = ledger.Meta(kControlKey);
  if (!v.ok()) return v.status();
  if (!v.value()) return Control::kRun;
  auto c = ParseControl(*v.value());
  // A ledger edited by hand with an unknown word: refuse to guess, say where it is.
  if (!c.ok()) return Status::Failed("ledger meta 'control' holds '" + *v.value() + "' (run, pause or stop)");
  return c;
}

Status WriteControl(Ledger& ledger, Control c) { return ledger.SetMeta(kControlKey, ControlName(c)); }

}  // namespace dsx::autolab
