// Hashes: SHA-256 (content addressing, cache keys) and CRC-32C (record checksums).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dsx::hash {

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Incremental SHA-256 for several inputs (source + headers + options...).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  std::string FinalHex();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so OpenSSL headers stay out of users
};

// CRC-32C (Castagnoli). Extend(crc, data) continues a running crc.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }
// The table-driven version Crc32cExtend uses where the CPU has no CRC-32C instruction (exposed
// so tests can compare the two).
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);

// Stored CRCs are masked: a CRC computed over data that itself contains CRCs is weak
// (same reasoning as LevelDB's crc32c::Mask).
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc(uint32_t m) {
  uint32_t rot = m - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace dsx::hash
