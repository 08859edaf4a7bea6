// A scripted Transport for unit tests of any HTTP client code: each Send/Stream pops the next
// scripted reply and records the request, so tests assert exactly what went over the wire.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "net/transport.hpp"

namespace dsx::net::testing {

struct Scripted {
  Exchange exchange;                // status/headers (and body for Send), outcome, error
  std::vector<std::string> chunks;  // Stream(): body pieces fed to on_body
};

inline Scripted Reply(int status, HeaderList headers = {}, std::string body = "") {
  Scripted s;
  s.exchange.maybe_delivered = true;
  s.exchange.outcome = Outcome::kComplete;
  s.exchange.response.status = status;
  s.exchange.response.headers = std::move(headers);
  s.exchange.response.body = std::move(body);
  return s;
}

// A transport failure; `delivered` says whether the request may have reached the server
// (not delivered: a connect failure, as for a refused connection).
inline Scripted NetError(bool delivered, std::string why = "connection reset") {
  Scripted s;
  s.exchange.error = Status::Unavailable(std::move(why));
  s.exchange.maybe_delivered = delivered;
  s.exchange.outcome = delivered ? Outcome::kError : Outcome::kConnectFailed;
  return s;
}

// A timeout of the given kind (kTimeoutConnect: never delivered). For kTimeoutIdle and
// kTimeoutTotal on a Stream(), `status` and `chunks` say what arrived before the stall.
inline Scripted TimedOut(Outcome kind, int status = 0, std::vector<std::string> chunks = {}) {
  Scripted s;
  s.exchange.outcome = kind;
  s.exchange.error = Status::Unavailable(std::string(OutcomeName(kind)));
  s.exchange.maybe_delivered = kind != Outcome::kTimeoutConnect;
  s.exchange.response.status = status;
  s.chunks = std::move(chunks);
  return s;
}

inline Scripted SseReply(HeaderList headers, std::vector<std::string> chunks, bool then_error = false) {
  Scripted s = Reply(200, std::move(headers));
  s.chunks = std::move(chunks);
  if (then_error) {
    s.exchange.error = Status::Unavailable("connection reset");
    s.exchange.outcome = Outcome::kError;
  }
  return s;
}

class FakeTransport final : public Transport {
 public:
  std::deque<Scripted> script;
  std::vector<HttpRequest> requests;

  Exchange Send(const HttpRequest& request) override {
    requests.push_back(request);
    if (Cancelled(request)) return CancelledExchange(false);
    if (script.empty()) return Exhausted();
    Scripted s = std::move(script.front());
    script.pop_front();
    return s.exchange;
  }

  // Feeds the scripted chunks to `handler`; a scripted error (status 0: before the head) ends
  // the exchange after the chunks. The request's cancel flag is checked before each callback.
  Exchange Stream(const HttpRequest& request, const StreamHandler& handler) override {
    requests.push_back(request);
    if (Cancelled(request)) return CancelledExchange(false);
    if (script.empty()) return Exhausted();
    Scripted s = std::move(script.front());
    script.pop_front();
    Exchange head = s.exchange;
    if (!head.ok() && head.response.status == 0) return head;
    if (Cancelled(request)) return CancelledExchange(true, head.response);
    if (handler.on_headers && !handler.on_headers(head.response)) return Aborted(head.response);
    for (const auto& c : s.chunks) {
      if (Cancelled(request)) return CancelledExchange(true, head.response);
      if (handler.on_body && !handler.on_body(c)) return Aborted(head.response);
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

 private:
  static bool Cancelled(const HttpRequest& r) { return r.cancel && r.cancel->load(); }
  static Exchange Exhausted() {
    Exchange e;
    e.error = Status::Unavailable("script exhausted");
    e.outcome = Outcome::kConnectFailed;
    return e;
  }
  static Exchange CancelledExchange(bool delivered, HttpResponse head = {}) {
    Exchange e;
    e.error = Status::Interrupted("cancelled");
    e.outcome = Outcome::kCancelled;
    e.maybe_delivered = delivered;
    e.response = std::move(head);
    return e;
  }
  static Exchange Aborted(HttpResponse head) {
    Exchange e;
    e.maybe_delivered = true;
    e.outcome = Outcome::kAborted;
    e.response = std::move(head);
    return e;
  }
};

}  // namespace dsx::net::testing
