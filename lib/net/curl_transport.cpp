#include "net/curl_transport.hpp"

#include <curl/curl.h>

#include <cctype>
#include <mutex>

namespace dsx::net {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// Lowercase first letter, no trailing full stop: git-style "why" text from a curl code.
std::string Describe(CURLcode code) {
  // A few curl texts read badly in a dsx message; say what happened instead.
  if (code == CURLE_PARTIAL_FILE) return "connection closed in the middle of a response";
  if (code == CURLE_GOT_NOTHING) return "server closed the connection without answering";
  if (code == CURLE_COULDNT_CONNECT) return "cannot connect to server";
  std::string s = curl_easy_strerror(code);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

bool NeverDelivered(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
         code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_UNSUPPORTED_PROTOCOL ||
         code == CURLE_URL_MALFORMAT;
}

// Per-transfer state shared with the libcurl callbacks.
struct Transfer {
  HttpResponse head;            // status + headers of the final response
  std::string* body = nullptr;  // buffered mode
  const StreamHandler* handler = nullptr;  // streaming mode
  bool headers_done = false;
  bool aborted_by_handler = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line: interim responses (100 Continue) and their headers are discarded.
    t->head.headers.clear();
    t->headers_done = false;
    size_t sp = line.find(' ');
    t->head.status = sp == std::string_view::npos ? 0 : std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    return n;
  }
  std::string trimmed = Trim(line);
  if (trimmed.empty()) {
    if (t->head.status >= 200) {
      t->headers_done = true;
      if (t->handler && t->handler->on_headers && !t->handler->on_headers(t->head)) {
        t->aborted_by_handler = true;
        return 0;
      }
    }
    return n;
  }
  size_t colon = trimmed.find(':');
  if (colon != std::string::npos) {
    t->head.headers.emplace_back(Trim(std::string_view(trimmed).substr(0, colon)),
                                 Trim(std::string_view(trimmed).substr(colon + 1)));
  }
  return n;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->body) {
    t->body->append(data, n);
    return n;
  }
  if (t->handler && t->handler->on_body && !t->handler->on_body(std::string_view(data, n))) {
    t->aborted_by_handler = true;
    return 0;
  }
  return n;
}

}  // namespace

struct CurlTransport::Impl {
  Options options;
  CURL* curl = nullptr;

  Exchange Run(const HttpRequest& request, Transfer& transfer, bool streaming) {
    Exchange out;
    curl_easy_reset(curl);  // keeps the connection cache, drops the previous request's options
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
    if (request.timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, request.timeout_ms);
    if (streaming) {
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
      curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, options.stream_idle_timeout_s);
    }
    if (request.method == "GET") {
      curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (request.method == "HEAD") {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
      if (request.method != "DELETE" || !request.body.empty()) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      }
    }
    struct curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    if (request.method == "POST" || request.method == "PUT") {
      bool has_ct = false;
      for (const auto& [k, v] : request.headers) has_ct = has_ct || EqualsIgnoreCase(k, "Content-Type");
      // libcurl would add a form content type to a POST without one; send an empty value instead.
      if (!has_ct) headers = curl_slist_append(headers, "Content-Type:");
    }
    for (const auto& [k, v] : request.headers) {
      std::string line = k + ": " + v;
      headers = curl_slist_append(headers, line.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);

    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    out.response = transfer.head;
    if (rc != CURLE_OK && !(transfer.aborted_by_handler && rc == CURLE_WRITE_ERROR)) {
      out.error = Status::Unavailable(Describe(rc));
      out.maybe_delivered = !NeverDelivered(rc);
    } else {
      out.maybe_delivered = true;
    }
    return out;
  }
};

CurlTransport::CurlTransport() : CurlTransport(Options{}) {}

CurlTransport::CurlTransport(Options options) : impl_(std::make_unique<Impl>()) {
  GlobalInitOnce();
  impl_->options = options;
  impl_->curl = curl_easy_init();
}

CurlTransport::~CurlTransport() {
  if (impl_ && impl_->curl) curl_easy_cleanup(impl_->curl);
}

Exchange CurlTransport::Send(const HttpRequest& request) {
  if (!impl_->curl) return Exchange{Status::Failed("cannot initialise libcurl"), false, {}};
  Transfer transfer;
  std::string body;
  transfer.body = &body;
  Exchange out = impl_->Run(request, transfer, false);
  out.response.body = std::move(body);
  return out;
}

Exchange CurlTransport::Stream(const HttpRequest& request, const StreamHandler& handler) {
  if (!impl_->curl) return Exchange{Status::Failed("cannot initialise libcurl"), false, {}};
  Transfer transfer;
  transfer.handler = &handler;
  return impl_->Run(request, transfer, true);
}

}  // namespace dsx::net
