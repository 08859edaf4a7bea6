#include "audit/probe/http_client.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <mutex>

namespace dsx::audit::probe {
namespace {

using Clock = std::chrono::steady_clock;

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

struct Transfer {
  HttpResponse* response;
  const BodyFn* on_body;
  const std::atomic<bool>* abort;
  const HttpLimits* limits;
  Clock::time_point start;
  bool got_status = false;
  bool dropped = false;
  bool first_byte_timeout = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (also after 1xx or a redirect): start the header list afresh.
    t->response->headers.clear();
    t->got_status = true;
    if (auto sp = line.find(' '); sp != std::string_view::npos) {
      try {
        t->response->status = std::stol(std::string(line.substr(sp + 1, 3)));
      } catch (...) {
        t->response->status = 0;
      }
    }
    t->response->first_byte_s = std::chrono::duration<double>(Clock::now() - t->start).count();
    return line.size();
  }
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                      Trim(line.substr(colon + 1)));
  }
  return line.size();
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view chunk(data, size * count);
  t->response->body.append(chunk);
  if (t->abort && t->abort->load()) {
    t->dropped = true;
    return CURL_WRITEFUNC_ERROR;
  }
  if (t->on_body && *t->on_body && !(*t->on_body)(chunk, *t->response)) {
    t->dropped = true;
    return CURL_WRITEFUNC_ERROR;  // libcurl closes the connection: a hard drop
  }
  return chunk.size();
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->abort && t->abort->load()) {
    t->dropped = true;
    return 1;
  }
  if (!t->got_status) {
    double waited = std::chrono::duration<double>(Clock::now() - t->start).count();
    if (waited > t->limits->first_byte_s) {
      t->first_byte_timeout = true;
      return 1;
    }
  }
  return 0;
}

}  // namespace

const char* HttpOutcomeName(HttpOutcome o) {
  switch (o) {
    case HttpOutcome::kComplete: return "complete";
    case HttpOutcome::kDropped: return "dropped";
    case HttpOutcome::kConnectFailed: return "connect failed";
    case HttpOutcome::kTimeoutConnect: return "connect timed out";
    case HttpOutcome::kTimeoutFirstByte: return "no response in time";
    case HttpOutcome::kTimeoutIdle: return "stream stalled";
    case HttpOutcome::kTimeoutTotal: return "read time limit reached";
    case HttpOutcome::kError: return "transfer error";
  }
  return "transfer error";
}

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return "";
}

HttpResponse Fetch(const RequestSpec& request, const HttpLimits& limits, const BodyFn& on_body,
                   const std::atomic<bool>* abort) {
  GlobalInitOnce();
  HttpResponse response;
  CURL* curl = curl_easy_init();
  if (!curl) {
    response.error = "cannot create a libcurl handle";
    return response;
  }
  Transfer t{&response, &on_body, abort, &limits, Clock::now()};

  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  // Never let libcurl add "Expect: 100-continue": some servers stall on it.
  headers = curl_slist_append(headers, "Expect:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);  // no gzip: it buffers streams
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_s * 1000));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(limits.total_s * 1000));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(std::ceil(std::max(1.0, limits.idle_s))));
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "dsx-audit-probe/1");

  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = t.got_status ? status : 0;
  response.elapsed_s = std::chrono::duration<double>(Clock::now() - t.start).count();

  if (rc == CURLE_OK) {
    response.outcome = HttpOutcome::kComplete;
  } else if (t.dropped) {
    response.outcome = HttpOutcome::kDropped;
  } else if (t.first_byte_timeout) {
    response.outcome = HttpOutcome::kTimeoutFirstByte;
  } else if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
             rc == CURLE_SSL_CONNECT_ERROR) {
    response.outcome = HttpOutcome::kConnectFailed;
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    // Connected but silent is a hang, not a connect timeout: under load curl's low-speed
    // limit can fire before our first-byte check does, so ask curl whether it connected.
    curl_off_t connect_us = 0;
    curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (!t.got_status && connect_us == 0 && response.elapsed_s + 0.05 < limits.total_s)
      response.outcome = HttpOutcome::kTimeoutConnect;
    else if (!t.got_status)
      response.outcome = HttpOutcome::kTimeoutFirstByte;
    else if (response.elapsed_s + 0.05 >= limits.total_s)
      response.outcome = HttpOutcome::kTimeoutTotal;
    else
      response.outcome = HttpOutcome::kTimeoutIdle;
  } else {
    response.outcome = HttpOutcome::kError;
  }
  if (response.outcome != HttpOutcome::kComplete && response.outcome != HttpOutcome::kDropped)
    response.error = curl_easy_strerror(rc);

  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return response;
}

}  // namespace dsx::audit::probe
