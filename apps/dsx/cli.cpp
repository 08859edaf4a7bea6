#include "cli.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace dsx::cli {
namespace {
int g_exit = 0;
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
