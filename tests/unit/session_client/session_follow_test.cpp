// SessionClient::Follow over a scripted transport: the session's SSE follow and its limits.
#include <doctest/doctest.h>

#include "core/clock.hpp"
#include "net/fake_transport.hpp"
#include "session/client/session_client.hpp"

using namespace dsx::session::client;
using namespace dsx::net;
using namespace dsx::net::testing;

// Regression: an endless SSE event from a hostile server was buffered whole by the session follower
// (`dsx session run`'s control follower, cancel/steer), then retried forever.
TEST_CASE("Follow: an endless event ends the follow with an error, not unbounded memory or a retry") {
  FakeTransport transport;
  dsx::ManualClock clock;
  SessionClient session{transport, "http://h:1", "s1", "", clock};
  std::vector<std::string> chunks = {"id: 1\ndata: {\"type\":\"msg.append\",\"text\":\""};
  const std::string mib(1 << 20, 'a');
  for (int i = 0; i < 18; ++i) chunks.push_back(mib);
  transport.script = {SseReply({{"Content-Type", "text/event-stream"}}, std::move(chunks))};
  int events = 0;
  dsx::Status st = session.Follow(
      "-1", false, "", [&](const nlohmann::json&) { return ++events < 100; }, [] { return false; }, 60000);
  REQUIRE(!st.ok());
  CHECK(st.code() == dsx::Code::kFailed);
  CHECK(st.message().find("larger than 16 MiB") != std::string::npos);
  CHECK(events == 0);
  CHECK(transport.requests.size() == 1);
}
