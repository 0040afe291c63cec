// relay/tlsrpt/report.hpp — one RFC 8460 aggregate report: JSON, gzip and its file name.
//
// Owns: turning one policy domain's counts over a time range into the report JSON of
// RFC 8460 §4 (organization-name, date-range, contact-info, report-id, policies with
// their summary and failure-details), compressing it with gzip (§5.3 requires gzip for
// both mail and HTTPS), and the §5.3 file name "submitter!domain!begin!end!id.json.gz".
// Never: I/O or clock reads.
// Standards: RFC 8460 §4, §5.3; RFC 1952 (gzip).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/tlsrpt/daily_counts.hpp"

namespace relay::tlsrpt {

struct ReportInput {
  std::string organization;  // organization-name
  std::string contact;       // contact-info
  std::string submitter;     // the sending domain (file name, TLS-Report-Submitter)
  std::string domain;        // the policy domain the report is about
  std::string unique;        // makes report-id and file name unique (e.g. a random token)
  std::int64_t begin = 0;    // Unix seconds, inclusive
  std::int64_t end = 0;      // Unix seconds, the end of the range
};

/// "2026-12-04T00:00:00Z"_domain@submitter_unique style id: unique per report.
std::string report_id(const ReportInput& input);

/// The report JSON (RFC 8460 §4.4), policies in a stable order.
std::string report_json(const ReportInput& input, const DomainDay& counts);

/// "submitter!domain!begin!end!unique.json.gz" (RFC 8460 §5.3).
std::string report_file_name(const ReportInput& input);

/// `data` as a gzip stream (RFC 1952), deflate at the default level; "" if zlib fails
/// (only when memory runs out).
std::string gzip(std::string_view data);

}  // namespace relay::tlsrpt
