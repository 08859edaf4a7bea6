// Part of 'dsx audit' that lives in its own file; called from cmd_audit.cpp.
#include "commands.hpp"

namespace dsx::cmd {

void register_audit_probe(CLI::App& audit) { (void)audit; }

}  // namespace dsx::cmd
