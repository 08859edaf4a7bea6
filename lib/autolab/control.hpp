// Run control: pause, stop and resume, whoever asks (`dsx autolab stop|pause|resume RUN` from any
// shell, or a control event on the run's session, which the driver relays here). The request is
// the ledger's meta key "control", so it is durable and seen by the run that holds the lease and by
// every later invocation (cron) until resumed:
//   pause   no new experiment starts; running ones finish; the invocation then exits (kPaused), and
//           later invocations exit at once until resume.
//   stop    as pause, and the running experiments are cancelled now (their process trees killed) and
//           put back in the queue, so a resume continues where the run stood.
//   ""      (resume) run normally.
#pragma once

#include <string>

#include "autolab/ledger.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

enum class Control { kRun, kPause, kStop };

const char* ControlName(Control c);                     // "run", "pause", "stop"
Result<Control> ParseControl(const std::string& word);  // the three names ("resume" = run); kUsage

Result<Control> ReadControl(Ledger& ledger);
Status WriteControl(Ledger& ledger, Control c);

}  // namespace dsx::autolab
