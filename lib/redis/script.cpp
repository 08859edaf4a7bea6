// MakeScript: a Lua script and its SHA-1 (what EVALSHA names it by, as SCRIPT LOAD computes it).
#include <openssl/evp.h>

#include <cstdio>

#include "redis/client.hpp"

namespace dsx::redis {

Script MakeScript(std::string source) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(source.data(), source.size(), digest, &len, EVP_sha1(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  Script script;
  script.sha1.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    script.sha1.push_back(kHex[digest[i] >> 4]);
    script.sha1.push_back(kHex[digest[i] & 15]);
  }
  script.source = std::move(source);
  return script;
}

}  // namespace dsx::redis
