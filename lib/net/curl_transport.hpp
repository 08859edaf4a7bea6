// Transport over libcurl: one easy handle in one multi handle, both reused, so consecutive
// requests share a keep-alive connection. Not thread-safe: one CurlTransport per thread (a
// request's `cancel` flag is the one thing another thread may touch).
//
// The transfer runs in a loop that wakes at least every 100 ms, so cancellation and the
// first-byte, idle and total limits are checked there (to the millisecond, not curl's whole
// seconds); curl itself enforces only the connect limit.
//
// Environment, read when the transport is made:
//   http_proxy, https_proxy, all_proxy, no_proxy (and upper-case forms): libcurl's own rules.
//   CURL_CA_BUNDLE, else SSL_CERT_FILE: a PEM file of CA certificates to trust (CURLOPT_CAINFO).
//   SSL_CERT_DIR: a directory of hashed CA certificates (CURLOPT_CAPATH).
// Unset, libcurl's built-in CA store is used.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "net/transport.hpp"

namespace dsx::net {

struct CaLocations {
  std::string file;  // CURLOPT_CAINFO; "" = libcurl's default
  std::string dir;   // CURLOPT_CAPATH; "" = libcurl's default
};

// The CA settings named by the environment (see above). `getenv` is injectable for tests.
CaLocations CaLocationsFromEnv(const std::function<const char*(const char*)>& getenv = {});

class CurlTransport final : public Transport {
 public:
  // Defaults for requests whose limit is 0 (see HttpRequest); 0 here means none.
  struct Options {
    long connect_timeout_ms = 5000;
    // Stream() only: a streaming response with no bytes for this long is considered dead (SSE
    // servers send keep-alive control events far more often than this).
    long stream_idle_timeout_s = 120;
    long first_byte_timeout_ms = 0;
    long idle_timeout_ms = 0;  // Send() too
    long total_timeout_ms = 0;
    std::string user_agent;  // "" = none sent
    // CA settings; when both are empty, CaLocationsFromEnv() is used.
    CaLocations ca;
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
