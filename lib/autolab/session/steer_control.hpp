// The control words an AutoLab run takes from its session (`autolab/<run>`, run_session.hpp),
// read from a control.steer request's data. The shapes, as `dsx session steer` and the web UI's
// steer box send them (docs/formats/autolab-session.md):
//   {"text": "pause"}                      dsx session steer autolab/<run> pause; the UI's box
//   {"json": "pause"}                      dsx session steer autolab/<run> --json-data '"pause"'
//   {"json": {"control": "pause"}}         dsx session steer autolab/<run> --json-data '{"control":"pause"}'
// The word is "stop", "pause" or "resume" ("run" is resume's other name, as in `dsx autolab`),
// matched without regard to case or surrounding blanks. Anything else is refused with a message
// that says what is accepted (the run acks the steer "rejected" with it). The data comes from
// whoever may steer the session: it is read leniently, never trusted to have a shape.
// (control.cancel, the web UI's Stop button, is Control::kStop without any data.)
#pragma once

#include <nlohmann/json.hpp>

#include "autolab/control.hpp"
#include "core/status.hpp"

namespace dsx::autolab {

// kUsage naming what was sent (at most 80 bytes of it) and what is accepted.
Result<Control> ControlFromSteer(const nlohmann::json& data);

}  // namespace dsx::autolab
