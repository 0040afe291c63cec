// relay/dkim/signing_key.cpp — see signing_key.hpp.
#include "relay/dkim/signing_key.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

namespace relay::dkim {
namespace {

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
};

std::string openssl_error(std::string_view what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string out(what);
  if (code != 0) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    out += " (";
    out += text;
    out += ")";
  }
  return out;
}

// Refuses to ask for a passphrase: an encrypted key cannot be used unattended.
int no_passphrase(char*, int, int, void*) { return -1; }

}  // namespace

void SigningKey::Free::operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }

std::expected<SigningKey, std::string> SigningKey::from_pem(std::string_view pem) {
  if (pem.find("ENCRYPTED") != std::string_view::npos)
    return std::unexpected("the key is encrypted; store it unencrypted with mode 0600");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return std::unexpected(openssl_error("out of memory"));
  EVP_PKEY* raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr);
  if (raw == nullptr) return std::unexpected(openssl_error("not a PEM private key"));
  std::shared_ptr<EVP_PKEY> key(raw, Free{});
  switch (EVP_PKEY_get_base_id(raw)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(raw) < min_rsa_bits)
        return std::unexpected("RSA key of " + std::to_string(EVP_PKEY_get_bits(raw)) + " bits; at least " +
                               std::to_string(min_rsa_bits) + " are required");
      return SigningKey(std::move(key), Algorithm::rsa_sha256);
    case EVP_PKEY_ED25519:
      return SigningKey(std::move(key), Algorithm::ed25519_sha256);
    default:
      return std::unexpected("not an RSA or Ed25519 key");
  }
}

std::expected<SigningKey, std::string> SigningKey::generate(Algorithm algorithm, int bits) {
  EVP_PKEY* raw = nullptr;
  if (algorithm == Algorithm::rsa_sha256) {
    if (bits < min_rsa_bits) return std::unexpected("RSA keys need at least " + std::to_string(min_rsa_bits) + " bits");
    raw = EVP_RSA_gen(static_cast<unsigned>(bits));
  } else {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_keygen(ctx.get(), &raw) <= 0) raw = nullptr;
  }
  if (raw == nullptr) return std::unexpected(openssl_error("key generation failed"));
  return SigningKey(std::shared_ptr<EVP_PKEY>(raw, Free{}), algorithm);
}

int SigningKey::bits() const noexcept { return EVP_PKEY_get_bits(key_.get()); }

std::string SigningKey::private_pem() const {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string SigningKey::dns_public_key() const {
  if (algorithm_ == Algorithm::ed25519_sha256) {
    std::string raw(32, '\0');
    std::size_t size = raw.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), reinterpret_cast<unsigned char*>(raw.data()), &size) != 1) return {};
    raw.resize(size);
    return base64(raw);
  }
  const int size = i2d_PUBKEY(key_.get(), nullptr);
  if (size <= 0) return {};
  std::string der(static_cast<std::size_t>(size), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key_.get(), &out);
  return base64(der);
}

std::expected<std::string, std::string> SigningKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return std::unexpected(openssl_error("out of memory"));
  // Ed25519 signs the SHA-256 hash of the data with PureEdDSA (no digest of its own).
  const std::string hashed = algorithm_ == Algorithm::ed25519_sha256 ? sha256(data) : std::string{};
  const std::string_view input = algorithm_ == Algorithm::ed25519_sha256 ? std::string_view(hashed) : data;
  const EVP_MD* md = algorithm_ == Algorithm::rsa_sha256 ? EVP_sha256() : nullptr;
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key_.get()) != 1)
    return std::unexpected(openssl_error("signing failed"));
  std::size_t size = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, in, input.size()) != 1)
    return std::unexpected(openssl_error("signing failed"));
  std::string signature(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, in, input.size()) != 1)
    return std::unexpected(openssl_error("signing failed"));
  signature.resize(size);
  return base64(signature);
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int size = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                   reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::string sha256(std::string_view bytes) {
  std::string digest(32, '\0');
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest.data()), &size, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace relay::dkim
