// dsx: one binary. This file wires the command groups; each lives in cmd_<group>.cpp.
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "commands.hpp"
#include "usage_error.hpp"
#include "version.hpp"

namespace {

struct CommandGroup {
  const char* name;
  void (*add)(CLI::App&);
};

const CommandGroup kCommandGroups[] = {
    {"session", dsx::cmd::register_session},
    {"audit", dsx::cmd::register_audit},
    {"kernel", dsx::cmd::register_kernel},
    {"skills", dsx::cmd::register_skills},
    {"jobs", dsx::cmd::register_jobs},
    {"finetune", dsx::cmd::register_finetune},
    {"autolab", dsx::cmd::register_autolab},
    {"completion", dsx::cmd::register_completion},  // last: it reads the table above
};

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed pipe (`dsx ... | head`) is an EPIPE, not a crash

  CLI::App app{"dsx: durable sessions and AI systems engineering, one binary"};
  app.name("dsx");
  app.set_version_flag("--version", std::string("dsx ") + DSX_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Exit status: 0 ok, 1 failed, 2 usage, 3 not found, 4 conflict/refused,\n"
      "5 unavailable/unreachable, 130 interrupted. See man dsx.\n"
      "Shell completion: dsx completion bash|zsh|fish (man dsx).");
  for (const auto& group : kCommandGroups) group.add(app);
  dsx::cli::AddQuietFlag(app);  // after every group: each (sub)command gets -q/--quiet

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors: exit 2 (CLI11 would use its own codes), naming the command whose --help to read.
    return dsx::cli::ReportUsageError(app, e, std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsx: internal error: %s\n", e.what());
    return 1;
  }
  return dsx::cli::ExitCode();
}
