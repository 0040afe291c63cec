// tests/relay/dkim/signer_test.cpp — the RFC 8463 Appendix A test vector (Ed25519 key,
// relaxed/relaxed body hash and signature reproduced octet for octet), the simple body hash
// of the same message, and the signer's decisions and fields.
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "relay/dkim/body_hash.hpp"
#include "relay/dkim/signature_field.hpp"
#include "relay/dkim/signer.hpp"
#include "relay/dkim/signing_key.hpp"

namespace relay::dkim {
namespace {

// RFC 8463 Appendix A.1: the Ed25519 private key (the RFC 8032 §7.1 seed), base64.
constexpr std::string_view rfc8463_seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
constexpr std::string_view rfc8463_public = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

// RFC 6376 Appendix A's message, as RFC 8463 Appendix A.3 signs it.
constexpr std::string_view example_headers =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n";
constexpr std::string_view example_body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

std::string from_base64(std::string_view text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(n));
  while (text.ends_with('=')) {  // EVP_DecodeBlock counts padding as zero octets
    out.pop_back();
    text.remove_suffix(1);
  }
  return out;
}

std::string pem_of_ed25519_seed(std::string_view seed_base64) {
  const std::string seed = from_base64(seed_base64);
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

BodyHashes hash_body(std::string_view body, std::size_t chunk) {
  BodyHasher hasher(true, true);
  for (std::size_t i = 0; i < body.size(); i += chunk) hasher.feed(body.substr(i, chunk));
  return hasher.finish();
}

TEST(Rfc8463, Ed25519TestVector) {
  auto key = SigningKey::from_pem(pem_of_ed25519_seed(rfc8463_seed));
  ASSERT_TRUE(key) << key.error();
  EXPECT_EQ(key->algorithm(), Algorithm::ed25519_sha256);
  EXPECT_EQ(key->dns_public_key(), rfc8463_public);

  for (const std::size_t chunk : {1u, 3u, 1000u}) {
    const auto hashes = hash_body(example_body, chunk);
    EXPECT_EQ(hashes.of(Canonicalization::relaxed), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
    EXPECT_EQ(hashes.of(Canonicalization::simple), "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
  }

  // The signature field of Appendix A.3 with b= empty, folded as printed there.
  const std::string unsigned_field =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
      " subject : date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  const auto fields = split_header_fields(example_headers);
  const auto selected =
      select_fields(fields, {"from", "to", "subject", "date", "message-id", "from", "subject", "date"});
  ASSERT_EQ(selected.size(), 5u);
  const auto signature = key->sign(signed_data(selected, unsigned_field, Canonicalization::relaxed));
  ASSERT_TRUE(signature) << signature.error();
  EXPECT_EQ(*signature,
            "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
}

TEST(SigningKey, RefusesShortRsaAndGarbage) {
  auto small = SigningKey::generate(Algorithm::rsa_sha256, 1024);
  EXPECT_FALSE(small);
  EXPECT_FALSE(SigningKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
  EXPECT_FALSE(SigningKey::from_pem("not a key"));
  // A 1024-bit RSA key made outside: refused on load.
  EVP_PKEY* weak = EVP_RSA_gen(1024);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, weak, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  const auto loaded = SigningKey::from_pem(std::string_view(data, static_cast<std::size_t>(size)));
  BIO_free(bio);
  EVP_PKEY_free(weak);
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().find("1024"), std::string::npos);
}

TEST(SigningKey, GeneratedKeysRoundTripThroughPem) {
  for (const auto algorithm : {Algorithm::ed25519_sha256, Algorithm::rsa_sha256}) {
    auto key = SigningKey::generate(algorithm, 2048);
    ASSERT_TRUE(key) << key.error();
    auto again = SigningKey::from_pem(key->private_pem());
    ASSERT_TRUE(again) << again.error();
    EXPECT_EQ(again->dns_public_key(), key->dns_public_key());
    EXPECT_EQ(again->algorithm(), algorithm);
  }
}

TEST(Signer, SignsWithEveryAlignedKeyAndFoldsTheField) {
  auto ed = SigningKey::from_pem(pem_of_ed25519_seed(rfc8463_seed));
  auto rsa = SigningKey::generate(Algorithm::rsa_sha256, 2048);
  ASSERT_TRUE(ed && rsa);
  SignerSettings e{.name = "e", .identity = {"football.example.com", "brisbane", false}};
  SignerSettings r{.name = "r", .identity = {"football.example.com", "test", false}};
  r.canonicalization = {Canonicalization::simple, Canonicalization::simple};
  r.expiration = std::chrono::seconds(3600);
  r.oversign = {"from", "subject"};
  SignerSettings inbound_only{.name = "i", .identity = {"football.example.com", "in", false}};
  inbound_only.directions = {conf::Direction::inbound};
  const Signer signer({{e, *ed}, {r, *rsa}, {inbound_only, *ed}});
  EXPECT_TRUE(signer.signs(conf::Direction::outbound));

  auto hasher = signer.body_hasher(conf::Direction::outbound);
  hasher.feed(example_body);
  const auto hashes = hasher.finish();
  const auto result = signer.sign(example_headers, hashes, conf::Direction::outbound, 1528637909);
  EXPECT_TRUE(result.failures.empty());
  ASSERT_EQ(result.signatures.size(), 2u);
  EXPECT_EQ(result.signatures[0].algorithm, Algorithm::ed25519_sha256);
  EXPECT_EQ(result.signatures[1].selector, "test");
  EXPECT_NE(result.fields.find("x=1528641509;"), std::string::npos);
  std::string unfolded = result.fields;
  std::erase_if(unfolded, [](char c) { return c == '\r' || c == '\n' || c == '\t'; });
  EXPECT_NE(unfolded.find("h=from:from:subject:subject:date:to:message-id;"), std::string::npos) << result.fields;
  std::size_t line_start = 0;
  for (std::size_t lf = result.fields.find('\n'); lf != std::string::npos; lf = result.fields.find('\n', line_start)) {
    EXPECT_LE(lf - line_start - 1, 78u) << result.fields;
    line_start = lf + 1;
  }

  const auto foreign = signer.sign("From: x@elsewhere.example\r\n", hashes, conf::Direction::outbound, 1);
  EXPECT_TRUE(foreign.signatures.empty());
  EXPECT_EQ(foreign.note, PlanNote::not_aligned);
  const auto again = signer.sign(result.fields + std::string(example_headers), hashes, conf::Direction::outbound, 1);
  EXPECT_TRUE(again.signatures.empty());
  EXPECT_EQ(again.note, PlanNote::already_signed);
}

}  // namespace
}  // namespace relay::dkim
