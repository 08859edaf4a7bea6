#include "session/server/ui_routes.hpp"

#include <optional>
#include <string>
#include <string_view>

#include "web_assets.hpp"

namespace dsx::session::server {
namespace {

constexpr std::string_view kUi = "/ui";
// Scripts, styles and connections only from this origin; no inline code, no framing.
constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Response Asset(const Request& req, const web::WebAsset& a) {
  const bool head = req.method() == http::verb::head;
  auto inm = req.find(http::field::if_none_match);
  const bool fresh = inm != req.end() && std::string_view(inm->value().data(), inm->value().size()) == a.etag;
  Response res{fresh ? http::status::not_modified : http::status::ok, req.version()};
  res.keep_alive(req.keep_alive());
  AddCommonHeaders(res);
  res.set(http::field::etag, boost::beast::string_view(a.etag.data(), a.etag.size()));
  // Revalidate every time: the ETag makes that a 304, and a new binary's UI is used at once.
  res.set(http::field::cache_control, "no-cache");
  res.set("Content-Security-Policy", boost::beast::string_view(kCsp.data(), kCsp.size()));
  res.set("Referrer-Policy", "no-referrer");
  if (fresh) return res;
  res.set(http::field::content_type, boost::beast::string_view(a.content_type.data(), a.content_type.size()));
  if (head) {
    res.content_length(a.body.size());
  } else {
    res.body().assign(a.body.data(), a.body.size());
    res.prepare_payload();
  }
  return res;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

RouteOutcome Answer(Response res) {
  RouteOutcome o;
  o.kind = RouteOutcome::Kind::kResponse;
  o.response = std::move(res);
  return o;
}

}  // namespace

std::optional<std::string> UiSessionId(std::string_view rest) {
  // As app.js (sessionFromPath): split at '/', drop empty pieces, percent-decode each, join
  // with '/'. An escaped '/' (%2F) becomes a separator of the id.
  std::string id;
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    const std::string_view raw = rest.substr(start, slash - start);
    if (!raw.empty()) {
      if (!id.empty()) id.push_back('/');
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '%') {
          id.push_back(raw[i]);
          continue;
        }
        // decodeURIComponent throws on a malformed escape: the page would show nothing.
        if (i + 2 >= raw.size() || Hex(raw[i + 1]) < 0 || Hex(raw[i + 2]) < 0) return std::nullopt;
        id.push_back(static_cast<char>(Hex(raw[i + 1]) * 16 + Hex(raw[i + 2])));
        i += 2;
      }
    }
    start = slash + 1;
  }
  // The rules of a session id (session_routes.cpp): no empty, '.' or '..' segment after
  // decoding, no control characters. A '..' would be resolved away by the browser when the
  // page builds its URLs (/v1/session/x/../b/ws is /v1/session/b/ws): the page would show
  // one session and connect to another.
  if (id.size() > 1024) return std::nullopt;
  start = 0;
  while (start <= id.size()) {
    std::size_t slash = id.find('/', start);
    if (slash == std::string::npos) slash = id.size();
    const std::string_view seg = std::string_view(id).substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return id.empty() ? std::optional<std::string>(id) : std::nullopt;
    for (char c : seg) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
    }
    start = slash + 1;
  }
  return id;
}

bool ServeUi(const Request& req, RouteDone& done) {
  std::string_view target(req.target().data(), req.target().size());
  const std::size_t q = target.find_first_of("?#");
  std::string_view path = target.substr(0, q);
  if (path.rfind(kUi, 0) != 0 || (path.size() > kUi.size() && path[kUi.size()] != '/')) return false;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    Response res = ErrorResponse(req, http::status::method_not_allowed, "method not allowed: GET or HEAD");
    res.set(http::field::allow, "GET, HEAD");
    done(Answer(std::move(res)));
    return true;
  }
  std::string_view rest = path.size() > kUi.size() ? path.substr(kUi.size() + 1) : std::string_view();
  // A client file by name (top-level names, and the migration kit's modules under kit/, see
  // web/CMakeLists.txt); anything else is a session id (percent-encoded or with '/', as in
  // stream paths: /ui/chat/42) and gets the page, which reads the id from its own URL.
  const bool file = rest.find('/') == std::string_view::npos || rest.starts_with("kit/");
  const web::WebAsset* a = file ? web::FindWebAsset(rest) : nullptr;
  if (!a || rest == "index.html") {
    if (!a && !UiSessionId(rest)) {
      done(Answer(ErrorResponse(req, http::status::bad_request,
                                "invalid session id in '" + std::string(path) + "': no '.', '..' or empty segments")));
      return true;
    }
    a = web::FindWebAsset("index.html");
  }
  if (!a) {
    done(Answer(ErrorResponse(req, http::status::not_found, "web UI not built in")));
    return true;
  }
  done(Answer(Asset(req, *a)));
  return true;
}

}  // namespace dsx::session::server
