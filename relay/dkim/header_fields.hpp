// relay/dkim/header_fields.hpp — the header fields a DKIM signature covers, and who wrote them.
//
// Owns: splitting a message's header section into fields (folding kept, so each field can
// be canonicalized either way), the default list of fields to sign (RFC 6376 §5.4.1), the
// h= list with oversigning (each oversigned name listed once more than it occurs, so a
// field added in transit breaks the signature), picking the field instances h= names
// (from the bottom up, §5.4.2), the RFC 5322 From: domain (the DMARC identifier the
// signing domain must align with) and the d=/s= pairs of signatures already present.
// Performs no I/O; pure.
// Standards: RFC 6376 §3.5 (h=), §5.4; RFC 5322 §2.2 (fields), §3.6.2 (From:); RFC 7489 §3.1.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::dkim {

/// One header field: its name and the whole field as it appears (name, colon, value,
/// folding CR LFs), without the final CR LF.
struct HeaderField {
  std::string_view name;
  std::string_view raw;
};

/// The fields of `header_section` (the message up to, not including, the empty line; with
/// or without the CR LF of its last field), in order. Text before the first field name
/// that is not a field is ignored.
std::vector<HeaderField> split_header_fields(std::string_view header_section);

/// RFC 6376 §5.4.1's fields that SHOULD be signed, and those commonly added: lower case.
const std::vector<std::string>& default_signed_headers();

/// The h= names, lower case: each of `names` as often as it occurs in `fields`, and once
/// more when it is in `oversign`; "from" is always signed. Oversigned names that do not
/// occur are listed once (so the field cannot be added later).
std::vector<std::string> signed_header_names(const std::vector<HeaderField>& fields,
                                             const std::vector<std::string>& names,
                                             const std::vector<std::string>& oversign);

/// The instances h= names, in h= order: for a name listed k times, its last k instances
/// from the bottom up; a listing without an instance left adds nothing.
std::vector<HeaderField> select_fields(const std::vector<HeaderField>& fields,
                                       const std::vector<std::string>& h_names);

/// The domain of the single RFC 5322 From: address, lower case without a trailing dot;
/// nothing when there is no From:, more than one, or no address in it.
std::optional<std::string> author_domain(const std::vector<HeaderField>& fields);

/// True when `domain` is `signing_domain`, or below it and `subdomains` is set.
bool domain_aligned(std::string_view domain, std::string_view signing_domain, bool subdomains);

/// The (d=, s=) of every DKIM-Signature field, lower case.
std::vector<std::pair<std::string, std::string>> existing_signatures(const std::vector<HeaderField>& fields);

/// Case-insensitive ASCII comparison.
bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace relay::dkim
