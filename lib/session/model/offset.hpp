// Stream offsets on the wire: "%016llu_%016llu" = <read sequence>_<byte position>.
//
// dsx always emits read sequence 0 and counts payload bytes (no framing), like the official
// Caddy server; the conformance suite hard-codes "0000000000000000_0000000000000000" (start)
// and "9999999999999999_9999999999999999" (beyond any tail), and lexicographic order of the
// strings equals stream order while positions stay below 10^16. See docs/protocol/streams.md.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

namespace dsx::session {

// A parsed `offset` query parameter.
struct OffsetParam {
  enum class Kind { kStart, kNow, kAt };
  Kind kind = Kind::kStart;
  std::uint64_t position = 0;  // kAt: byte position; kOffsetBeyond when past any real offset
};

// Position that no stream reaches (a nonzero read sequence, or digits that overflow).
inline constexpr std::uint64_t kOffsetBeyond = std::numeric_limits<std::uint64_t>::max();

// "0000000000000000_0000000000000042" for position 42.
std::string FormatOffset(std::uint64_t position);

// Accepts exactly "-1", "now" or <digits>_<digits> (already URL-decoded); nullopt otherwise.
// A nonzero read sequence or an overflowing number parses to kOffsetBeyond.
std::optional<OffsetParam> ParseOffset(std::string_view text);

// Like ParseOffset but only a concrete <digits>_<digits> offset (Stream-Fork-Offset).
std::optional<std::uint64_t> ParseConcreteOffset(std::string_view text);

// Strict non-negative decimal: ^(0|[1-9][0-9]*)$, fitting in 2^53-1 (JavaScript safe).
std::optional<std::uint64_t> ParseStrictUint(std::string_view text);

// Decimal digits only (leading zeros allowed), fitting in 2^53-1 (Producer-Epoch/Seq).
std::optional<std::uint64_t> ParseDigits(std::string_view text);

}  // namespace dsx::session
