#include <doctest/doctest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "session/auth/jwt.hpp"

using namespace dsx::session::auth;

namespace {

const std::string kSecret = "0123456789abcdef0123456789abcdef-secret";
constexpr std::int64_t kNow = 1764151200;

Principal Alice() {
  Principal p;
  p.sub = "alice";
  p.device = "phone";
  p.grants.push_back({"chat/*", {Right::kRead, Right::kCancelOwn}});
  return p;
}

std::string Ed25519Pem(bool private_key) {
  EVP_PKEY* key = nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
  EVP_PKEY_keygen_init(ctx);
  EVP_PKEY_keygen(ctx, &key);
  EVP_PKEY_CTX_free(ctx);
  BIO* bio = BIO_new(BIO_s_mem());
  if (private_key) {
    PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    PEM_write_bio_PUBKEY(bio, key);
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return out;
}

// Re-signs nothing: swaps a token's header (for algorithm confusion tests).
std::string WithHeader(const std::string& token, const std::string& header_json) {
  return Base64UrlEncode(header_json) + token.substr(token.find('.'));
}

// An HS256 token over any claims text, signed with kSecret.
std::string SignedHs256(const std::string& claims) {
  const std::string input = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." + Base64UrlEncode(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &n);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<const char*>(mac), n));
}

}  // namespace

TEST_CASE("base64url round trip and rejects") {
  for (const std::string& s :
       std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\xfe", 3)}) {
    auto d = Base64UrlDecode(Base64UrlEncode(s));
    REQUIRE(d);
    CHECK(*d == s);
  }
  CHECK_FALSE(Base64UrlDecode("a"));
  CHECK_FALSE(Base64UrlDecode("ab+c"));
  CHECK_FALSE(Base64UrlDecode("ab=="));
}

TEST_CASE("HS256: mint, verify, claims") {
  auto key = TokenKey::FromBytes(kSecret + "\n");
  REQUIRE(key.ok());
  auto token = (*key)->Mint(Alice(), kNow, 3600);
  REQUIRE(token.ok());
  auto p = (*key)->Verify(*token, kNow + 10);
  REQUIRE(p.ok());
  CHECK(p->sub == "alice");
  CHECK(p->device == "phone");
  CHECK(p->exp_s == kNow + 3600);
  CHECK(p->Allows("chat/42", Right::kRead));
  CHECK(p->Allows("chat/42", Right::kCancelOwn));
  CHECK_FALSE(p->Allows("chat/42", Right::kCancelAny));
  CHECK_FALSE(p->Allows("other/1", Right::kRead));
}

TEST_CASE("HS256: bad signature, expired, malformed, wrong algorithm, short secret") {
  auto key = TokenKey::FromBytes(kSecret);
  REQUIRE(key.ok());
  auto other = TokenKey::FromBytes(kSecret + "x");
  REQUIRE(other.ok());
  const std::string token = *(*key)->Mint(Alice(), kNow, 60);
  CHECK((*other)->Verify(token, kNow).status().message() == "bad token signature");
  std::string flipped = token;
  flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
  CHECK_FALSE((*key)->Verify(flipped, kNow).ok());
  CHECK((*key)->Verify(token, kNow + 60).status().message() == "token expired");
  CHECK_FALSE((*key)->Verify("abc", kNow).ok());
  CHECK_FALSE((*key)->Verify("a.b.c.d", kNow).ok());
  CHECK_FALSE((*key)->Verify("", kNow).ok());
  auto none = (*key)->Verify(WithHeader(token, R"({"alg":"none","typ":"JWT"})"), kNow);
  CHECK(none.status().message().find("not accepted") != std::string::npos);
  // A token without the signature part at all.
  CHECK_FALSE((*key)->Verify(token.substr(0, token.rfind('.') + 1), kNow).ok());
  CHECK_FALSE(TokenKey::FromBytes("short").ok());
}

TEST_CASE("EdDSA: private key mints, public key verifies, HS256 confusion refused") {
  auto priv = TokenKey::FromBytes(Ed25519Pem(true));
  REQUIRE(priv.ok());
  CHECK((*priv)->alg() == TokenKey::Alg::kEdDsa);
  auto token = (*priv)->Mint(Alice(), kNow, 60);
  REQUIRE(token.ok());
  auto ok = (*priv)->Verify(*token, kNow);
  REQUIRE(ok.ok());
  CHECK(ok->sub == "alice");
  // Another key pair's public key rejects it.
  auto pub = TokenKey::FromBytes(Ed25519Pem(false));
  REQUIRE(pub.ok());
  CHECK_FALSE((*pub)->can_sign());
  CHECK_FALSE((*pub)->Mint(Alice(), kNow, 60).ok());
  CHECK((*pub)->Verify(*token, kNow).status().message() == "bad token signature");
  // An HS256 token is refused by an EdDSA verifier whatever it was signed with.
  auto hs = TokenKey::FromBytes(kSecret);
  const std::string hs_token = *(*hs)->Mint(Alice(), kNow, 60);
  CHECK((*priv)->Verify(hs_token, kNow).status().message().find("not accepted") != std::string::npos);
  CHECK_FALSE(TokenKey::FromBytes("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n").ok());
}

TEST_CASE("rights: patterns, implications, parsing") {
  CHECK(PatternMatches("chat/*", "chat/1"));
  CHECK(PatternMatches("chat/*", "chat/a/b"));
  CHECK_FALSE(PatternMatches("chat/*", "chat"));
  CHECK(PatternMatches("*", "anything/at/all"));
  CHECK(PatternMatches("a*b*c", "aXXbYYc"));
  CHECK_FALSE(PatternMatches("a*b*c", "aXXbYY"));
  CHECK(PatternMatches("exact", "exact"));
  CHECK_FALSE(PatternMatches("exact", "exactly"));
  Principal p;
  p.sub = "ops";
  p.grants.push_back({"chat/*", {Right::kCancelAny}});
  p.grants.push_back({"ops/*", {Right::kAdmin}});
  CHECK(p.Allows("chat/1", Right::kCancelOwn));
  CHECK_FALSE(p.Allows("chat/1", Right::kSteer));
  CHECK(p.Allows("ops/x", Right::kSteer));
  CHECK(p.Lacks("chat/1", Right::kSteer) == "token for 'ops' lacks 'steer' on 'chat/1'");
  CHECK(Principal::Open().Allows("x", Right::kAdmin));
  auto rights = ParseRightList("read, append,read");
  REQUIRE(rights.ok());
  CHECK(rights->size() == 2);
  CHECK_FALSE(ParseRightList("read,fly").ok());
  CHECK_FALSE(ParseRightList("").ok());
}

TEST_CASE("times of the wrong type are refused, not ignored (issue 11)") {
  auto key = TokenKey::FromBytes(kSecret);
  REQUIRE(key.ok());
  const std::string base = R"("sub":"alice","rights":{"chat/*":["read"]})";
  auto verify = [&](const std::string& times) {
    return (*key)->Verify(SignedHs256("{" + base + "," + times + "}"), kNow);
  };
  // The signing helper is right: integer times verify.
  CHECK(verify(R"("exp":1764151260,"iat":1764151200,"nbf":1764151200)").ok());
  CHECK(verify(R"("exp":1764151260,"nbf":1764151300)").status().message() == "token not valid yet");
  for (const char* bad :
       {R"("1764151300")", "true", "null", "{}", "[1764151300]", "1764151300.5", "18446744073709551615"}) {
    CAPTURE(bad);
    for (const char* claim : {"nbf", "iat"}) {
      auto r = verify(std::string(R"("exp":1764151260,")") + claim + R"(":)" + bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().message().find(std::string("'") + claim + "'") != std::string::npos);
    }
    auto r = verify(std::string(R"("exp":)") + bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("'exp'") != std::string::npos);
  }
  // A float expiry used to be read as an integer (and a huge one was undefined behaviour).
  CHECK_FALSE(verify(R"("exp":1e300)").ok());
  // Deep claims are refused before they are built.
  CHECK_FALSE((*key)
                  ->Verify(SignedHs256("{" + base + R"(,"exp":1764151260,"x":)" + std::string(100000, '[') +
                                       std::string(100000, ']') + "}"),
                           kNow)
                  .ok());
}
