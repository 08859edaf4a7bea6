// Little-endian fixed-width encoding and a bounds-checked decoder for the segment-log format
// (docs/formats/segment-log.md, "Byte order and primitive encodings").
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace dsx::session::filestore {

inline void PutU8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void PutU32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 4);
}
inline void PutU64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));
  out.append(b, 8);
}
inline void PutI64(std::string& out, std::int64_t v) { PutU64(out, static_cast<std::uint64_t>(v)); }
inline void PutStr(std::string& out, std::string_view s) {
  PutU32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}
inline std::uint32_t LoadU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline std::uint64_t LoadU64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}
inline void StoreU32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}

// Reads primitives from a byte range; any read past the end sets `ok() == false` and returns 0/"".
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

  std::uint8_t U8() { return Need(1) ? static_cast<std::uint8_t>(in_[pos_++]) : 0; }
  std::uint32_t U32() {
    if (!Need(4)) return 0;
    auto v = LoadU32(in_.data() + pos_);
    pos_ += 4;
    return v;
  }
  std::uint64_t U64() {
    if (!Need(8)) return 0;
    auto v = LoadU64(in_.data() + pos_);
    pos_ += 8;
    return v;
  }
  std::int64_t I64() { return static_cast<std::int64_t>(U64()); }
  std::string_view Bytes(std::size_t n) {
    if (!Need(n)) return {};
    auto v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  std::string Str() { return std::string(Bytes(U32())); }

 private:
  bool Need(std::size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace dsx::session::filestore
