#include "net/transport.hpp"

#include <cctype>

namespace dsx::net {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kComplete: return "complete";
    case Outcome::kAborted: return "aborted";
    case Outcome::kCancelled: return "cancelled";
    case Outcome::kConnectFailed: return "connect failed";
    case Outcome::kTimeoutConnect: return "connect timed out";
    case Outcome::kTimeoutFirstByte: return "no response in time";
    case Outcome::kTimeoutIdle: return "response stalled";
    case Outcome::kTimeoutTotal: return "time limit reached";
    case Outcome::kError: return "transfer error";
  }
  return "transfer error";
}

bool HttpResponse::Has(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return true;
  }
  return false;
}

}  // namespace dsx::net
