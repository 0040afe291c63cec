// relay/smtp/require_tls.hpp — REQUIRETLS and the TLS-Required header field, as values.
//
// Owns: what the stored MAIL parameter text says about a message's TLS requirement
// (REQUIRETLS from the client; the "TLS-Required: No" flag the listener adds at
// acceptance), reading "TLS-Required: No" from a header section, and the one decision of
// whether a delivery session may carry a REQUIRETLS message (pure: session protection and
// the hop's EHLO in, verdict out).
// Never: performs I/O, chooses hops or replies (relay/delivery applies the verdict).
// Session protection is the client's record of what protected the session (TlsKind,
// relay/tls_used): relay::verified() says which kinds authenticated the server.
// Standards: RFC 8689 §3 (no value), §4.1 (the header is ignored with REQUIRETLS),
// §4.2.1 (verified TLS and REQUIRETLS in the EHLO after STARTTLS), §5 (5.7.30).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "relay/tls_used.hpp"

namespace relay {

namespace limits {
inline constexpr std::size_t max_tls_required_scan = 64 * 1024;  // header octets read for TLS-Required
}  // namespace limits

/// The MAIL parameter keyword (RFC 8689 §3).
inline constexpr std::string_view requiretls_keyword = "REQUIRETLS";
/// Stored beside the MAIL parameters when the message said "TLS-Required: No" and had
/// no REQUIRETLS. A client cannot send it: the listener refuses unknown MAIL parameters.
inline constexpr std::string_view tls_optional_flag = "TLS-REQUIRED=NO";

/// Whether the stored MAIL parameters carry REQUIRETLS.
bool wants_requiretls(std::string_view mail_parameters) noexcept;

/// Whether the message asked that the hop's TLS requirement be relaxed: the flag without
/// REQUIRETLS (RFC 8689 §4.1: with REQUIRETLS the header field is ignored).
bool tls_optional(std::string_view mail_parameters) noexcept;

/// What one message asks of delivery's TLS, read once from its stored MAIL parameters.
enum class TlsRequest : std::uint8_t {
  hop_policy,  // neither: the hop's tls policy applies
  required,    // REQUIRETLS: verified TLS all the way
  waived,      // "TLS-Required: No" without REQUIRETLS (tls_optional)
};
TlsRequest tls_request(std::string_view mail_parameters) noexcept;

/// Whether `header_section` (a message from its first octet; only the header section is
/// read, at most limits::max_tls_required_scan octets) has a "TLS-Required: No" field
/// (name and value case-insensitive, folding and surrounding white space allowed).
bool says_tls_not_required(std::string_view header_section) noexcept;

/// Whether one session may carry a message, and what its MAIL FROM says.
enum class RequireTlsVerdict : std::uint8_t {
  not_required,     // not a REQUIRETLS message: sent as usual
  send,             // MAIL FROM gets REQUIRETLS
  unverified,       // the session's TLS did not authenticate the server
  not_offered,      // verified, but the hop's EHLO lacks REQUIRETLS
};

RequireTlsVerdict check_requiretls(bool requiretls, TlsKind session, bool hop_offers) noexcept;

/// "unverified TLS (opportunistic)" / "REQUIRETLS not offered": the detail of a refusal.
std::string_view to_string(RequireTlsVerdict verdict) noexcept;

}  // namespace relay
