#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "audit/probe/probe.hpp"

using namespace dsx::audit::probe;

namespace {
std::string Write(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("dsx_probe_file_test_" + name + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}
}  // namespace

TEST_CASE("probe file: requests, contracts, timeouts and env-expanded headers") {
  setenv("DSX_PROBE_TEST_TOKEN", "s3cret", 1);
  std::string path = Write("full", R"(
start:
  method: POST
  url: http://127.0.0.1:3000/api/chat
  headers: {content-type: application/json, authorization: "Bearer ${DSX_PROBE_TEST_TOKEN}"}
  body: '{"id":"{{id}}"}'
resume: {url: "http://127.0.0.1:3000/api/chat/{{id}}/stream", last_event_id: false}
cancel: {url: "http://127.0.0.1:3000/api/chat/{{id}}/stop", body: "{}"}
steer: {method: PUT, url: "http://127.0.0.1:3000/api/chat/{{id}}/steer"}
start_command: "echo ready"
end_marker: '"type":"finish"'
mock_log: http://127.0.0.1:9000/log
drop_after: 6
settle: 0.5
timeouts: {connect: 1, first_byte: 2, idle: 3, max_stream: 30}
guess_conventions: false
)");
  ProbeOptions o;
  REQUIRE(LoadProbeFile(path, &o).ok());
  CHECK(o.start.url == "http://127.0.0.1:3000/api/chat");
  REQUIRE(o.start.headers.size() == 2);
  CHECK(o.start.headers[1].second == "Bearer s3cret");
  REQUIRE(o.resume.has_value());
  CHECK(o.resume->method == "GET");
  CHECK(!o.resume->send_last_event_id);
  REQUIRE(o.cancel.has_value());
  CHECK(o.cancel->method == "POST");
  CHECK(o.steer->method == "PUT");
  CHECK(o.start_command == "echo ready");
  CHECK(o.end_marker == "\"type\":\"finish\"");
  CHECK(o.drop_after_tokens == 6);
  CHECK(o.first_byte_timeout_s == 2);
  CHECK(o.max_stream_s == 30);
  CHECK(!o.guess_conventions);
}

TEST_CASE("probe file: unknown keys, missing url and bad YAML are usage errors naming the file") {
  ProbeOptions o;
  auto s1 = LoadProbeFile(Write("unknown", "start: {url: http://x}\nresme: {url: http://y}\n"), &o);
  CHECK(s1.code() == dsx::Code::kUsage);
  CHECK(s1.message().find("resme") != std::string::npos);
  auto s2 = LoadProbeFile(Write("nourl", "cancel: {method: POST}\n"), &o);
  CHECK(s2.code() == dsx::Code::kUsage);
  CHECK(s2.message().find("cancel.url") != std::string::npos);
  auto s3 = LoadProbeFile(Write("bad", "start: [unclosed\n"), &o);
  CHECK(s3.code() == dsx::Code::kUsage);
  auto s4 = LoadProbeFile("/nonexistent/probe.yaml", &o);
  CHECK(s4.code() == dsx::Code::kNotFound);
}
