// Steer data -> Control (steer_control.hpp).
#include "autolab/session/steer_control.hpp"

#include <cctype>
#include <string>
#include <string_view>

namespace dsx::autolab {
namespace {

constexpr const char* kAccepted = "an autolab run takes the steer 'stop', 'pause' or 'resume'";

std::string Lower(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// What was sent, short enough for an ack's reason: at most 80 bytes, cut at a UTF-8 boundary.
std::string Shown(const std::string& s) {
  if (s.size() <= 80) return s;
  std::size_t n = 77;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // not inside a sequence
  return s.substr(0, n) + "...";
}

Result<Control> FromWord(const std::string& raw) {
  const std::string w = Lower(Trim(raw));
  if (w == "stop") return Control::kStop;
  if (w == "pause") return Control::kPause;
  if (w == "resume" || w == "run") return Control::kRun;
  return Status::Usage(std::string(kAccepted) + " (got '" + Shown(raw) + "')");
}

}  // namespace

Result<Control> ControlFromSteer(const nlohmann::json& data) {
  if (!data.is_object()) return Status::Usage(kAccepted);
  if (auto t = data.find("text"); t != data.end() && t->is_string()) return FromWord(t->get<std::string>());
  if (auto j = data.find("json"); j != data.end()) {
    if (j->is_string()) return FromWord(j->get<std::string>());
    if (j->is_object()) {
      if (auto c = j->find("control"); c != j->end() && c->is_string()) return FromWord(c->get<std::string>());
    }
    return Status::Usage(std::string(kAccepted) + " (as data.json: a string or {\"control\": word})");
  }
  return Status::Usage(kAccepted);
}

}  // namespace dsx::autolab
