// The web UI files (web/*) embedded into the binary at build time (web/embed.cmake).
#pragma once

#include <cstddef>
#include <string_view>

namespace dsx::web {

struct WebAsset {
  std::string_view name;          // file name, e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  std::string_view etag;          // strong ETag, quoted: "\"0123456789abcdef\""
};

// The asset called `name` ("index.html", "dsx-session.js", ...), or null.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace dsx::web
