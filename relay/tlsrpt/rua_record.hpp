// relay/tlsrpt/rua_record.hpp — the TLSRPT policy record a domain publishes in DNS.
//
// Owns: parsing the TXT record at _smtp._tls.<domain> (RFC 8460 §3):
// "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/v1" into the
// places reports go. Unknown fields are ignored (§3); a record without the version first,
// or without a usable rua, is no record.
// Never: I/O.
// Standards: RFC 8460 §3; RFC 6068 (mailto, only its address part is used).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::tlsrpt {

struct ReportDestinations {
  std::vector<std::string> mailto;  // addresses ("tlsrpt@example.com")
  std::vector<std::string> https;   // whole URIs ("https://reports.example.com/v1")
};

/// The destinations of `record`, or nullopt when it is not a usable TLSRPTv1 record.
std::optional<ReportDestinations> parse_rua_record(std::string_view record);

}  // namespace relay::tlsrpt
