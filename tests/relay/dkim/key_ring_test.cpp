// tests/relay/dkim/key_ring_test.cpp — [dkim.NAME] keys judged after conf/ read them: a
// good RSA and Ed25519 key make a signer; a short RSA key or garbage is a diagnostic at
// the key_file line naming the file.
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conf/load.hpp"
#include "relay/dkim/key_ring.hpp"
#include "tests/support/config_text.hpp"

namespace relay::dkim {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view base = test_support::minimal_config;

class KeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hubrelay-dkim-keys-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string key_file(const std::string& name, const std::string& pem) {
    const auto path = dir_ / name;
    std::ofstream(path) << pem;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path.string();
  }
  static std::string entry(const std::string& name, const std::string& path) {
    return "[dkim." + name + "]\ndomain = \"example.com\"\nselector = \"" + name + "\"\nkey_file = \"" + path + "\"\n";
  }

  fs::path dir_;
};

TEST_F(KeyRingTest, GoodKeysMakeASigner) {
  const auto rsa = SigningKey::generate(Algorithm::rsa_sha256, 2048);
  const auto ed = SigningKey::generate(Algorithm::ed25519_sha256, 0);
  ASSERT_TRUE(rsa && ed);
  const auto loaded = conf::load_string(std::string(base) + entry("r", key_file("r.pem", rsa->private_pem())) +
                                            entry("e", key_file("e.pem", ed->private_pem())),
                                        "t.toml");
  ASSERT_TRUE(loaded);
  const auto signer = load_signer(**loaded);
  ASSERT_TRUE(signer);
  ASSERT_EQ((*signer)->keys().size(), 2u);
  EXPECT_EQ((*signer)->keys()[1].key.algorithm(), Algorithm::ed25519_sha256);
  EXPECT_TRUE((*signer)->signs(conf::Direction::outbound));
  EXPECT_FALSE((*signer)->signs(conf::Direction::inbound));
}

TEST_F(KeyRingTest, BadKeysAreDiagnosticsAtTheKeyFileLine) {
  // SigningKey::generate refuses to make a 1024-bit RSA key: OpenSSL makes it.
  EVP_PKEY* weak = EVP_RSA_gen(1024);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, weak, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  const std::string weak_pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  EVP_PKEY_free(weak);
  const auto loaded = conf::load_string(
      std::string(base) + entry("a", key_file("a.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) +
          entry("b", key_file("b.pem", weak_pem)),
      "t.toml");
  ASSERT_TRUE(loaded);
  const auto signer = load_signer(**loaded);
  ASSERT_FALSE(signer);
  ASSERT_EQ(signer.error().size(), 2u);
  EXPECT_EQ(signer.error()[0].line, 15);
  EXPECT_EQ(signer.error()[0].key, "dkim.a.key_file");
  EXPECT_NE(signer.error()[0].message.find("a.pem: not a PEM private key"), std::string::npos)
      << signer.error()[0].message;
  EXPECT_EQ(signer.error()[1].line, 19);
  EXPECT_NE(signer.error()[1].message.find("b.pem: RSA key of 1024 bits"), std::string::npos)
      << signer.error()[1].message;
}

}  // namespace
}  // namespace relay::dkim
