#include "redis/sentinel.hpp"

#include "redis/reply.hpp"
#include "redis/url.hpp"

namespace dsx::redis {

Result<Endpoint> AskSentinels(const std::vector<Endpoint>& sentinels, const std::string& master_name,
                              const Credentials& credentials, std::chrono::milliseconds connect_timeout,
                              std::chrono::milliseconds command_timeout) {
  std::string reasons;
  auto note = [&](const Endpoint& s, const std::string& why) {
    if (!reasons.empty()) reasons += "; ";
    reasons += "sentinel " + FormatEndpoint(s) + ": " + why;
  };
  const std::vector<std::string> ask = {"SENTINEL", "get-master-addr-by-name", master_name};
  for (const Endpoint& s : sentinels) {
    auto c = ConnectContext(s, connect_timeout, command_timeout);
    if (!c.ok()) {
      note(s, c.status().message());
      continue;
    }
    auto r = RunCommand(c->get(), ask);
    if (r.ok() && IsErrorWith(*r, "NOAUTH") && !credentials.password.empty()) {
      Credentials auth = credentials;
      auth.db = 0;
      Status a = Handshake(c->get(), auth);
      if (!a.ok()) {
        note(s, a.message());
        continue;
      }
      r = RunCommand(c->get(), ask);
    }
    if (!r.ok()) {
      note(s, r.status().message());
      continue;
    }
    if (r->is_error()) {
      note(s, r->str);
      continue;
    }
    if (r->type != Reply::Type::kArray || r->elements.size() != 2) {
      note(s, "does not know master '" + master_name + "'");
      continue;
    }
    const std::string& port = r->elements[1].str;
    Endpoint ep;
    ep.host = r->elements[0].str;
    try {
      const int p = std::stoi(port);
      if (p < 1 || p > 65535) throw std::out_of_range("port");
      ep.port = static_cast<std::uint16_t>(p);
    } catch (const std::exception&) {
      note(s, "bad port '" + port + "' in its answer");
      continue;
    }
    return ep;
  }
  return Status::Unavailable("no sentinel answered for master '" + master_name + "' (" + reasons + ")");
}

}  // namespace dsx::redis
