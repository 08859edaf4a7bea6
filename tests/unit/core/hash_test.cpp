#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "core/hash.hpp"

using namespace dsx::hash;

TEST_CASE("crc32c matches the RFC 3720 test vectors") {
  unsigned char buf[32];
  std::memset(buf, 0, sizeof buf);
  CHECK(Crc32c(buf, sizeof buf) == 0x8a9136aau);
  std::memset(buf, 0xff, sizeof buf);
  CHECK(Crc32c(buf, sizeof buf) == 0x62a8ab43u);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<unsigned char>(i);
  CHECK(Crc32c(buf, sizeof buf) == 0x46dd794eu);
  for (int i = 0; i < 32; ++i) buf[i] = static_cast<unsigned char>(31 - i);
  CHECK(Crc32c(buf, sizeof buf) == 0x113fdb5cu);
}

TEST_CASE("crc32c extends incrementally") {
  std::string s = "hello durable world, a longer string to cross the 8-byte path";
  uint32_t whole = Crc32c(s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    uint32_t part = Crc32cExtend(Crc32c(s.data(), cut), s.data() + cut, s.size() - cut);
    CHECK(part == whole);
  }
}

TEST_CASE("crc32c: the dispatched version equals the portable one at every length and alignment") {
  std::string s(300, '\0');
  uint32_t x = 12345;
  for (auto& ch : s) {
    x = x * 1103515245u + 12345u;
    ch = static_cast<char>(x >> 24);
  }
  for (size_t off = 0; off < 8; ++off) {
    for (size_t n = 0; off + n <= s.size(); n += (n < 40 ? 1 : 37)) {
      CHECK(Crc32cExtend(0x1234567u, s.data() + off, n) == Crc32cExtendPortable(0x1234567u, s.data() + off, n));
    }
  }
}

TEST_CASE("masking round-trips and changes the value") {
  for (uint32_t v : {0u, 1u, 0x8a9136aau, 0xffffffffu}) {
    CHECK(UnmaskCrc(MaskCrc(v)) == v);
    CHECK(MaskCrc(v) != v);
  }
}

TEST_CASE("sha256 known answers") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  CHECK(h.FinalHex() == Sha256Hex("abc"));
}
