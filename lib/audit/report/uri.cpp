// Percent-encoding for SARIF URIs; see uri.hpp.
#include "audit/report/uri.hpp"

#include <cctype>

namespace dsx::audit {

namespace {

bool Unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }

bool SubDelim(unsigned char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' ||
         c == ';' || c == '=';
}

bool Reserved(unsigned char c) {
  return SubDelim(c) || c == ':' || c == '/' || c == '?' || c == '#' || c == '[' || c == ']' || c == '@';
}

void Encode(std::string& out, std::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (Unreserved(c) || SubDelim(c) || c == '/' || c == '@') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

std::string PathToUriReference(std::string_view relative_path) {
  std::string out;
  out.reserve(relative_path.size());
  Encode(out, relative_path);
  return out;
}

std::string DirectoryFileUri(std::string_view absolute_dir) {
  if (absolute_dir.empty() || absolute_dir.front() != '/') return "";
  std::string out = "file://";
  Encode(out, absolute_dir);
  if (out.back() != '/') out += '/';
  return out;
}

bool IsUriReference(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(s[i + 2])))
        return false;
      i += 2;
    } else if (!Unreserved(c) && !Reserved(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace dsx::audit
