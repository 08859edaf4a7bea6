// What the two libcurl transports share (curl_transport.cpp: one transfer on the caller's thread;
// curl_multi_loop.cpp: many on one loop thread), so both word and classify an outcome the same way
// and read a request's limits the same way. Internal to lib/net.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <string>
#include <string_view>

namespace dsx::net::curl_detail {

using Steady = std::chrono::steady_clock;

// curl_global_init once per process, before the first handle.
void GlobalInitOnce();

std::string Trim(std::string_view s);

double MsSince(Steady::time_point t);

// Lowercase first letter, no trailing full stop: git-style "why" text from a curl code. Only
// curl's fixed texts are used (never its error buffer), so no URL or header can leak through.
std::string Describe(CURLcode code);

// The request never reached the server (safe to retry without an idempotency key).
bool NeverDelivered(CURLcode code);

// The failure happened while connecting (TCP or TLS), not in the middle of an exchange.
bool ConnectFailure(CURLcode code);

// A request's limit against the transport's default (see HttpRequest): 0 means none here.
long Pick(long requested, long fallback);

struct Limits {
  long connect_ms = 0, first_byte_ms = 0, idle_ms = 0, total_ms = 0;
};

}  // namespace dsx::net::curl_detail
