// Request-log redaction and query decoding (query_text.hpp): the access_token the gate would
// accept, however its name is spelled on the wire, never reaches a log line.
#include <doctest/doctest.h>

#include "session/server/query_text.hpp"

using dsx::session::server::DecodeQueryComponent;
using dsx::session::server::QueryValue;
using dsx::session::server::RedactTarget;

TEST_CASE("query components decode as the session routes decode them") {
  CHECK(DecodeQueryComponent("access%5Ftoken") == "access_token");
  CHECK(DecodeQueryComponent("%61ccess_token") == "access_token");
  CHECK(DecodeQueryComponent("a+b%20c") == "a b c");
  CHECK(DecodeQueryComponent("%zz%4") == "%zz%4");  // malformed escapes stay
  CHECK(DecodeQueryComponent("%00x") == std::string("\0x", 2));
}

TEST_CASE("QueryValue matches on the decoded key, last value wins") {
  CHECK(QueryValue("/p?access%5Ftoken=abc", "access_token") == "abc");
  CHECK(QueryValue("/p?%61ccess_token=a%2Bb", "access_token") == "a+b");
  CHECK(QueryValue("/p?access_token=1&access_token=2", "access_token") == "2");
  CHECK(QueryValue("/p?access_token", "access_token") == "");
  CHECK_FALSE(QueryValue("/p?other=1", "access_token"));
  CHECK_FALSE(QueryValue("/p", "access_token"));
  CHECK_FALSE(QueryValue("/p/access_token=x", "access_token"));  // the path is not the query
}

TEST_CASE("every spelling of access_token is redacted, the rest is kept as sent") {
  CHECK(RedactTarget("/v1/stream/s?offset=-1&access_token=SECRET") == "/v1/stream/s?offset=-1&access_token=REDACTED");
  CHECK(RedactTarget("/s?access%5Ftoken=SECRET") == "/s?access%5Ftoken=REDACTED");
  CHECK(RedactTarget("/s?%61ccess_token=SECRET&live=sse") == "/s?%61ccess_token=REDACTED&live=sse");
  CHECK(RedactTarget("/s?acc%65ss%5ftoken=S1&%61%63%63%65%73%73%5f%74%6f%6b%65%6e=S2") ==
        "/s?acc%65ss%5ftoken=REDACTED&%61%63%63%65%73%73%5f%74%6f%6b%65%6e=REDACTED");
  CHECK(RedactTarget("/s?a=1&access_token=S1&access_token=S2") == "/s?a=1&access_token=REDACTED&access_token=REDACTED");
  CHECK(RedactTarget("/s?access_token=") == "/s?access_token=REDACTED");
  CHECK(RedactTarget("/s?my_access_token=keep&access_tokenx=keep") == "/s?my_access_token=keep&access_tokenx=keep");
  CHECK(RedactTarget("/s?x=access_token=keep") == "/s?x=access_token=keep");  // a value, not a key
  CHECK(RedactTarget("/access_token=path") == "/access_token=path");
  CHECK(RedactTarget("/s") == "/s");
  CHECK(RedactTarget("/s?") == "/s?");
  CHECK(RedactTarget("/s?&&access_token=S&") == "/s?&&access_token=REDACTED&");
}
