// Bearer tokens: JWTs signed with HS256 (shared secret) or EdDSA/Ed25519 (OpenSSL), carrying
// sub, exp, optional device and rights per session pattern (docs/protocol/sessions.md §7).
//
// A key file holds either an Ed25519 PEM key ("-----BEGIN PRIVATE KEY-----": sign and verify;
// "-----BEGIN PUBLIC KEY-----": verify only) or an HS256 secret (the raw file bytes, one
// trailing newline dropped, at least 32 bytes). A verifier accepts only its key's algorithm:
// `alg: none`, HS256 against an Ed25519 key (the classic confusion attack) and anything else
// are refused. Secrets and tokens are never logged.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.hpp"
#include "session/auth/rights.hpp"

namespace dsx::session::auth {

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

class TokenKey {
 public:
  enum class Alg { kHs256, kEdDsa };
  ~TokenKey();
  TokenKey(const TokenKey&) = delete;
  TokenKey& operator=(const TokenKey&) = delete;

  // Reads and parses a key file (see above). Errors name the file, never its content.
  static Result<std::unique_ptr<TokenKey>> FromFile(const std::string& path);
  // From bytes (tests): PEM text or an HS256 secret.
  static Result<std::unique_ptr<TokenKey>> FromBytes(std::string bytes);

  Alg alg() const { return alg_; }
  const char* AlgName() const { return alg_ == Alg::kHs256 ? "HS256" : "EdDSA"; }
  bool can_sign() const { return can_sign_; }

  // Signs `principal` (sub, device, grants) valid from now_s for ttl_s seconds.
  Result<std::string> Mint(const Principal& principal, std::int64_t now_s, std::int64_t ttl_s) const;
  // Verifies signature, algorithm and times; the error message is the 401 reason.
  Result<Principal> Verify(std::string_view token, std::int64_t now_s) const;

 private:
  TokenKey() = default;
  Result<std::string> Sign(std::string_view data) const;
  bool CheckSignature(std::string_view data, std::string_view sig) const;

  Alg alg_ = Alg::kHs256;
  bool can_sign_ = false;
  std::string secret_;    // HS256
  void* pkey_ = nullptr;  // EVP_PKEY* for EdDSA
};

}  // namespace dsx::session::auth
