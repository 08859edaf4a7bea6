#include "core/utf8.hpp"

#include <doctest/doctest.h>

using dsx::IsValidUtf8;

TEST_CASE("UTF-8 validation") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain"));
  CHECK(IsValidUtf8("\xc3\xa9"));  // two bytes, at the very end
  CHECK(IsValidUtf8("\xe2\x82\xac \xf0\x9f\x98\x80"));
  CHECK_FALSE(IsValidUtf8("\x81"));              // a lone continuation byte
  CHECK_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong
  CHECK_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  CHECK_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  CHECK_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // > U+10FFFF
}

TEST_CASE("FirstInvalidUtf8 gives the offset of the first bad sequence") {
  CHECK(dsx::FirstInvalidUtf8("plain") == std::string_view::npos);
  CHECK(dsx::FirstInvalidUtf8("caf\xC3\xA9") == std::string_view::npos);
  CHECK(dsx::FirstInvalidUtf8("ab\xA4"
                              "cd") == 2);
  CHECK(dsx::FirstInvalidUtf8("ab\xC3") == 2);           // truncated at the end
  CHECK(dsx::FirstInvalidUtf8("\xC0\x80") == 0);         // overlong
  CHECK(dsx::FirstInvalidUtf8("ok \xED\xA0\x80") == 3);  // a surrogate
}
