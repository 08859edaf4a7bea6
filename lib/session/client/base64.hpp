// Standard base64 (RFC 4648, padded): SSE data of binary streams, and binary data in
// `tail --json` records.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dsx::session::client {

std::string Base64Encode(std::string_view bytes);
// Ignores ASCII whitespace (SSE may split long lines); nullopt on any other invalid input.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace dsx::session::client
