#include <doctest/doctest.h>

#include "redis/client.hpp"

using dsx::redis::KeySlot;
using dsx::redis::MakeScript;

TEST_CASE("KeySlot: known vectors (CRC16/XMODEM mod 16384)") {
  CHECK(KeySlot("foo") == 12182);
  CHECK(KeySlot("123456789") == (0x31C3 & 16383));  // the CRC16/XMODEM check value
  CHECK(KeySlot("") == 0);
}

TEST_CASE("KeySlot: {hash tags}") {
  CHECK(KeySlot("{user1000}.following") == KeySlot("{user1000}.followers"));
  CHECK(KeySlot("{user1000}.following") == KeySlot("user1000"));
  CHECK(KeySlot("foo{bar}zap") == KeySlot("bar"));
  CHECK(KeySlot("foo{bar}{zap}") == KeySlot("bar"));  // the first {...} only
  CHECK(KeySlot("foo{{bar}}zap") == KeySlot("{bar"));  // from the first '{' to the first '}'
}

TEST_CASE("KeySlot: empty or unclosed tags hash the whole key") {
  // Expected values: CRC16/XMODEM of the whole key mod 16384 (python3 binascii.crc_hqx(key, 0)).
  CHECK(KeySlot("foo{}{bar}") == 8363);  // "{}" has nothing inside: the whole key, not "bar"
  CHECK(KeySlot("bar") == 5061);
  CHECK(KeySlot("{}") == 15257);
  CHECK(KeySlot("foo{bar") == 15278);  // no closing brace
  CHECK(KeySlot("{user1000}.following") == 3443);  // == KeySlot("user1000")
}

TEST_CASE("MakeScript: SHA-1 of the source, as SCRIPT LOAD names it") {
  auto s = MakeScript("return 1");
  CHECK(s.source == "return 1");
  CHECK(s.sha1 == "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
  CHECK(MakeScript("").sha1 == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}
