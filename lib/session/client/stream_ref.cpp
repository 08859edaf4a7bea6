#include "session/client/stream_ref.hpp"

#include <cctype>

namespace dsx::session::client {
namespace {

bool IsUnreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

std::string Percent(unsigned char c) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "%";
  out += kHex[c >> 4];
  out += kHex[c & 15];
  return out;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IsHttpUrl(std::string_view s) { return StartsWith(s, "http://") || StartsWith(s, "https://"); }

}  // namespace

std::string EncodeQueryValue(std::string_view value) {
  std::string out;
  for (unsigned char c : value) out += IsUnreserved(c) ? std::string(1, static_cast<char>(c)) : Percent(c);
  return out;
}

std::string EncodePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    out += (IsUnreserved(c) || c == '/' || c == ':' || c == '@') ? std::string(1, static_cast<char>(c)) : Percent(c);
  }
  return out;
}

Result<StreamRef> ResolveStream(std::string_view name, std::string_view server) {
  if (name.empty()) return Status::Usage("stream name is empty");
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return Status::Usage("stream name '" + std::string(name) + "' contains a control character");
  }
  if (IsHttpUrl(name)) {
    std::string_view rest = name.substr(name.find("//") + 2);
    size_t slash = rest.find('/');
    if (rest.empty() || slash == 0) return Status::Usage("stream URL '" + std::string(name) + "' has no host");
    if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
      return Status::Usage("stream URL '" + std::string(name) + "' has no stream path");
    }
    if (name.find_first_of("?#") != std::string_view::npos) {
      return Status::Usage("stream URL '" + std::string(name) + "' must not have a query or fragment");
    }
    return StreamRef{std::string(name), std::string(name)};
  }
  if (name.find("://") != std::string_view::npos) {
    return Status::Usage("stream URL '" + std::string(name) + "' is not http or https");
  }
  if (name.find_first_of("?#") != std::string_view::npos) {
    return Status::Usage("stream name '" + std::string(name) + "' must not contain '?' or '#'");
  }
  // Names are relative to the stream prefix; a leading slash is tolerated ("/chat/42").
  std::string_view path = name;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return Status::Usage("stream name '" + std::string(name) + "' is empty");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty() && end != path.size()) {
      return Status::Usage("stream name '" + std::string(name) + "' has an empty path segment");
    }
    if (seg == "." || seg == "..") {
      return Status::Usage("stream name '" + std::string(name) + "' must not contain '.' or '..' segments");
    }
    start = end + 1;
  }
  if (path.back() == '/') return Status::Usage("stream name '" + std::string(name) + "' ends with '/'");

  std::string base = server.empty() ? std::string(kDefaultServer) : std::string(server);
  if (!IsHttpUrl(base)) {
    return Status::Usage("server '" + base + "' is not an http:// or https:// URL");
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.find_first_of("?#") != std::string::npos) {
    return Status::Usage("server '" + base + "' must not have a query or fragment");
  }
  return StreamRef{base + kStreamPrefix + EncodePath(path), std::string(name)};
}

std::optional<SessionUrls> SessionUrlsFor(std::string_view stream_url) {
  const std::size_t at = stream_url.find(kStreamPrefix);
  if (at == std::string_view::npos || stream_url.find_first_of("?#") != std::string_view::npos) return std::nullopt;
  const std::string base(stream_url.substr(0, at));
  const std::string id(stream_url.substr(at + std::string_view(kStreamPrefix).size()));
  if (id.empty()) return std::nullopt;
  SessionUrls u;
  u.session = base + "/v1/session/" + id;
  u.events = u.session + "/events";
  u.view = u.session + "/view";
  u.web = base + "/ui/" + id;
  return u;
}

bool IsValidOffsetArg(std::string_view offset) {
  if (offset == "-1" || offset == "now") return true;
  if (offset.empty() || offset.size() > 256) return false;
  for (unsigned char c : offset) {
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '~')) return false;
  }
  return true;
}

}  // namespace dsx::session::client
