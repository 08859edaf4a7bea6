// The YAML probe file (documented in docs/cli/audit-probe.md):
//   start:   {method, url, headers: {name: value}, body}        required unless --url is given
//   resume:  {method, url, headers, body, last_event_id: bool}
//   cancel:  {method, url, headers, body}
//   steer:   {method, url, headers, body}
//   start_command: "shell command run before each generation" (waits for its first line)
//   end_marker: "text that ends a generation in a stream that stays open"
//   mock_log: URL or file
//   drop_after: N      settle: seconds
//   timeouts: {connect, first_byte, idle, max_stream}   (seconds)
//   guess_conventions: bool
// Header values may name environment variables as ${NAME}, so tokens stay out of the file;
// their values are never printed (the report shows methods and URLs only).
#include <algorithm>
#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "audit/probe/probe.hpp"
#include "core/fs.hpp"

namespace dsx::audit::probe {
namespace {

std::string ExpandEnv(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
      size_t end = s.find('}', i + 2);
      if (end != std::string::npos) {
        const char* v = std::getenv(s.substr(i + 2, end - i - 2).c_str());
        out += v ? v : "";
        i = end;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Status ReadRequest(const YAML::Node& n, const std::string& what, RequestSpec* r) {
  if (!n.IsMap()) return Status::Usage("probe file: '" + what + "' must be a mapping with method and url");
  for (const auto& kv : n) {
    std::string key = kv.first.as<std::string>();
    if (key != "method" && key != "url" && key != "headers" && key != "body" && key != "last_event_id")
      return Status::Usage("probe file: unknown key '" + what + "." + key + "'");
  }
  if (n["method"]) r->method = n["method"].as<std::string>();
  if (!n["url"]) return Status::Usage("probe file: '" + what + ".url' is required");
  r->url = n["url"].as<std::string>();
  if (n["body"]) r->body = n["body"].as<std::string>();
  if (n["last_event_id"]) r->send_last_event_id = n["last_event_id"].as<bool>();
  if (n["headers"]) {
    if (!n["headers"].IsMap()) return Status::Usage("probe file: '" + what + ".headers' must be a mapping");
    for (const auto& h : n["headers"])
      r->headers.emplace_back(h.first.as<std::string>(), ExpandEnv(h.second.as<std::string>()));
  }
  return Status::Ok();
}

}  // namespace

Status LoadProbeFile(const std::string& path, ProbeOptions* o) {
  auto text = fs::ReadFile(path);
  if (!text.ok()) return text.status().Wrap("cannot read probe file '" + path + "'");
  try {
    YAML::Node root = YAML::Load(*text);
    if (!root.IsMap()) return Status::Usage("probe file '" + path + "': expected a mapping at the top");
    static const char* kKeys[] = {"start",     "resume",     "cancel", "steer",    "start_command",
                                  "mock_log",  "drop_after", "settle", "timeouts", "guess_conventions",
                                  "end_marker"};
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
        return Status::Usage("probe file '" + path + "': unknown key '" + key + "'");
    }
    if (root["start"]) DSX_RETURN_IF_ERROR(ReadRequest(root["start"], "start", &o->start).Wrap("'" + path + "'"));
    for (auto [key, slot] :
         {std::pair{"resume", &o->resume}, std::pair{"cancel", &o->cancel}, std::pair{"steer", &o->steer}}) {
      if (!root[key]) continue;
      RequestSpec r;
      r.method = std::string(key) == "resume" ? "GET" : "POST";
      DSX_RETURN_IF_ERROR(ReadRequest(root[key], key, &r).Wrap("'" + path + "'"));
      *slot = r;
    }
    if (root["start_command"]) o->start_command = root["start_command"].as<std::string>();
    if (root["end_marker"]) o->end_marker = root["end_marker"].as<std::string>();
    if (root["mock_log"]) o->mock_log = root["mock_log"].as<std::string>();
    if (root["drop_after"]) o->drop_after_tokens = root["drop_after"].as<int>();
    if (root["settle"]) o->settle_s = root["settle"].as<double>();
    if (root["guess_conventions"]) o->guess_conventions = root["guess_conventions"].as<bool>();
    if (const auto& t = root["timeouts"]) {
      if (t["connect"]) o->connect_timeout_s = t["connect"].as<double>();
      if (t["first_byte"]) o->first_byte_timeout_s = t["first_byte"].as<double>();
      if (t["idle"]) o->idle_timeout_s = t["idle"].as<double>();
      if (t["max_stream"]) o->max_stream_s = t["max_stream"].as<double>();
    }
  } catch (const YAML::Exception& e) {
    return Status::Usage("probe file '" + path + "': " + e.what());
  }
  return Status::Ok();
}

}  // namespace dsx::audit::probe
