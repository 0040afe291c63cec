// policy/password_hash.cpp — PBKDF2-HMAC-SHA256 via OpenSSL (PKCS5_PBKDF2_HMAC).
#include "policy/password_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <charconv>

#include "policy/base64.hpp"

namespace policy {
namespace {

constexpr std::string_view prefix = "$pbkdf2-sha256$";
constexpr std::size_t key_size = 32;

std::string derive(std::string_view password, std::string_view salt, std::uint32_t iterations) {
  std::string key(key_size, '\0');
  const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                                   reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                                   static_cast<int>(iterations), EVP_sha256(), static_cast<int>(key.size()),
                                   reinterpret_cast<unsigned char*>(key.data()));
  if (ok != 1) key.clear();  // cannot happen with valid arguments; verify then fails
  return key;
}

}  // namespace

std::expected<PasswordHash, std::string> parse_password_hash(std::string_view text) {
  if (!text.starts_with(prefix)) return std::unexpected("not a \"$pbkdf2-sha256$\" hash (use hubrelay hash-password)");
  text.remove_prefix(prefix.size());
  const auto d1 = text.find('$');
  const auto d2 = d1 == std::string_view::npos ? d1 : text.find('$', d1 + 1);
  if (d2 == std::string_view::npos || text.find('$', d2 + 1) != std::string_view::npos) {
    return std::unexpected("expected $pbkdf2-sha256$ITERATIONS$SALT$KEY");
  }
  PasswordHash hash;
  const std::string_view count = text.substr(0, d1);
  const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), hash.iterations);
  if (ec != std::errc{} || end != count.data() + count.size() || hash.iterations < min_pbkdf2_iterations ||
      hash.iterations > max_pbkdf2_iterations) {
    return std::unexpected("iteration count must be a number from " + std::to_string(min_pbkdf2_iterations) + " to " +
                           std::to_string(max_pbkdf2_iterations));
  }
  auto salt = base64_decode(text.substr(d1 + 1, d2 - d1 - 1));
  auto key = base64_decode(text.substr(d2 + 1));
  if (!salt || salt->size() < 8) return std::unexpected("salt must be base64 of at least 8 bytes");
  if (!key || key->size() != key_size) return std::unexpected("key must be base64 of 32 bytes");
  hash.salt = std::move(*salt);
  hash.key = std::move(*key);
  return hash;
}

std::string hash_password(std::string_view password, std::string_view salt, std::uint32_t iterations) {
  return std::string(prefix) + std::to_string(iterations) + "$" + base64_encode(salt) + "$" +
         base64_encode(derive(password, salt, iterations));
}

bool verify_password(const PasswordHash& hash, std::string_view password) {
  const std::string key = derive(password, hash.salt, hash.iterations);
  return key.size() == hash.key.size() && !key.empty() && CRYPTO_memcmp(key.data(), hash.key.data(), key.size()) == 0;
}

}  // namespace policy
