// URI forms of the paths a report names, for SARIF (RFC 3986; SARIF 2.1.0 §3.10). A raw path with
// a space or a non-ASCII byte is not a URI reference, and code-scanning services reject the whole
// log over one such path (SARIF1002), so every path goes through these.
#pragma once

#include <string>
#include <string_view>

namespace dsx::audit {

// A relative path ('/' separators) as a relative URI reference: every byte outside RFC 3986's
// unreserved set, '/' and the sub-delimiters is percent-encoded (UTF-8 bytes each as %XX, so
// "my app/é.ts" becomes "my%20app/%C3%A9.ts"). ':' is encoded too, so that a first segment like
// "c:x" is not read as a scheme.
std::string PathToUriReference(std::string_view relative_path);

// An absolute POSIX directory as a file URI ending in '/', as originalUriBaseIds needs it:
// "/home/me/my app" -> "file:///home/me/my%20app/". "" for a path that is not absolute.
std::string DirectoryFileUri(std::string_view absolute_dir);

// Whether `s` is a URI reference RFC 3986 accepts: only unreserved, reserved and '%' followed by
// two hex digits. (A check for tests and for evidence that already holds a URL.)
bool IsUriReference(std::string_view s);

}  // namespace dsx::audit
