// relay/dkim/dns_record.hpp — the DKIM key record in DNS: what to publish, and whether
// what is published matches a key.
//
// Owns: the zone-file line for a selector ("S._domainkey.D. IN TXT "v=DKIM1; k=rsa; p=..."",
// the text split into character-strings of at most 255 octets, RFC 1035 §3.3.14 / RFC 6376
// §3.6.2.2) and the comparison of a published record's k= and p= with a key (tag-list
// parsing per RFC 6376 §3.2 and §3.6.1; whitespace inside p= ignored; an empty p= is a
// revoked key).
// Performs no I/O; pure.
#pragma once

#include <string>
#include <string_view>

namespace relay::dkim {

/// `selector._domainkey.domain. IN TXT "..." "..."` for key type `k` ("rsa", "ed25519")
/// and base64 public key `p`.
std::string zone_file_record(std::string_view selector, std::string_view domain, std::string_view k,
                             std::string_view p);

/// The record's text, "v=DKIM1; k=...; p=...".
std::string record_text(std::string_view k, std::string_view p);

enum class RecordMatch : unsigned char { match, mismatch, revoked, missing, malformed };

constexpr std::string_view to_string(RecordMatch m) noexcept {
  switch (m) {
    case RecordMatch::match: return "match";
    case RecordMatch::mismatch: return "mismatch";
    case RecordMatch::revoked: return "revoked (empty p=)";
    case RecordMatch::missing: return "missing";
    case RecordMatch::malformed: return "malformed";
  }
  return "malformed";
}

/// How `published` (the TXT text, character-strings joined; "" when there is none)
/// compares with the key of type `k` and public key `p`.
RecordMatch compare_record(std::string_view published, std::string_view k, std::string_view p);

}  // namespace relay::dkim
