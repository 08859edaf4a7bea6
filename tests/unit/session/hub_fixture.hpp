// A SessionHub over the memory store with session "chat/1" created, for the live tests.
// The memory store answers inline, so Post returns the hub's reply at once.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "core/clock.hpp"
#include "session/live/session_hub.hpp"
#include "session/store/memory_store.hpp"

namespace dsx::session::live::testing {

struct HubFixture {
  ManualClock clock;  // the service's and so the hub's time: leases and presence lapse when it moves
  StreamService service{MakeMemoryStore(), ServiceOptions{}, clock};
  std::unique_ptr<SessionHub> hub;
  auth::Principal open = auth::Principal::Open();
  HubFixture() {
    REQUIRE(service.Open().ok());
    hub = std::make_unique<SessionHub>(service);
    HubReply r;
    hub->Create("chat/1", [&](HubReply x) { r = x; });
    REQUIRE(r.status == 201);
  }
  HubReply Post(json draft, const auth::Principal* who = nullptr) {
    HubReply out;
    out.status = -1;
    hub->Submit("chat/1", who ? *who : open, std::move(draft), std::nullopt, [&](HubReply r) { out = std::move(r); });
    REQUIRE(out.status != -1);  // memory store: synchronous
    return out;
  }
  StreamHandle Stream() {
    HubReply err;
    auto s = hub->Stream("chat/1", &err);
    REQUIRE(s);
    return s;
  }
  std::vector<LogEvent> All() { return ReadEvents(service, Stream(), 0).events; }
};

}  // namespace dsx::session::live::testing
