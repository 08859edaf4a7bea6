// ControlFromSteer: the steer shapes `dsx session steer` and the web UI send (steer_control.hpp),
// and that anything else, however odd, is a clear refusal and never a throw.
#include <doctest/doctest.h>

#include <random>

#include "autolab/session/steer_control.hpp"

using namespace dsx;
using namespace dsx::autolab;
using nlohmann::json;

TEST_CASE("the words, in the shapes dsx session steer sends") {
  CHECK(*ControlFromSteer({{"text", "pause"}}) == Control::kPause);
  CHECK(*ControlFromSteer({{"text", "  Stop\n"}}) == Control::kStop);
  CHECK(*ControlFromSteer({{"text", "resume"}}) == Control::kRun);
  CHECK(*ControlFromSteer({{"text", "run"}}) == Control::kRun);
  CHECK(*ControlFromSteer({{"json", "PAUSE"}}) == Control::kPause);
  CHECK(*ControlFromSteer({{"json", {{"control", "stop"}}}}) == Control::kStop);
  CHECK(*ControlFromSteer({{"text", "pause"}, {"reason", "lunch"}}) == Control::kPause);
}

TEST_CASE("anything else is kUsage saying what is taken") {
  for (const json& d : {json{{"text", "shorter please"}}, json{{"text", ""}}, json{{"json", {{"control", 1}}}},
                        json{{"json", json::array({"stop"})}}, json{{"json", 3}}, json::object(), json(), json("stop"),
                        json{{"text", 5}}}) {
    auto c = ControlFromSteer(d);
    REQUIRE_FALSE(c.ok());
    CHECK(c.status().code() == Code::kUsage);
    CHECK(c.status().message().find("'stop', 'pause' or 'resume'") != std::string::npos);
  }
  auto c = ControlFromSteer({{"text", std::string(500, 'z')}});
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().message().size() < 200);  // what was sent is shown short
}

TEST_CASE("random steer data never throws") {
  std::mt19937 rng(14);
  const std::vector<json> leaves = {json(),       json(1),      json(-2.5),    json(true),
                                    json("stop"), json("\xff"), json::array(), json::object()};
  for (int i = 0; i < 2000; ++i) {
    json d = json::object();
    for (const char* key : {"text", "json", "control"}) {
      if (rng() % 2) d[key] = leaves[rng() % leaves.size()];
    }
    if (rng() % 3 == 0) d["json"] = json{{"control", leaves[rng() % leaves.size()]}};
    CHECK_NOTHROW((void)ControlFromSteer(d));
  }
}
