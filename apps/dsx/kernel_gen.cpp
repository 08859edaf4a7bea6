// Part of 'dsx kernel' that lives in its own file; called from cmd_kernel.cpp.
#include "commands.hpp"

namespace dsx::cmd {

void register_kernel_gen(CLI::App& kernel) { (void)kernel; }

}  // namespace dsx::cmd
