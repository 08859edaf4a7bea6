// Connection counting and the connection limit (connection_count.hpp, server.hpp) and the web
// UI's session id rule (ui_routes.hpp).
#include <doctest/doctest.h>

#include "session/server/connection_count.hpp"
#include "session/server/server.hpp"
#include "session/server/ui_routes.hpp"

using namespace dsx::session::server;

TEST_CASE("a connection ticket counts once, moves with its owner, and uncounts when it dies") {
  ConnectionGauge gauge;
  {
    ConnectionTicket a(&gauge);
    CHECK(gauge.open == 1);
    ConnectionTicket b(std::move(a));
    CHECK(gauge.open == 1);
    CountedRatePolicy policy(std::move(b));  // as it rides inside a Beast stream
    CHECK(gauge.open == 1);
    ConnectionTicket c(&gauge);
    CHECK(gauge.open == 2);
    c = ConnectionTicket();
    CHECK(gauge.open == 1);
  }
  CHECK(gauge.open == 0);
  ConnectionTicket none;  // counts nothing
  CHECK(gauge.open == 0);
}

TEST_CASE("the connection limit fits the descriptor limit") {
  CHECK(EffectiveMaxConnections(10000, 1u << 20) == 10000);
  CHECK(EffectiveMaxConnections(10000, 1024) == 1024 - 128);
  CHECK(EffectiveMaxConnections(10000, 64) == 32);  // reserve at least 32
  CHECK(EffectiveMaxConnections(10000, 100000) == 10000);
  CHECK(EffectiveMaxConnections(100000, 100000) == 100000 - 256);  // reserve at most 256
  CHECK(EffectiveMaxConnections(5, 64) == 5);
  CHECK(EffectiveMaxConnections(10000, 10) == 1);  // never 0
  CHECK(EffectiveMaxConnections(0, 1024) == 1);
}

TEST_CASE("ui session ids: decoded as the page decodes, dot segments refused") {
  CHECK(UiSessionId("chat/42") == "chat/42");
  CHECK(UiSessionId("x%2Fb") == "x/b");
  CHECK(UiSessionId("a.b/c..d") == "a.b/c..d");
  CHECK(UiSessionId("x/") == "x");  // the page drops empty pieces
  CHECK(UiSessionId("") == "");
  CHECK_FALSE(UiSessionId("x%2F..%2Fb"));
  CHECK_FALSE(UiSessionId("x%2f..%2fb"));
  CHECK_FALSE(UiSessionId("x/../b"));
  CHECK_FALSE(UiSessionId("x/%2E%2E/b"));
  CHECK_FALSE(UiSessionId("x%2F.%2Fb"));
  CHECK_FALSE(UiSessionId(".."));
  CHECK_FALSE(UiSessionId("x%2F"));   // decodes to an empty segment
  CHECK_FALSE(UiSessionId("a%0Ab"));  // control character
  CHECK_FALSE(UiSessionId("a%zz"));   // malformed escape (decodeURIComponent throws)
}
