#include <doctest/doctest.h>

#include "net/fake_transport.hpp"
#include "net/http_status.hpp"

using dsx::Code;
using dsx::net::StatusFromFailedExchange;
using dsx::net::StatusFromHttp;

TEST_CASE("http status: the one table from HTTP status to exit code") {
  struct Row {
    int http;
    Code code;
    int exit;
  };
  const Row rows[] = {
      {200, Code::kOk, 0},          {201, Code::kOk, 0},          {204, Code::kOk, 0},
      {400, Code::kFailed, 1},      {401, Code::kConflict, 4},    {403, Code::kConflict, 4},
      {404, Code::kNotFound, 3},    {405, Code::kFailed, 1},      {409, Code::kConflict, 4},
      {410, Code::kNotFound, 3},    {413, Code::kFailed, 1},      {429, Code::kFailed, 1},
      {500, Code::kFailed, 1},      {501, Code::kFailed, 1},      {502, Code::kUnavailable, 5},
      {503, Code::kUnavailable, 5}, {504, Code::kUnavailable, 5}, {505, Code::kFailed, 1},
      {302, Code::kFailed, 1},      {0, Code::kFailed, 1},
  };
  for (const Row& r : rows) {
    CAPTURE(r.http);
    const dsx::Status s = StatusFromHttp(r.http, "why");
    CHECK(s.code() == r.code);
    CHECK(s.exit_code() == r.exit);
    if (!s.ok()) CHECK(s.message() == "why");
  }
}

TEST_CASE("http status: a failed exchange is unavailable and names the server") {
  auto failed = dsx::net::testing::NetError(false, "Connection refused");
  const dsx::Status s = StatusFromFailedExchange(failed.exchange, "http://127.0.0.1:4437");
  CHECK(s.code() == Code::kUnavailable);
  CHECK(s.exit_code() == 5);
  CHECK(s.message() == "Connection refused (http://127.0.0.1:4437)");
  CHECK(StatusFromFailedExchange(failed.exchange, "").message() == "Connection refused");
}
