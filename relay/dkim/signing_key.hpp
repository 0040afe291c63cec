// relay/dkim/signing_key.hpp — a DKIM private key: read, generated, used to sign.
//
// Owns: the OpenSSL EVP_PKEY of one key (RSA of 2048 bits or more, or Ed25519), parsed
// from PEM text (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"; encrypted keys are
// refused: the daemon has nobody to ask for a passphrase), new keys for `hubrelay dkim
// keygen`, the public key as the DNS record's p= (RSA: SubjectPublicKeyInfo; Ed25519: the
// 32 raw octets, RFC 8463 §4), and the signature itself: RSASSA-PKCS1-v1_5 with SHA-256,
// or Ed25519 (PureEdDSA) over the SHA-256 hash of the signed data (RFC 8463 §3).
// Thread safety: a loaded key is immutable; sign() may run on several threads at once.
// Errors: std::expected with a sentence; nothing is thrown.
// Standards: RFC 6376 §3.3, §3.6.1; RFC 8463; RFC 8301 (RSA keys under 1024 bits must not
// be used; we refuse under 2048).
#pragma once

#include <cstddef>
#include <expected>
#include <memory>
#include <string>
#include <string_view>

#include "relay/dkim/signature_field.hpp"

using EVP_PKEY = struct evp_pkey_st;

namespace relay::dkim {

/// The smallest RSA key accepted.
inline constexpr int min_rsa_bits = 2048;

class SigningKey {
 public:
  /// Parses `pem`. Refuses encrypted keys, RSA under min_rsa_bits and other key types.
  static std::expected<SigningKey, std::string> from_pem(std::string_view pem);
  /// A new key: RSA of `bits` bits (at least min_rsa_bits) or Ed25519 (`bits` ignored).
  static std::expected<SigningKey, std::string> generate(Algorithm algorithm, int bits);

  Algorithm algorithm() const noexcept { return algorithm_; }
  /// RSA modulus bits; 256 for Ed25519.
  int bits() const noexcept;
  /// The unencrypted PKCS#8 PEM text.
  std::string private_pem() const;
  /// The DNS record's k= ("rsa", "ed25519") and p= (base64).
  std::string_view dns_key_type() const noexcept { return algorithm_ == Algorithm::rsa_sha256 ? "rsa" : "ed25519"; }
  std::string dns_public_key() const;
  /// The signature of `data` (the output of signed_data()), base64.
  std::expected<std::string, std::string> sign(std::string_view data) const;

 private:
  struct Free {
    void operator()(EVP_PKEY* key) const noexcept;
  };
  SigningKey(std::shared_ptr<EVP_PKEY> key, Algorithm algorithm) : key_(std::move(key)), algorithm_(algorithm) {}

  std::shared_ptr<EVP_PKEY> key_;
  Algorithm algorithm_;
};

/// Standard base64 of `bytes`, no line breaks.
std::string base64(std::string_view bytes);
/// SHA-256 of `bytes`, raw.
std::string sha256(std::string_view bytes);

}  // namespace relay::dkim
