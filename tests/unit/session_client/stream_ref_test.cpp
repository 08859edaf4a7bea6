#include <doctest/doctest.h>

#include "session/client/stream_ref.hpp"

using namespace dsx::session::client;

TEST_CASE("a path resolves under the default server's /v1/stream/") {
  auto r = ResolveStream("chat/42", "");
  REQUIRE(r.ok());
  CHECK(r->url == "http://127.0.0.1:4437/v1/stream/chat/42");
  CHECK(r->name == "chat/42");
}

TEST_CASE("a path resolves under --server, trailing slashes and a leading slash tolerated") {
  auto r = ResolveStream("/chat/42", "https://dsx.example:8443/");
  REQUIRE(r.ok());
  CHECK(r->url == "https://dsx.example:8443/v1/stream/chat/42");
}

TEST_CASE("reserved characters in names are percent-encoded, '/' kept") {
  auto r = ResolveStream("runs/a b%c", "http://h:1");
  REQUIRE(r.ok());
  CHECK(r->url == "http://h:1/v1/stream/runs/a%20b%25c");
}

TEST_CASE("a full URL names itself and ignores the server") {
  auto r = ResolveStream("http://10.0.0.5:9000/custom/stream", "http://other:1");
  REQUIRE(r.ok());
  CHECK(r->url == "http://10.0.0.5:9000/custom/stream");
}

TEST_CASE("bad names are usage errors") {
  for (const char* bad : {"", "/", "a//b", "a/../b", "./a", "a/", "a?x=1", "a#f", "ftp://h/x", "http://", "http://h",
                          "http://h/", "http:///x", "a\nb"}) {
    CAPTURE(bad);
    auto r = ResolveStream(bad, "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == dsx::Code::kUsage);
  }
}

TEST_CASE("a server that is not http(s) is a usage error") {
  auto r = ResolveStream("a", "127.0.0.1:4437");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == dsx::Code::kUsage);
}

TEST_CASE("query values are percent-encoded except unreserved characters") {
  CHECK(EncodeQueryValue("0000000000000000_0000000000000016") == "0000000000000000_0000000000000016");
  CHECK(EncodeQueryValue("-1") == "-1");
  CHECK(EncodeQueryValue("a&b=c/d") == "a%26b%3Dc%2Fd");
}

TEST_CASE("--from accepts sentinels and offset-like tokens only") {
  CHECK(IsValidOffsetArg("-1"));
  CHECK(IsValidOffsetArg("now"));
  CHECK(IsValidOffsetArg("0000000000000000_0000000000000016"));
  CHECK_FALSE(IsValidOffsetArg(""));
  CHECK_FALSE(IsValidOffsetArg("1,2"));
  CHECK_FALSE(IsValidOffsetArg("../x"));
  CHECK_FALSE(IsValidOffsetArg("a b"));
  CHECK_FALSE(IsValidOffsetArg("a&offset=b"));
}
