// relay/dkim/signature_field.hpp — the DKIM-Signature header field, before and after b=.
//
// Owns: the tag list (v=1; a=; c=; d=; s=; t=; x= when the signature expires; h=; bh=;
// b=), folded at tag and h= separators so no line exceeds 78 octets (RFC 5322 §2.1.1);
// the data a signature covers (the selected fields canonicalized, then this field with
// b= empty and without its final CR LF: RFC 6376 §3.7); and the finished field with the
// signature in b=, folded inside the value (verifiers delete b='s value with its
// whitespace, §3.5, so the folding does not change what was signed).
// Performs no I/O; pure. The hashes and the signature arrive base64-encoded.
// Standards: RFC 6376 §3.5, §3.7; RFC 8463 §3 (a=ed25519-sha256).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/dkim/canonicalization.hpp"
#include "relay/dkim/header_fields.hpp"

namespace relay::dkim {

enum class Algorithm : std::uint8_t { rsa_sha256, ed25519_sha256 };

constexpr std::string_view to_string(Algorithm a) noexcept {
  return a == Algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

struct SignatureTags {
  Algorithm algorithm = Algorithm::rsa_sha256;
  CanonicalizationPair canonicalization;
  std::string domain;    // d=
  std::string selector;  // s=
  std::int64_t timestamp = 0;   // t=, seconds since the epoch
  std::int64_t expiration = 0;  // x=; 0: none
  std::vector<std::string> headers;  // h=, in order, repeats included
  std::string body_hash;  // bh=, base64
};

/// "DKIM-Signature: v=1; ...; b=" folded, without a final CR LF.
std::string unsigned_signature_field(const SignatureTags& tags);

/// What the signature covers: `selected` (select_fields() of tags.headers) and then
/// `unsigned_field`, canonicalized with the header algorithm; no final CR LF.
std::string signed_data(const std::vector<HeaderField>& selected, std::string_view unsigned_field,
                        Canonicalization header_canonicalization);

/// `unsigned_field` with `signature` (base64) as b='s value, folded, ending in CR LF.
std::string finished_signature_field(std::string_view unsigned_field, std::string_view signature);

}  // namespace relay::dkim
