// routing/txt_version.hpp — the one TXT record of a version among a name's records.
//
// Owns: the rule MTA-STS (RFC 8461 §3.1) and SMTP TLS Reporting (RFC 8460 §3) share for
// the TXT records at `_mta-sts.<domain>` and `_smtp._tls.<domain>`: records that do not
// begin with the version ("v=STSv1;", "v=TLSRPTv1;") are discarded, and unless exactly
// one is left the domain is taken to publish nothing. Other TXT records at the name
// (site verifications and the like) do not matter.
// Never: I/O; parsing the chosen record is the caller's.
// Standards: RFC 8461 §3.1, RFC 8460 §3.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace routing {

struct VersionedRecord {
  enum class Status : std::uint8_t { found, none, several };
  Status status = Status::none;
  std::string record;  // found: the record's text
};

/// The record of `records` that begins with `version` (the whole tag with its ';'),
/// when there is exactly one.
VersionedRecord select_versioned_record(const std::vector<std::string>& records, std::string_view version);

/// Why nothing was found, for logs: "no v=TLSRPTv1 TXT record", "more than one v=STSv1
/// TXT record"; "" when found.
std::string versioned_record_problem(const VersionedRecord& found, std::string_view version);

}  // namespace routing
