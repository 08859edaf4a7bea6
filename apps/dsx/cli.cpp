#include "cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/log.hpp"

namespace dsx::cli {
namespace {
int g_exit = 0;
bool g_quiet = false;

void AddQuietTo(CLI::App& app) {
  bool has_long = false, has_short = false;
  for (const CLI::Option* o : app.get_options()) {
    has_long = has_long || o->check_lname("quiet");
    has_short = has_short || o->check_sname("q");
  }
  if (!has_long) {
    app.add_flag_callback(has_short ? "--quiet" : "-q,--quiet", [] { SetQuiet(true); },
                          "no progress or notices on stderr (errors and results only)");
  }
  for (CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>())) AddQuietTo(*sub);
}
}  // namespace

bool Quiet() { return g_quiet; }
void SetQuiet(bool quiet) {
  g_quiet = quiet;
  if (quiet) log::SetLevel(log::Level::kWarn);
}
void AddQuietFlag(CLI::App& app) { AddQuietTo(app); }

std::string CommandPath(const CLI::App* app) {
  std::string path;
  for (const CLI::App* a = app; a != nullptr; a = a->get_parent()) {
    path = path.empty() ? a->get_name() : a->get_name() + " " + path;
  }
  return path;
}

void SetExit(int code) { g_exit = code; }
int ExitCode() { return g_exit; }

int Fail(const Status& status) {
  std::fflush(stdout);
  std::fprintf(stderr, "dsx: %s\n", status.message().c_str());
  g_exit = status.exit_code();
  return g_exit;
}

void Finish(const Status& status) {
  if (status.ok()) {
    g_exit = 0;
  } else {
    Fail(status);
  }
}

void PrintJson(const nlohmann::json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n' << std::flush;
}

bool StdoutIsTty() { return ::isatty(STDOUT_FILENO) == 1; }
bool StderrIsTty() { return ::isatty(STDERR_FILENO) == 1; }

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

void AddServerFlags(CLI::App* cmd, ServerFlags& flags) {
  cmd->add_option("--server", flags.server, "server base URL (default http://127.0.0.1:4437)")->envname("DSX_SERVER");
  cmd->add_option("--token", flags.token, "bearer token sent as 'Authorization: Bearer' (never printed)")
      ->envname("DSX_TOKEN");
}

void AddServerListFlags(CLI::App* cmd, ServerFlags& flags) {
  cmd->add_option("--server", flags.server,
                  "server base URL, or several separated by commas: nodes of one store, tried in turn when one "
                  "stops answering (default http://127.0.0.1:4437)")
      ->envname("DSX_SERVER");
  cmd->add_option("--token", flags.token, "bearer token sent as 'Authorization: Bearer' (never printed)")
      ->envname("DSX_TOKEN");
}

}  // namespace dsx::cli
