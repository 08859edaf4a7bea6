// libFuzzer target: the JSON-stream append path (Content-Type application/json) through the
// router and the service: PUT with an initial body, POST appends, reads back. Bodies are
// structure-aware JSON (every type, deep nesting around and far past the 64-level limit, huge
// and odd strings, arrays that are flattened one level) or raw bytes.
// Invariants: no crash, no sanitizer report, no 5xx; an accepted append reads back as a JSON
// array that parses.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

#include "fuzz_json_gen.hpp"
#include "session/model/json_input.hpp"
#include "session/model/json_mode.hpp"
#include "session/server/router.hpp"
#include "session/store/memory_store.hpp"

using namespace dsx::session;
using namespace dsx::session::server;

namespace {

std::unique_ptr<StreamService> g_service;
int g_runs = 0;

StreamService& Service() {
  if (!g_service || ++g_runs % 200 == 0) {  // bounded memory and read-back cost (bodies up to 1.1 MB)
    g_service = std::make_unique<StreamService>(MakeMemoryStore(), ServiceOptions{});
    if (!g_service->Open().ok()) __builtin_trap();
  }
  return *g_service;
}

RouteOutcome Do(StreamService& svc, http::verb m, const std::string& target, std::string body) {
  Request req{m, target, 11};
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  std::optional<RouteOutcome> out;
  Route(svc, RouterOptions{}, std::move(req), [&out](RouteOutcome o) { out = std::move(o); });
  if (!out) __builtin_trap();  // the memory store answers synchronously
  if (out->kind == RouteOutcome::Kind::kResponse && out->response.result_int() >= 500) __builtin_trap();
  return std::move(*out);
}

std::string Body(FuzzedDataProvider& in) {
  if (in.ConsumeIntegralInRange<int>(0, 3) == 0) {  // a batch: one array level is flattened
    std::string s = "[";
    const int n = in.ConsumeIntegralInRange<int>(0, 5);
    for (int i = 0; i < n; ++i) s += (i ? "," : "") + dsx::fuzz::AnyValue(in);
    return s + "]";
  }
  return dsx::fuzz::AnyValue(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  StreamService& svc = Service();
  FuzzedDataProvider in(data, size);
  const std::string path = in.PickValueInArray({"/v1/stream/j1", "/v1/stream/j2", "/j3"});
  if (in.ConsumeBool()) (void)Do(svc, http::verb::put, path, in.ConsumeBool() ? Body(in) : "");
  // Read back only what this input appends: from the tail as it is now.
  RouteOutcome head = Do(svc, http::verb::head, path, "");
  const std::string from = head.response.result_int() == 200 ? std::string(head.response["Stream-Next-Offset"]) : "-1";
  for (int step = 0; step < 6 && in.remaining_bytes() > 0; ++step) {
    const std::string body = Body(in);
    RouteOutcome o = Do(svc, http::verb::post, path, body);
    const int status = o.response.result_int();
    // The service's verdict agrees with the JSON-mode parser (404: no stream yet).
    if (status == 204 && !JsonBatchFromBody(body, false).ok()) __builtin_trap();
  }
  RouteOutcome read = Do(svc, http::verb::get, path + "?offset=" + from, "");
  if (read.response.result_int() == 200) {
    // Stored messages are at most 64 deep, so the array read back is at most 65.
    if (auto parsed = ParseClientJson(read.response.body(), kMaxJsonDepth + 1); !parsed.ok()) {
      const std::string& b = read.response.body();
      std::fprintf(stderr, "read back is not JSON (%s), %zu bytes:", parsed.status().message().c_str(), b.size());
      for (std::size_t i = 0; i < b.size() && i < 200; ++i) std::fprintf(stderr, " %02x", static_cast<unsigned char>(b[i]));
      std::fprintf(stderr, "\n");
      __builtin_trap();
    }
  }
  return 0;
}
