#include <doctest/doctest.h>

#include "kernel/bench/child_process.hpp"

using namespace dsx::kernel::bench;

TEST_CASE("result on fd 3, everything printed on the log pipe, stdin delivered") {
  auto r = RunChild({"/bin/sh", "-c", "cat >&3; echo printed; echo oops >&2; exit 3"}, "{\"a\":1}", 10);
  REQUIRE(r.ok());
  CHECK(r->result == "{\"a\":1}");
  CHECK(r->log.find("printed") != std::string::npos);
  CHECK(r->log.find("oops") != std::string::npos);
  CHECK(r->exit_code == 3);
  CHECK(!r->timed_out);
}

TEST_CASE("a hung child is killed at the deadline, with its own children") {
  auto r = RunChild({"/bin/sh", "-c", "sleep 30 & sleep 30; echo never >&3"}, "", 0.5);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
  CHECK(r->result.empty());
  CHECK(r->wall_s < 5);
}

TEST_CASE("a child that closes its pipes but keeps running is still bounded") {
  auto r = RunChild({"/bin/sh", "-c", "exec 3>&- 1>&- 2>&-; sleep 30"}, "", 0.5);
  REQUIRE(r.ok());
  CHECK(r->timed_out);
}

TEST_CASE("a missing program is an exit code, not a crash") {
  auto r = RunChild({"/nonexistent/dsx"}, "", 5);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 127);
}
