// relay/client/ehlo_capabilities.hpp — what a hop offers, read from its EHLO reply.
//
// Owns: the one parser of an EHLO reply's extension lines (RFC 5321 §4.1.1.1): keywords
// are case-insensitive, the first line is the greeting, parameters follow a space (AUTH
// also after "=", an old Outlook form). Unknown keywords are ignored.
// Never: performs I/O, decides what to use (the client's TLS/AUTH policy does).
// Standards: RFC 5321 §4.1.1.1, RFC 1870 (SIZE), RFC 1652 (8BITMIME), RFC 2920
// (PIPELINING), RFC 3461 (DSN), RFC 6531 (SMTPUTF8), RFC 3030 (CHUNKING), RFC 3207
// (STARTTLS), RFC 4954 (AUTH), RFC 8689 (REQUIRETLS).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "relay/smtp/reply_parser.hpp"

namespace relay {

/// What the hop offered in its EHLO reply.
struct HopCapabilities {
  bool esmtp = false;
  bool pipelining = false;
  bool eight_bit_mime = false;
  std::uint64_t max_size = 0;  // 0: no SIZE limit announced
  bool dsn = false;            // RFC 3461: RET/ENVID/NOTIFY/ORCPT are passed on
  bool smtputf8 = false;       // RFC 6531: a SMTPUTF8 message may be sent
  bool chunking = false;       // RFC 3030: the body goes as one BDAT LAST, unstuffed
  bool starttls = false;       // RFC 3207
  bool requiretls = false;     // RFC 8689: MAIL FROM may carry REQUIRETLS
  std::vector<std::string> auth_mechanisms;  // upper case, from the AUTH line
  friend bool operator==(const HopCapabilities&, const HopCapabilities&) = default;
};

/// The capabilities a 250 reply to EHLO announces.
HopCapabilities parse_ehlo(const Reply& ehlo);

}  // namespace relay
