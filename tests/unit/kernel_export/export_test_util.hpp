// Helpers for the kernel_export tests: the shipped tasks' folder, temp folders, running a tool.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kexp_test {

inline std::filesystem::path KernelsDir() {
  return std::filesystem::path(__FILE__).parent_path() / ".." / ".." / ".." / "kernels";
}

inline std::filesystem::path TempDir(const std::string& tag) {
  static int n = 0;
  auto d = std::filesystem::temp_directory_path() /
           ("dsx_kexp_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  std::filesystem::remove_all(d);
  return d;
}

inline std::string Slurp(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command line; output (stdout + stderr) in *out, exit status returned.
inline int Run(const std::string& cmd, std::string* out) {
  out->clear();
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

inline std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

}  // namespace kexp_test
