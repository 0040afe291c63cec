// policy/password_hash.hpp — stored AUTH secrets: PBKDF2-HMAC-SHA256 with a random salt.
//
// Owns: the hash string format "$pbkdf2-sha256$<iterations>$<salt base64>$<key base64>"
// (what `hubrelay hash-password` prints and [policy.NAME].auth_users holds), hashing
// with a given salt, and constant-time verification.
// Never: logs, stores or returns a plaintext password; chooses the salt (the caller
// passes random bytes, so tests are deterministic). Thread-safe (pure functions over
// OpenSSL's libcrypto).
// Errors: parse returns std::unexpected with a reason; verify is false on any mismatch.
// Standards: RFC 8018 §5.2 (PBKDF2), OWASP password storage (≥ 600 000 iterations for
// PBKDF2-HMAC-SHA256 in 2023; the default here).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

namespace policy {

inline constexpr std::uint32_t default_pbkdf2_iterations = 600'000;
inline constexpr std::uint32_t min_pbkdf2_iterations = 1'000;     // below this, refused at load
inline constexpr std::uint32_t max_pbkdf2_iterations = 10'000'000;

struct PasswordHash {
  std::uint32_t iterations = 0;
  std::string salt;  // raw bytes
  std::string key;   // raw derived key (32 bytes)
};

/// Parses "$pbkdf2-sha256$N$salt$key".
std::expected<PasswordHash, std::string> parse_password_hash(std::string_view text);

/// Derives the key for `password` and formats the hash string. `salt` must be ≥ 8 bytes.
std::string hash_password(std::string_view password, std::string_view salt,
                          std::uint32_t iterations = default_pbkdf2_iterations);

/// True when `password` derives `hash.key`. Compared in constant time.
bool verify_password(const PasswordHash& hash, std::string_view password);

}  // namespace policy
