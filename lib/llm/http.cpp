#include "llm/http.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include <curl/curl.h>

namespace dsx::llm {
namespace {

constexpr size_t kErrorBodyCap = 64 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  const BodySink* sink = nullptr;
  HttpResponse* response = nullptr;
  bool aborted = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {  // a new response (after 100 Continue or a redirect)
    t->response->headers.clear();
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  t->response->headers[name] = std::string(value);
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  std::string_view piece(data, size * n);
  if (status >= 200 && status < 300) {
    if (!(*t->sink)(piece)) {
      t->aborted = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    return size * n;
  }
  auto& body = t->response->error_body;
  if (body.size() < kErrorBodyCap) body.append(piece.substr(0, kErrorBodyCap - body.size()));
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

Result<HttpResult> HttpPost(const std::string& url, const std::vector<std::string>& headers,
                            const std::string& body, const BodySink& sink,
                            const HttpOptions& options) {
  return HttpSend("POST", url, headers, body, sink, options);
}

Result<HttpResult> HttpSend(const std::string& method, const std::string& url,
                            const std::vector<std::string>& headers, const std::string& body,
                            const BodySink& sink, const HttpOptions& options) {
  GlobalInit();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Status::Failed("cannot start an HTTP client: curl_easy_init failed");
  std::unique_ptr<curl_slist, SlistDeleter> list;
  for (const auto& h : headers) {
    curl_slist* next = curl_slist_append(list.get(), h.c_str());
    if (!next) return Status::Failed("cannot build HTTP headers: out of memory");
    (void)list.release();
    list.reset(next);
  }
  // No "Expect: 100-continue" round trip for larger prompts.
  curl_slist* next = curl_slist_append(list.get(), "Expect:");
  (void)list.release();
  list.reset(next);

  HttpResult result;
  Transfer t{curl.get(), &sink, &result.response, false};
  char errbuf[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  if (method != "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, options.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, options.idle_timeout_s);
  if (options.total_timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, options.total_timeout_s);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // gzip when offered; SSE usually is not
  curl_easy_setopt(c, CURLOPT_USERAGENT, "dsx-llm/1");

  CURLcode rc = curl_easy_perform(c);
  if (t.aborted) {
    result.aborted = true;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.response.status);
    return result;
  }
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return Status::Unavailable("cannot reach '" + url + "': " + why);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.response.status);
  return result;
}

}  // namespace dsx::llm
