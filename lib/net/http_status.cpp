#include "net/http_status.hpp"

namespace dsx::net {

Status StatusFromHttp(int s, std::string message) {
  if (s >= 200 && s < 300) return Status::Ok();
  if (s == 404 || s == 410) return Status::NotFound(std::move(message));
  if (s == 401 || s == 403 || s == 409) return Status::Conflict(std::move(message));
  if (s == 502 || s == 503 || s == 504) return Status::Unavailable(std::move(message));
  return Status::Failed(std::move(message));
}

Status StatusFromFailedExchange(const Exchange& exchange, std::string_view server) {
  std::string why = exchange.error.ok() ? std::string("no answer") : exchange.error.message();
  if (!server.empty()) why += " (" + std::string(server) + ")";
  return Status::Unavailable(std::move(why));
}

}  // namespace dsx::net
