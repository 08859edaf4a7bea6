// A scripted Transport for unit tests of any HTTP client code: each Send/Stream pops the next
// scripted reply and records the request, so tests assert exactly what went over the wire.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "net/transport.hpp"

namespace dsx::net::testing {

struct Scripted {
  Exchange exchange;                // status/headers (and body for Send)
  std::vector<std::string> chunks;  // Stream(): body pieces fed to on_body
};

inline Scripted Reply(int status, HeaderList headers = {}, std::string body = "") {
  Scripted s;
  s.exchange.maybe_delivered = true;
  s.exchange.response.status = status;
  s.exchange.response.headers = std::move(headers);
  s.exchange.response.body = std::move(body);
  return s;
}

// A transport failure; `delivered` says whether the request may have reached the server.
inline Scripted NetError(bool delivered, std::string why = "connection reset") {
  Scripted s;
  s.exchange.error = Status::Unavailable(std::move(why));
  s.exchange.maybe_delivered = delivered;
  return s;
}

inline Scripted SseReply(HeaderList headers, std::vector<std::string> chunks, bool then_error = false) {
  Scripted s = Reply(200, std::move(headers));
  s.chunks = std::move(chunks);
  if (then_error) s.exchange.error = Status::Unavailable("connection reset");
  return s;
}

class FakeTransport final : public Transport {
 public:
  std::deque<Scripted> script;
  std::vector<HttpRequest> requests;

  Exchange Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (script.empty()) return Exchange{Status::Unavailable("script exhausted"), false, {}};
    Scripted s = std::move(script.front());
    script.pop_front();
    return s.exchange;
  }

  Exchange Stream(const HttpRequest& request, const StreamHandler& handler) override {
    requests.push_back(request);
    if (script.empty()) return Exchange{Status::Unavailable("script exhausted"), false, {}};
    Scripted s = std::move(script.front());
    script.pop_front();
    Exchange head = s.exchange;
    if (!head.ok() && head.response.status == 0) return head;
    if (handler.on_headers && !handler.on_headers(head.response)) return Exchange{Status::Ok(), true, head.response};
    for (const auto& c : s.chunks) {
      if (!handler.on_body(c)) return Exchange{Status::Ok(), true, head.response};
    }
    return head;
  }

  // Header `name` of request `i` ("" when absent).
  std::string Header(size_t i, const std::string& name) const {
    for (const auto& [k, v] : requests.at(i).headers) {
      if (EqualsIgnoreCase(k, name)) return v;
    }
    return "";
  }
};

}  // namespace dsx::net::testing
