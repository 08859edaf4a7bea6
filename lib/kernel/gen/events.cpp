#include "kernel/gen/events.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "net/curl_transport.hpp"
#include "net/http_status.hpp"

namespace dsx::kernel::gen {

void ProgressSink::Emit(const nlohmann::json& e) {
  std::string type = e.value("type", std::string());
  std::string line;
  if (type == "gen.start") {
    line = "run folder " + e.value("run_dir", std::string());
  } else if (type == "gen.prompt") {
    line = e.value("candidate", std::string()) + ": asking the model (prompt " + std::to_string(e.value("chars", 0)) +
           " chars)";
  } else if (type == "gen.result") {
    std::string extra;
    if (e.contains("meta") && e["meta"].contains("template"))
      extra = " [" + e["meta"]["template"].get<std::string>() + "]";
    line = e.value("candidate", std::string()) + extra + ": " + e.value("outcome", std::string()) + ": " +
           e.value("summary", std::string());
  } else {
    // gen.error is not printed here: the command reports why the search stopped once, as its
    // error (or, for a spent --max-time, as a notice); printing it here too said it twice.
    return;
  }
  std::fprintf(stderr, "dsx: kernel gen: %s\n", line.c_str());
}

namespace {

constexpr const char* kProgressKey = "kernel-gen";

// Cuts at `max` bytes without splitting a UTF-8 sequence.
std::string Cut(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

nlohmann::json ProgressDraft(const nlohmann::json& e, std::int64_t done) {
  nlohmann::json data = {{"done", done}, {"unit", "candidates"}, {"key", kProgressKey}};
  const int planned = e.value("planned", 0);
  if (planned > 0) data["total"] = planned;
  std::string label = "kernel gen";
  if (e.contains("task") && e["task"].is_string()) label += " " + e["task"].get<std::string>();
  data["label"] = Cut(label, 200);
  return {{"type", "progress"}, {"data", data}};
}

}  // namespace

std::vector<nlohmann::json> ProgressDrafts(const nlohmann::json& e) {
  const std::string type = e.value("type", std::string());
  std::vector<nlohmann::json> out;
  if (type == "gen.start") {
    out.push_back(ProgressDraft(e, 0));
  } else if (type == "gen.result") {
    const std::int64_t tried = e.value("tried", std::int64_t{0});
    out.push_back(ProgressDraft(e, tried));
    if (e.contains("best_score") && e["best_score"].is_number()) {
      out.push_back({{"type", "metric"},
                     {"data", {{"name", "best_speedup"}, {"step", tried}, {"value", e["best_score"]}}}});
    }
  }
  if (type == "gen.end") out.push_back(ProgressDraft(e, e.value("candidates", std::int64_t{0})));
  if (type == "gen.end" || type == "gen.summary") {
    // The fast_p curve of the run (gen.summary: of the task set): metric "fast_p", x = p, y = fraction.
    if (e.contains("fast_p") && e["fast_p"].is_object() && e["fast_p"].contains("thresholds") &&
        e["fast_p"]["thresholds"].is_array()) {
      std::vector<std::pair<double, double>> pts;
      for (const auto& t : e["fast_p"]["thresholds"])
        if (t.is_object() && t.contains("p") && t["p"].is_number() && t.contains("fraction") &&
            t["fraction"].is_number())
          pts.push_back({t["p"].get<double>(), t["fraction"].get<double>()});
      std::sort(pts.begin(), pts.end());
      for (const auto& [p, f] : pts)
        out.push_back({{"type", "metric"}, {"data", {{"name", "fast_p"}, {"step", p}, {"value", f}}}});
    }
  }
  return out;
}

nlohmann::json LeaderboardTableDraft(const nlohmann::json& board) {
  nlohmann::json rows = nlohmann::json::array();
  if (board.contains("entries") && board["entries"].is_array()) {
    for (const auto& en : board["entries"]) {
      if (rows.size() >= 1000) break;
      const int rank = en.value("rank", 0);
      rows.push_back({rank ? nlohmann::json(rank) : nlohmann::json(nullptr), en.value("id", std::string()),
                      en.value("outcome", std::string()), en.value("score", 0.0),
                      Cut(en.value("summary", std::string()), 200)});
    }
  }
  nlohmann::json data = {{"columns", {"rank", "id", "outcome", "score", "summary"}},
                         {"rows", rows},
                         {"title", Cut("kernel gen " + board.value("task", std::string()) + ": leaderboard", 200)},
                         {"key", "kernel-gen-leaderboard"}};
  return {{"type", "table"}, {"data", data}};
}

Result<std::string> SessionStreamUrl(const std::string& name, const std::string& server) {
  if (name.starts_with("http://") || name.starts_with("https://")) return name;
  if (name.empty()) return Status::Usage("empty session name");
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '/';
    if (!ok) return Status::Usage("session name '" + name + "' may hold only letters, digits and - _ . /");
  }
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string::npos ||
      name.find("..") != std::string::npos)
    return Status::Usage("session name '" + name + "' has an empty or '..' segment");
  std::string base = server.empty() ? "http://127.0.0.1:4437" : server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (!base.starts_with("http://") && !base.starts_with("https://"))
    return Status::Usage("server '" + server + "' is not an http(s) URL (--server or DSX_SERVER)");
  return base + "/v1/stream/" + name;
}

Result<std::unique_ptr<SessionSink>> SessionSink::Open(const std::string& name, const std::string& server,
                                                       const std::string& token,
                                                       std::unique_ptr<net::Transport> transport) {
  auto url = SessionStreamUrl(name, server);
  if (!url.ok()) return url.status();
  if (!transport) transport = std::make_unique<net::CurlTransport>();
  // The session of the same stream: its server and id, also when `name` is a full stream URL.
  std::string events_server = server.empty() ? "http://127.0.0.1:4437" : server;
  std::string session = name;
  if (auto at = url->find("/v1/stream/"); at != std::string::npos) {
    events_server = url->substr(0, at);
    session = url->substr(at + std::string("/v1/stream/").size());
  }
  std::unique_ptr<SessionSink> s(
      new SessionSink(std::move(transport), {*url, name}, token, events_server, session));
  net::HttpRequest req = s->client_.MakeRequest("PUT");
  req.headers.emplace_back("Content-Type", "application/json");
  req.timeout_ms = 30000;
  net::Exchange ex = s->transport_->Send(req);
  if (!ex.ok()) return s->client_.TransportError(ex).Wrap("cannot create session '" + name + "'");
  int code = ex.response.status;
  if (code == 200 || code == 201) return s;
  std::string why = "HTTP " + std::to_string(code);
  if (code == 409) why += ": it exists with another content type or is closed";
  if (code == 401 || code == 403) why += " (check --token or DSX_TOKEN)";
  return net::StatusFromHttp(code, why).Wrap("cannot create session '" + name + "'");
}

Status SessionSink::Post(const std::string& body) {
  net::HttpRequest req = client_.MakeRequest("POST");
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = body;
  req.timeout_ms = 30000;
  net::Exchange ex = transport_->Send(req);
  if (!ex.ok()) return client_.TransportError(ex);
  if (ex.response.status / 100 != 2) return Status::Failed("HTTP " + std::to_string(ex.response.status));
  return {};
}

void SessionSink::Warn(const Status& s) {
  if (!s.ok() && failed_++ == 0)
    std::fprintf(stderr, "dsx: warning: cannot append to session '%s': %s (the run goes on)\n", url().c_str(),
                 s.message().c_str());
}

void SessionSink::PostDraft(const nlohmann::json& draft) {
  auto answer = events_.Post(draft);
  if (!answer.ok()) return Warn(answer.status());
  if (answer->status / 100 != 2) Warn(answer->Refusal("cannot post a " + draft.value("type", std::string()) + " event"));
}

void SessionSink::Emit(const nlohmann::json& event) {
  Flush();
  Warn(Post(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  for (const auto& draft : ProgressDrafts(event)) PostDraft(draft);
}

void SessionSink::Finished(const nlohmann::json& leaderboard) {
  Flush();
  PostDraft(LeaderboardTableDraft(leaderboard));
}

void SessionSink::Token(const std::string& candidate, std::string_view text) {
  if (candidate != pending_candidate_) {
    Flush();
    pending_candidate_ = candidate;
  }
  if (pending_text_.empty()) pending_since_ = std::chrono::steady_clock::now();
  pending_text_.append(text);
  if (pending_text_.size() >= 256 || std::chrono::steady_clock::now() - pending_since_ > std::chrono::milliseconds(250))
    Flush();
}

void SessionSink::Flush() {
  if (pending_text_.empty()) return;
  nlohmann::json ev = {{"type", "gen.token"}, {"candidate", pending_candidate_}, {"text", pending_text_}};
  pending_text_.clear();
  Warn(Post(ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

SessionSink::~SessionSink() { Flush(); }

}  // namespace dsx::kernel::gen
