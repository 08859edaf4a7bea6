// KeySlot: the Redis Cluster hash slot of a key (cluster spec, "Keys distribution model"):
// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0) of the key, mod 16384. When the key
// has a "{...}" with at least one character between the first '{' and the first '}' after it,
// only that part is hashed ("{user1000}.following" and "{user1000}.followers" share a slot;
// "foo{}{bar}" hashes the whole key).
#include "redis/client.hpp"

namespace dsx::redis {
namespace {

std::uint16_t Crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc ^= static_cast<std::uint16_t>(byte) << 8;
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

}  // namespace

std::uint16_t KeySlot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return Crc16(key) & 16383;
}

}  // namespace dsx::redis
