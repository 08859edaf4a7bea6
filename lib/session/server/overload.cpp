#include "session/server/overload.hpp"

#include "session/server/auth_gate.hpp"

namespace dsx::session::server {

Response OverloadResponse(unsigned version, const std::string& why) {
  Request stub;
  stub.version(version);
  stub.keep_alive(false);
  Response res = JsonError(stub, 503, why);
  res.set(http::field::retry_after, "1");
  res.keep_alive(false);
  return res;
}

std::string OverloadBytes(const std::string& why) {
  const Response res = OverloadResponse(11, why);
  std::string out = "HTTP/1.1 503 Service Unavailable\r\n";
  for (const auto& field : res) {
    out.append(field.name_string().data(), field.name_string().size());
    out += ": ";
    out.append(field.value().data(), field.value().size());
    out += "\r\n";
  }
  out += "\r\n";
  out += res.body();
  return out;
}

}  // namespace dsx::session::server
