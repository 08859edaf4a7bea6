#include "kernel/gen/events.hpp"

#include <cstdio>

#include "llm/http.hpp"

namespace dsx::kernel::gen {

void ProgressSink::Emit(const nlohmann::json& e) {
  std::string type = e.value("type", std::string());
  std::string line;
  if (type == "gen.start") {
    line = "run folder " + e.value("run_dir", std::string());
  } else if (type == "gen.prompt") {
    line = e.value("candidate", std::string()) + ": asking the model (prompt " +
           std::to_string(e.value("chars", 0)) + " chars)";
  } else if (type == "gen.result") {
    std::string extra;
    if (e.contains("meta") && e["meta"].contains("template")) extra = " [" + e["meta"]["template"].get<std::string>() + "]";
    line = e.value("candidate", std::string()) + extra + ": " + e.value("outcome", std::string()) + ": " +
           e.value("summary", std::string());
  } else if (type == "gen.error") {
    line = "stopped: " + e.value("message", std::string());
  } else {
    return;
  }
  std::fprintf(stderr, "dsx: kernel gen: %s\n", line.c_str());
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
    return Status::Usage("DSX_SERVER '" + server + "' is not an http(s) URL");
  return base + "/v1/stream/" + name;
}

Result<std::unique_ptr<SessionSink>> SessionSink::Open(const std::string& name, const std::string& server,
                                                      const std::string& token) {
  auto url = SessionStreamUrl(name, server);
  if (!url.ok()) return url.status();
  std::unique_ptr<SessionSink> s(new SessionSink(*url, token));
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
  llm::HttpOptions opts;
  opts.total_timeout_s = 30;
  auto r = llm::HttpSend("PUT", *url, headers, "", [](std::string_view) { return true; }, opts);
  if (!r.ok()) return r.status().Wrap("cannot create session '" + name + "'");
  long code = r->response.status;
  if (code == 200 || code == 201) return s;
  std::string why = "HTTP " + std::to_string(code);
  if (code == 409) why += ": it exists with another content type or is closed";
  if (code == 401 || code == 403)
    return Status::Conflict("cannot create session '" + name + "': " + why + " (check DSX_TOKEN)");
  return Status::Unavailable("cannot create session '" + name + "': " + why);
}

Status SessionSink::Post(const std::string& body) {
  std::vector<std::string> headers = {"Content-Type: application/json"};
  if (!token_.empty()) headers.push_back("Authorization: Bearer " + token_);
  llm::HttpOptions opts;
  opts.total_timeout_s = 30;
  auto r = llm::HttpPost(url_, headers, body, [](std::string_view) { return true; }, opts);
  if (!r.ok()) return r.status();
  if (r->response.status / 100 != 2) return Status::Failed("HTTP " + std::to_string(r->response.status));
  return {};
}

void SessionSink::Emit(const nlohmann::json& event) {
  Flush();
  Status s = Post(event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!s.ok() && failed_++ == 0)
    std::fprintf(stderr, "dsx: warning: cannot append to session '%s': %s (the run goes on)\n",
                 url_.c_str(), s.message().c_str());
}

void SessionSink::Token(const std::string& candidate, std::string_view text) {
  if (candidate != pending_candidate_) {
    Flush();
    pending_candidate_ = candidate;
  }
  if (pending_text_.empty()) pending_since_ = std::chrono::steady_clock::now();
  pending_text_.append(text);
  if (pending_text_.size() >= 256 ||
      std::chrono::steady_clock::now() - pending_since_ > std::chrono::milliseconds(250))
    Flush();
}

void SessionSink::Flush() {
  if (pending_text_.empty()) return;
  nlohmann::json ev = {{"type", "gen.token"}, {"candidate", pending_candidate_}, {"text", pending_text_}};
  pending_text_.clear();
  Status s = Post(ev.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!s.ok() && failed_++ == 0)
    std::fprintf(stderr, "dsx: warning: cannot append to session '%s': %s (the run goes on)\n",
                 url_.c_str(), s.message().c_str());
}

SessionSink::~SessionSink() { Flush(); }

}  // namespace dsx::kernel::gen
