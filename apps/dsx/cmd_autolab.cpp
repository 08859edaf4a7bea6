// dsx autolab: the research loop (issue 14). validate PLAN checks a plan; the loop itself (run,
// status, stop, pause, resume, report) builds on lib/autolab. Logic lives in lib/autolab.
#include "cli.hpp"
#include "commands.hpp"

namespace dsx::cmd {

void register_autolab(CLI::App& app) {
  auto* al = app.add_subcommand("autolab", "research loop: plans of experiments, ranked by a verifiable metric");
  al->require_subcommand(1);
}

}  // namespace dsx::cmd
