// RunCommand with real processes: stdout and stderr captured apart, exit codes and signals,
// stdin fed, no shell between us and the program, a missing program, a hung one killed.
#include <doctest/doctest.h>

#include <chrono>

#include "jobs/slurm/command_runner.hpp"

using namespace dsx;
using namespace dsx::jobs;

TEST_CASE("stdout, stderr and the exit code come back separately") {
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, "");
  REQUIRE(r.ok());
  CHECK(r->out == "out\n");
  CHECK(r->err == "err\n");
  CHECK(r->exit_code == 3);
}

TEST_CASE("argv reaches the program as is: no shell expands it") {
  auto r = RunCommand({"printf", "%s|", "$(echo x)", "a b", "*"}, "");
  REQUIRE(r.ok());
  CHECK(r->out == "$(echo x)|a b|*|");
  CHECK(r->exit_code == 0);
}

TEST_CASE("stdin data is fed, and a child that ignores it does not hurt us") {
  auto r = RunCommand({"cat"}, "line 1\nline 2\n");
  REQUIRE(r.ok());
  CHECK(r->out == "line 1\nline 2\n");
  std::string big(4 << 20, 'x');
  auto early = RunCommand({"/bin/sh", "-c", "exit 0"}, big);  // closes stdin unread: EPIPE, not SIGPIPE
  REQUIRE(early.ok());
  CHECK(early->exit_code == 0);
}

TEST_CASE("a missing program is kNotFound; a killed one reports 128+signal") {
  auto missing = RunCommand({"/nonexistent/sbatch"}, "");
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK(RunCommand({"dsx-no-such-program-anywhere"}, "").status().code() == Code::kNotFound);
  auto killed = RunCommand({"/bin/sh", "-c", "kill -9 $$"}, "");
  REQUIRE(killed.ok());
  CHECK(killed->exit_code == 128 + 9);
}

TEST_CASE("a command past its time limit is killed and reported unavailable") {
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand({"sleep", "30"}, "", std::chrono::milliseconds(300));
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("a program that closes its output and keeps running still meets the time limit") {
  auto start = std::chrono::steady_clock::now();
  auto r = RunCommand({"/bin/sh", "-c", "exec >/dev/null 2>&1; sleep 30"}, "", std::chrono::milliseconds(500));
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("variables named in unset_env do not reach the program; the rest of the environment does") {
  ::setenv("DSX_RUNNER_TEST_TOKEN", "tok-123", 1);
  ::setenv("DSX_RUNNER_TEST_TOKEN_X", "kept", 1);  // a longer name with the same prefix stays
  auto r = RunCommand({"/bin/sh", "-c", "echo ${DSX_RUNNER_TEST_TOKEN-unset} $DSX_RUNNER_TEST_TOKEN_X"}, "",
                      std::chrono::seconds(30), {"DSX_RUNNER_TEST_TOKEN"});
  ::unsetenv("DSX_RUNNER_TEST_TOKEN");
  ::unsetenv("DSX_RUNNER_TEST_TOKEN_X");
  REQUIRE(r.ok());
  CHECK(r->out == "unset kept\n");
}
