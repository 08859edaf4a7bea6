#include "session/auth/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "session/model/json_input.hpp"

namespace dsx::session::auth {
namespace {

using nlohmann::json;

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int Index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

EVP_PKEY* Key(void* p) { return static_cast<EVP_PKEY*>(p); }

}  // namespace

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
  } else if (i + 2 == in.size()) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = Index(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

TokenKey::~TokenKey() {
  if (pkey_) EVP_PKEY_free(Key(pkey_));
  OPENSSL_cleanse(secret_.data(), secret_.size());
}

Result<std::unique_ptr<TokenKey>> TokenKey::FromFile(const std::string& path) {
  auto bytes = fs::ReadFile(path);
  if (!bytes.ok()) return Status::Usage("cannot read auth key file '" + path + "': " + bytes.status().message());
  auto key = FromBytes(std::move(bytes).value());
  if (!key.ok()) return Status::Usage("invalid auth key file '" + path + "': " + key.status().message());
  return key;
}

Result<std::unique_ptr<TokenKey>> TokenKey::FromBytes(std::string bytes) {
  std::unique_ptr<TokenKey> k(new TokenKey());
  if (bytes.rfind("-----BEGIN", 0) == 0) {
    const bool is_private = bytes.find("PRIVATE KEY-----") != std::string::npos;
    BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
    EVP_PKEY* pkey = is_private ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr)
                                : PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    if (!pkey) return Status::Usage("not a readable PEM key");
    if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(pkey);
      return Status::Usage("PEM key is not Ed25519 (only Ed25519 or an HS256 secret are supported)");
    }
    k->alg_ = Alg::kEdDsa;
    k->pkey_ = pkey;
    k->can_sign_ = is_private;
    return k;
  }
  if (!bytes.empty() && bytes.back() == '\n') bytes.pop_back();
  if (!bytes.empty() && bytes.back() == '\r') bytes.pop_back();
  if (bytes.size() < 32) return Status::Usage("HS256 secret shorter than 32 bytes");
  k->alg_ = Alg::kHs256;
  k->secret_ = std::move(bytes);
  k->can_sign_ = true;
  return k;
}

Result<std::string> TokenKey::Sign(std::string_view data) const {
  if (alg_ == Alg::kHs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len)) {
      return Status::Failed("HMAC failed");
    }
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  if (!can_sign_) return Status::Usage("an Ed25519 public key can verify tokens but not mint them");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  const bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, Key(pkey_)) == 1 &&
                  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                                 reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return Status::Failed("Ed25519 signing failed");
  sig.resize(len);
  return sig;
}

bool TokenKey::CheckSignature(std::string_view data, std::string_view sig) const {
  if (alg_ == Alg::kHs256) {
    auto mac = Sign(data);
    return mac.ok() && mac->size() == sig.size() && CRYPTO_memcmp(mac->data(), sig.data(), sig.size()) == 0;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, Key(pkey_)) == 1 &&
                  EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Result<std::string> TokenKey::Mint(const Principal& p, std::int64_t now_s, std::int64_t ttl_s) const {
  if (p.sub.empty()) return Status::Usage("a token needs a subject (--sub)");
  if (ttl_s <= 0) return Status::Usage("a token needs a positive lifetime");
  json rights = json::object();
  for (const Grant& g : p.grants) {
    json& list = rights[g.pattern];
    if (!list.is_array()) list = json::array();
    for (Right r : g.rights) list.push_back(RightName(r));
  }
  json claims = {{"sub", p.sub}, {"iat", now_s}, {"exp", now_s + ttl_s}, {"rights", rights}};
  if (!p.device.empty()) claims["device"] = p.device;
  const json header = {{"alg", AlgName()}, {"typ", "JWT"}};
  const std::string signing_input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
  auto sig = Sign(signing_input);
  if (!sig.ok()) return sig.status();
  return signing_input + "." + Base64UrlEncode(*sig);
}

Result<Principal> TokenKey::Verify(std::string_view token, std::int64_t now_s) const {
  const auto d1 = token.find('.');
  const auto d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Status::Failed("malformed token: want header.claims.signature");
  }
  auto header_raw = Base64UrlDecode(token.substr(0, d1));
  auto claims_raw = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto sig = Base64UrlDecode(token.substr(d2 + 1));
  if (!header_raw || !claims_raw || !sig) return Status::Failed("malformed token: bad base64url");
  auto header = ParseClientJson(*header_raw);
  if (!header.ok() || !header->is_object() || !header->contains("alg") || !(*header)["alg"].is_string()) {
    return Status::Failed("malformed token header");
  }
  const std::string alg = (*header)["alg"].get<std::string>();
  if (alg != AlgName()) return Status::Failed("token algorithm '" + alg + "' not accepted (want " + AlgName() + ")");
  if (!CheckSignature(token.substr(0, d2), *sig)) return Status::Failed("bad token signature");
  auto parsed = ParseClientJson(*claims_raw);
  if (!parsed.ok() || !parsed->is_object()) return Status::Failed("malformed token claims");
  const json& claims = *parsed;
  Principal p;
  if (!claims.contains("sub") || !claims["sub"].is_string() || claims["sub"].get<std::string>().empty()) {
    return Status::Failed("token has no subject");
  }
  p.sub = claims["sub"].get<std::string>();
  // Times are NumericDates (RFC 7519): dsx wants integer seconds that fit in int64. A time of
  // another type is refused, not ignored: a string `nbf` skipped would make the token valid
  // before its time.
  JsonFields times(claims, "token claims");
  const auto exp = times.OptInt("exp");
  const auto nbf = times.OptInt("nbf");
  (void)times.OptInt("iat");
  if (!times.ok()) return Status::Failed("malformed token claims: " + times.error() + " (seconds since the epoch)");
  if (!exp) return Status::Failed("token has no expiry");
  p.exp_s = *exp;
  if (p.exp_s <= now_s) return Status::Failed("token expired");
  if (nbf && *nbf > now_s) return Status::Failed("token not valid yet");
  if (claims.contains("device")) {
    if (!claims["device"].is_string()) return Status::Failed("token device must be a string");
    p.device = claims["device"].get<std::string>();
  }
  if (claims.contains("rights")) {
    const json& r = claims["rights"];
    if (!r.is_object()) return Status::Failed("token rights must be an object of pattern -> rights");
    for (auto it = r.begin(); it != r.end(); ++it) {
      if (!it->is_array()) return Status::Failed("token rights for '" + it.key() + "' must be a list");
      Grant g;
      g.pattern = it.key();
      for (const json& name : *it) {
        auto right = name.is_string() ? ParseRight(name.get<std::string>()) : std::nullopt;
        if (!right) return Status::Failed("token names an unknown right");
        g.rights.push_back(*right);
      }
      p.grants.push_back(std::move(g));
    }
  }
  return p;
}

}  // namespace dsx::session::auth
