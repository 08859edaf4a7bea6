// Transport over libcurl: one easy handle, reused, so consecutive requests share a
// keep-alive connection. Not thread-safe: one CurlTransport per thread.
#pragma once

#include <memory>

#include "net/transport.hpp"

namespace dsx::net {

class CurlTransport final : public Transport {
 public:
  struct Options {
    long connect_timeout_ms = 5000;
    // A streaming response with no bytes for this long is considered dead (SSE servers send
    // keep-alive control events far more often than this).
    long stream_idle_timeout_s = 120;
  };
  CurlTransport();
  explicit CurlTransport(Options options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Exchange Send(const HttpRequest& request) override;
  Exchange Stream(const HttpRequest& request, const StreamHandler& handler) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dsx::net
