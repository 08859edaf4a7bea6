// dsx: one binary. This file wires the command groups; each lives in cmd_<group>.cpp.
#include <csignal>
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "commands.hpp"
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
      "5 unavailable/unreachable, 130 interrupted. See man dsx.");
  for (const auto& group : kCommandGroups) group.add(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors: one line, exit 2 (CLI11 would use its own codes).
    std::fprintf(stderr, "dsx: %s\n", e.what());
    std::fprintf(stderr, "dsx: see 'dsx --help'\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsx: internal error: %s\n", e.what());
    return 1;
  }
  return dsx::cli::ExitCode();
}
