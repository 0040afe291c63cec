// relay/tlsrpt/rua_record.hpp — the TLSRPT policy record a domain publishes in DNS.
//
// Owns: parsing the TXT record at _smtp._tls.<domain> (RFC 8460 §3):
// "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://reports.example.com/v1" into the
// places reports go. Unknown fields are ignored (§3); a record without the version first,
// or without a usable rua, is no record. Of all the TXT records at the name, exactly one
// must begin with "v=TLSRPTv1;" (routing/txt_version), else the domain asks for nothing.
// Never: I/O.
// Standards: RFC 8460 §3; RFC 6068 (mailto, only its address part is used).
#pragma once

#include <cstdint>
#include <expected>
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

/// Where an https: rua URI sends the report (RFC 8460 §5.3.1: a POST to the URI).
struct HttpsDestination {
  std::string host;           // lower case
  std::uint16_t port = 443;
  std::string target = "/";   // path and query
};

/// The parts of "https://host[:port][/path][?query]"; nullopt for anything else (user
/// information, an IP literal in brackets, a fragment, a bad port or host name).
std::optional<HttpsDestination> parse_https_uri(std::string_view uri);

/// The destinations published in the TXT records `records` of _smtp._tls.<domain>, or
/// why there are none (no TLSRPTv1 record, more than one, or one without a usable rua).
std::expected<ReportDestinations, std::string> select_rua_record(const std::vector<std::string>& records);

}  // namespace relay::tlsrpt
