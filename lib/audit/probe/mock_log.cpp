#include "audit/probe/mock_log.hpp"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "audit/probe/fetch.hpp"
#include "core/fs.hpp"

namespace dsx::audit::probe {

int MockRequest::TokensAfter(int64_t t_ms) const {
  return static_cast<int>(std::count_if(token_ms.begin(), token_ms.end(), [t_ms](int64_t t) { return t > t_ms; }));
}

MockLog MockLog::Parse(std::string_view text) {
  MockLog log;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.size() - pos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("event") || !j["event"].is_string() || !j.contains("req") ||
        !j["req"].is_string()) {
      ++log.malformed_;
      continue;
    }
    MockEvent e;
    e.event = j["event"].get<std::string>();
    e.req = j["req"].get<std::string>();
    if (j.contains("ms") && j["ms"].is_number_integer()) e.ms = j["ms"].get<int64_t>();
    if (j.contains("marker") && j["marker"].is_string()) e.marker = j["marker"].get<std::string>();
    if (j.contains("n") && j["n"].is_number_integer()) e.n = j["n"].get<int>();
    if (j.contains("sent") && j["sent"].is_number_integer()) e.sent = j["sent"].get<int>();
    if (j.contains("stream") && j["stream"].is_boolean()) e.stream = j["stream"].get<bool>();
    if (j.contains("tokens") && j["tokens"].is_number_integer()) e.tokens = j["tokens"].get<int>();
    log.events_.push_back(std::move(e));
  }
  return log;
}

Result<MockLog> MockLog::Load(const std::string& url_or_path, double timeout_s) {
  if (url_or_path.rfind("http://", 0) == 0 || url_or_path.rfind("https://", 0) == 0) {
    RequestSpec get;
    get.method = "GET";
    get.url = url_or_path;
    HttpLimits limits;
    limits.connect_s = timeout_s;
    limits.first_byte_s = timeout_s;
    limits.idle_s = timeout_s;
    limits.total_s = timeout_s * 2;
    HttpResponse r = Fetch(get, limits);
    if (r.outcome != HttpOutcome::kComplete)
      return Status::Unavailable("cannot read mock-llm log '" + url_or_path + "': " + HttpOutcomeName(r.outcome) +
                                 (r.error.empty() ? "" : " (" + r.error + ")"));
    if (r.status != 200)
      return Status::Unavailable("cannot read mock-llm log '" + url_or_path + "': HTTP " + std::to_string(r.status));
    return Parse(r.body);
  }
  auto text = fs::ReadFile(url_or_path);
  if (!text.ok()) return text.status().Wrap("cannot read mock-llm log '" + url_or_path + "'");
  return Parse(*text);
}

std::vector<MockRequest> MockLog::Requests() const {
  std::map<std::string, MockRequest> by_id;
  std::vector<std::string> order;
  for (const auto& e : events_) {
    auto [it, inserted] = by_id.try_emplace(e.req);
    MockRequest& r = it->second;
    if (inserted) {
      r.req = e.req;
      r.start_ms = e.ms;
      order.push_back(e.req);
    }
    if (e.event == "request") {
      r.start_ms = e.ms;
      r.marker = e.marker;
      r.tokens_total = e.tokens;
    } else if (e.event == "token") {
      r.tokens_sent = std::max(r.tokens_sent, e.n);
      r.last_token_ms = e.ms;
      r.token_ms.push_back(e.ms);
    } else if (e.event == "done") {
      r.done = true;
      r.end_ms = e.ms;
    } else if (e.event == "cancel") {
      r.cancelled = true;
      r.end_ms = e.ms;
    }
  }
  std::vector<MockRequest> out;
  for (const auto& id : order) out.push_back(std::move(by_id[id]));
  return out;
}

std::vector<MockRequest> MockLog::Match(const std::string& marker, int64_t from_ms, int64_t to_ms) const {
  std::vector<MockRequest> all = Requests(), by_marker, by_time;
  for (auto& r : all) {
    if (!marker.empty() && r.marker == marker) by_marker.push_back(r);
    else if (r.marker.empty() && r.start_ms >= from_ms && r.start_ms <= to_ms) by_time.push_back(r);
  }
  return by_marker.empty() ? by_time : by_marker;
}

}  // namespace dsx::audit::probe
