// routing/dns_message.hpp — the few facts DANE needs from a raw DNS answer.
//
// Owns: reading a DNS message (RFC 1035 §4.1) as bytes: the header's RCODE and AD bit
// (RFC 4035 §3.2.3: "authentic data", set by a validating resolver), and the TLSA records
// of the answer section (RFC 6698 §2.1), compressed owner names included. Also building
// the question c-ares sends, with the AD bit set (RFC 6840 §5.7: how a stub asks a
// validating resolver to report validation without setting DO).
// Never: performs I/O, trusts a length field (every read is bounds-checked), validates
// DNSSEC itself (the configured resolver does; see [dns] dnssec).
// Standards: RFC 1035, RFC 4035, RFC 6698, RFC 6840 §5.7, RFC 7672 §2.2.
#pragma once

#include <cstdint>
#include <expected>
#include <span>
#include <string>
#include <vector>

namespace routing {

inline constexpr std::uint16_t dns_type_tlsa = 52;

/// One TLSA record: certificate usage, selector, matching type, association data.
struct TlsaRecord {
  std::uint8_t usage = 0;
  std::uint8_t selector = 0;
  std::uint8_t matching = 0;
  std::vector<std::uint8_t> data;
  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

/// RCODE values this code tells apart (RFC 1035 §4.1.1).
enum class DnsRcode : std::uint8_t { no_error = 0, format_error = 1, server_failure = 2, name_error = 3 };

/// What a DNS answer says, as far as DANE cares.
struct DnsAnswerFacts {
  std::uint8_t rcode = 0;         // DnsRcode values, others kept as they are
  bool authentic = false;         // the AD bit
  std::vector<TlsaRecord> tlsa;   // TLSA records of the answer section, in order
};

/// Header and TLSA records of `message`; an error text when it is not a DNS response
/// or a record runs past the end.
std::expected<DnsAnswerFacts, std::string> read_dns_answer(std::span<const std::uint8_t> message);

/// Only the AD bit of `message` (false when it is shorter than a header).
bool authentic_data(std::span<const std::uint8_t> message) noexcept;

/// Sets the AD bit in a query built by c-ares (ares_create_query): RFC 6840 §5.7 asks a
/// validating resolver to say whether the answer validated. No-op on a short buffer.
void request_authentic_data(std::span<std::uint8_t> query) noexcept;

/// RFC 7672 §3.1 / RFC 6698: usable for SMTP are DANE-TA(2) and DANE-EE(3), with
/// selector Cert(0) or SPKI(1) and matching Full(0), SHA2-256(1) (32 octets) or
/// SHA2-512(2) (64 octets). PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP.
bool usable_for_smtp(const TlsaRecord& record) noexcept;

}  // namespace routing
