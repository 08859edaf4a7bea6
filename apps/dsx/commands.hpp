// The command table. Adding a command group needs (git's builtin.h checklist):
//   1. apps/dsx/cmd_<group>.cpp with `void register_<group>(CLI::App& app)`; it parses flags,
//      calls one lib/ function, prints; no logic a test would want to call. Commands that talk
//      to a session server take cli::AddServerFlags (--server, --token). CMake builds every
//      .cpp in apps/dsx.
//   2. a declaration below and a row in kCommandGroups (main.cpp);
//   3. the library code in lib/<module>/ (its own CMake target, linked in apps/dsx/CMakeLists.txt);
//   4. man/dsx-<group>.1 (NAME, SYNOPSIS, DESCRIPTION, OPTIONS, EXIT STATUS, JSON OUTPUT, EXAMPLES);
//   5. tests: unit tests under tests/unit/<module>/, and tests/cli/help_test.sh runs
//      --help on every (sub)command automatically.
#pragma once

#include <CLI/CLI.hpp>

namespace dsx::cmd {

// Top-level groups (rows in main.cpp's kCommandGroups).
void register_session(CLI::App& app);
void register_kernel(CLI::App& app);  // cmd_kernel.cpp
void register_skills(CLI::App& app);  // cmd_skills.cpp
void register_audit(CLI::App& app);   // cmd_audit.cpp
void register_jobs(CLI::App& app);    // cmd_jobs.cpp
void register_finetune(CLI::App& app);  // cmd_finetune.cpp
void register_autolab(CLI::App& app);   // cmd_autolab.cpp
void register_completion(CLI::App& app);  // cmd_completion.cpp (walks the whole app: register it last)

// Parts of a group that live in their own file (called by the group's cmd_<group>.cpp).
void register_session_serve(CLI::App& session);    // session_serve.cpp
void register_session_clients(CLI::App& session);  // session_clients.cpp
void register_session_live(CLI::App& session);     // session_live.cpp (run, cancel, steer, who, token)
void register_session_fsck(CLI::App& session);     // session_fsck.cpp (fsck, repair)
void register_kernel_gen(CLI::App& kernel);        // kernel_gen.cpp
void register_kernel_export(CLI::App& kernel);     // kernel_export.cpp
void register_audit_probe(CLI::App& audit);        // audit_probe.cpp (--url probe, mock-llm)

}  // namespace dsx::cmd
