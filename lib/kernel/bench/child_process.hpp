// Runs a child process (dsx itself, hidden subcommand) with a request on stdin, its result on a
// dedicated pipe (fd 3) and everything it prints (stdout, stderr, device printf) on another, under
// a wall-clock limit after which the child's process group is killed.
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"

namespace dsx::kernel::bench {

struct ChildOutput {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  bool timed_out = false;
  std::string result;  // what the child wrote on fd 3
  std::string log;     // stdout + stderr, capped at 64 KiB (the tail is kept)
  double wall_s = 0;
};

Result<ChildOutput> RunChild(const std::vector<std::string>& argv, const std::string& input, double timeout_s);

// /proc/self/exe: the running dsx binary.
std::string SelfExe();

}  // namespace dsx::kernel::bench
