// policy/dnsbl.hpp — the pure half of DNS block list checks (docs/policy.md).
//
// Owns: the query name of a client address in a zone (IPv4: reversed octets, RFC 5782
// §2.1; IPv6: reversed nibbles, §2.4; IPv4-mapped IPv6 is asked as IPv4), which return
// codes count as "listed" for a zone, how the answers of several zones combine into one
// decision (a reject zone beats a tag zone; zones are reported in configuration order),
// the TTL clamp of cached results, and the X-Hubrelay-DNSBL header of tagged messages.
// Never: sends DNS queries (relay/server/verification does, through routing::DnsResolver),
// reads a clock or logs. Errors: a failed lookup is "not listed" (fail open) — the
// caller logs it. Thread-safe: values only.
// Standards: RFC 5782 (DNS blacklists: 127.0.0.2 test entry, 127.0.0.0/8 return codes).
#pragma once

#include <chrono>
#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "policy/decision.hpp"
#include "policy/ip_address.hpp"
#include "policy/ttl_cache.hpp"

namespace policy {

/// "1.2.3.4" in "zen.example.org" → "4.3.2.1.zen.example.org"; IPv6 → 32 nibble labels.
std::string dnsbl_query_name(const IpAddress& client, std::string_view zone);

struct DnsblZone {
  std::string zone;
  bool tag = false;                  // false: reject
  std::vector<IpAddress> match;      // empty: any 127.0.0.0/8 code except 127.255.255.0/24
};

/// Compiles conf zones (return codes were checked by the loader; rechecked here).
std::expected<std::vector<DnsblZone>, std::string> compile_dnsbl(const std::vector<conf::PolicyConfig::DnsblZone>& zones);

/// What DNS said for one zone. `failed`: no answer (timeout, SERVFAIL): not listed.
struct DnsblLookup {
  bool failed = false;
  std::vector<std::string> addresses;   // A records; empty: NXDOMAIN / not listed
  std::string reason;                   // the listing's TXT record as received (interpret_dnsbl makes it safe)
};

/// The code that makes `lookup` a listing in `zone`, or "" when it is not one.
std::string dnsbl_listing(const DnsblZone& zone, const DnsblLookup& lookup);

struct DnsblOutcome {
  Decision decision;                    // accept, or reject(dnsbl_listed)
  std::string reject_zone;              // the first reject zone that lists the client
  std::string reject_reason;            // that zone's TXT reason ("" when it gave none)
  std::vector<std::string> tags;        // "zone=127.0.0.2" of every tag zone that lists it
};

/// `lookups[i]` is the answer for `zones[i]`.
DnsblOutcome interpret_dnsbl(std::span<const DnsblZone> zones, std::span<const DnsblLookup> lookups);

/// A DNSBL's TXT text made fit for a reply line: printable ASCII only (others become
/// '?', runs of spaces and controls one space), trimmed, at most 200 octets. The text
/// comes from whoever runs the zone and goes to the client verbatim otherwise.
std::string dnsbl_reason(std::string_view txt);

/// The header added (after Received:) to messages of a tagged client, CRLF-terminated;
/// "" without tags. One header listing every tagging zone.
std::string dnsbl_tag_header(std::span<const std::string> tags);

/// TTL to cache a result for: the DNS TTL clamped to [min, max].
std::chrono::seconds dnsbl_cache_ttl(std::chrono::seconds dns_ttl, std::chrono::seconds min, std::chrono::seconds max);

using DnsblCache = TtlCache<DnsblLookup>;

/// Cache key of one (zone, client) pair.
std::string dnsbl_cache_key(std::string_view zone, const IpAddress& client);

}  // namespace policy
