// Against(): the lines that keep a condition from holding (issue 18: the 204 resume route decided
// a verdict but showed only in --facts).
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include "audit/rules/condition.hpp"

using namespace dsx::audit;

TEST_CASE("against: another value of the asked fact, and what a not: excludes; an absence says nothing") {
  Facts facts{{"server.resume_endpoint", "stub_204", "stream.ts", 3, "return new Response(null, { status: 204 })", "rs"},
              {"server.cancel_on_disconnect", "request_signal", "route.ts", 9, "abortSignal: req.signal", "ai"},
              {"server.producer_decoupled", "", "route.ts", 5, "consumeStream()", "ai"}};
  FactIndex index(facts);
  EvalContext ctx;
  ctx.facts = &index;
  auto parse = [](const char* yaml) { return ParseCondition(YAML::Load(yaml)).value(); };
  auto against = [&](const char* yaml) {
    std::vector<Evidence> out;
    Against(parse(yaml), ctx, &out);
    return out;
  };

  auto serves = against("{fact: server.resume_endpoint, value: serves}");
  REQUIRE(serves.size() == 1);
  CHECK(serves[0].file == "stream.ts");
  CHECK(serves[0].line == 3);
  CHECK(serves[0].fact == "server.resume_endpoint=stub_204");

  auto detach = against("{all: [{fact: server.producer_decoupled}, {not: {fact: server.cancel_on_disconnect}}]}");
  REQUIRE(detach.size() == 1);  // only the failing child speaks; the decoupled producer is not against it
  CHECK(detach[0].fact == "server.cancel_on_disconnect=request_signal");

  auto any = against("{any: [{fact: server.fanout}, {fact: server.resume_endpoint, values: [serves]}]}");
  REQUIRE(any.size() == 1);  // server.fanout is simply absent
  CHECK(any[0].line == 3);

  CHECK(against("{fact: client.dsx}").empty());
  CHECK(against("{failure_mode: half_wired_resume}").empty());
}
