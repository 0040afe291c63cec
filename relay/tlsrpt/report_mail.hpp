// relay/tlsrpt/report_mail.hpp — a TLS report as a mail message (RFC 8460 §5.3).
//
// Owns: the multipart/report; report-type="tlsrpt" message that carries one gzip report
// to mailto: destinations: Subject "Report Domain: ... Submitter: ... Report-ID: <...>",
// the TLS-Report-Domain and TLS-Report-Submitter fields, a short text part and the report
// as an application/tlsrpt+gzip part in base64.
// Never: I/O, clock or random reads (date, Message-ID token and boundary are inputs).
// Standards: RFC 8460 §5.3, RFC 6522 (multipart/report), RFC 2045 (base64), RFC 5322.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relay/tlsrpt/report.hpp"

namespace relay::tlsrpt {

struct ReportMail {
  std::string from;                  // the report sender address
  std::vector<std::string> to;       // the mailto: destinations
  std::int64_t now_ms = 0;           // Date:
  std::string token;                 // Message-ID and boundary
  std::string hostname;              // Message-ID's right side
};

/// The whole message (header and body, CRLF line ends) for `report_gz` described by `input`.
std::string report_message(const ReportMail& mail, const ReportInput& input, std::string_view report_gz);

}  // namespace relay::tlsrpt
