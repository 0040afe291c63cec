// relay/smtp/received_header.hpp — the Received: trace header hubrelay prepends to a message.
//
// Owns: the RFC 5321 §4.4 time-stamp line for one accepted message, its RFC 5322 §3.3
// date (UTC, "+0000"), sanitizing the client-chosen HELO name, and folding at 78
// characters (RFC 5322 §2.1.1) where the words allow it.
//   Received: from HELO ([PEER])
//           by HOSTNAME (hubrelay) with ESMTP id QUEUEID
//           for <rcpt>; Tue, 1 Jul 2025 10:52:37 +0000
// "for" appears only with exactly one recipient: listing several would disclose the
// other recipients (Bcc) to each of them. PEER is an address literal: [192.0.2.1] or
// [IPv6:2001:db8::1] (RFC 5321 §4.1.3).
// Never: reads the clock (the time is passed in), performs I/O. Errors: none.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace relay {

namespace limits {
inline constexpr std::size_t max_received_helo = 64;  // longer client names are truncated
inline constexpr std::size_t max_header_line = 78;    // RFC 5322 §2.1.1 SHOULD
}  // namespace limits

struct ReceivedFields {
  std::string_view helo;               // as the client sent it; sanitized here
  std::string_view peer_address;       // textual IP of the client
  std::string_view hostname;           // ours
  bool esmtp = true;                   // EHLO (ESMTP) or HELO (SMTP)
  std::string_view id;                 // the message's queue id (hubrelay queue show ID)
  std::span<const std::string> recipients;
  std::chrono::system_clock::time_point when;
  bool tls = false;                    // RFC 3848: "ESMTPS" when the session was under TLS
  bool authenticated = false;          // RFC 3848: "ESMTPA" / "ESMTPSA" after AUTH
};

/// The complete header field, folded, ending in CRLF.
std::string build_received_header(const ReceivedFields& fields);

/// RFC 5322 date-time in UTC: "Tue, 1 Jul 2025 10:52:37 +0000".
std::string format_rfc5322_date(std::chrono::system_clock::time_point when);

/// The HELO name made safe for a header: octets outside letters, digits and ".-_:[]"
/// become '?', and it is cut to limits::max_received_helo. Empty becomes "unknown".
std::string sanitize_helo(std::string_view helo);

/// "[192.0.2.1]" or "[IPv6:2001:db8::1]"; "[unknown]" when empty.
std::string address_literal(std::string_view ip);

}  // namespace relay
