// Helpers shared by the command files: exit codes, error printing, --json output.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace dsx::cli {

// The exit code the process ends with; set by the command that ran.
void SetExit(int code);
int ExitCode();

// Print "dsx: <message>" on stderr (git style) and record the exit code.
// Returns the exit code so a callback can `return Fail(s);`-style chain.
int Fail(const Status& status);

// Record the result of a command: OK sets 0, anything else goes through Fail.
void Finish(const Status& status);

// One JSON document on stdout, newline-terminated.
void PrintJson(const nlohmann::json& j);

// --quiet (-q), accepted by every command: no progress lines and no notices on stderr (errors,
// warnings about lost data and the command's result stay). Process-wide: set once while the
// command line is parsed, read by any command or helper. Quiet also raises the log level to
// warnings, so log::Info notices go too.
bool Quiet();
void SetQuiet(bool quiet);
// Adds -q/--quiet to `app` and to every subcommand below it, so the flag works in any position
// (`dsx -q kernel gen ...`, `dsx kernel gen ... --quiet`) and shows in each --help. A command
// that already has its own --quiet keeps it (and should read Quiet() as well).
void AddQuietFlag(CLI::App& app);

// "dsx session run" for the session group's run subcommand.
std::string CommandPath(const CLI::App* app);

// True when stdout/stderr is a terminal (progress, colour).
bool StdoutIsTty();
bool StderrIsTty();

// Environment lookup with a default ("" when unset).
std::string Env(const char* name, const std::string& fallback = "");

// The flags of every command that talks to a session server, spelled the same everywhere:
// --server URL (DSX_SERVER) and --token TOKEN (DSX_TOKEN).
struct ServerFlags {
  std::string server;  // "" = http://127.0.0.1:4437
  std::string token;   // sent as 'Authorization: Bearer'; never printed
};
void AddServerFlags(CLI::App* cmd, ServerFlags& flags);
// The same flags for commands that fail over between servers: --server URL1,URL2,... (and
// DSX_SERVER with commas) names several nodes of one store (docs/scaling.md).
void AddServerListFlags(CLI::App* cmd, ServerFlags& flags);

}  // namespace dsx::cli
