// relay/tlsrpt/session_result.hpp — what one outbound TLS session tells TLS reporting.
//
// Owns: the vocabulary of SMTP TLS Reporting (RFC 8460): the policy types a sender applies
// (tlsa, sts, no-policy-found, §4.3), the result types of a failed session (§4.3), and the
// value a delivery hands over for every session it made or tried to make to an MX host
// under a policy-aware hop (TlsSessionResult). DANE and MTA-STS both report through this
// value; nothing here knows how either policy is evaluated.
// Never: I/O or clock reads; the caller stamps the time.
// Standards: RFC 8460 §4.3, §4.4; RFC 7672 (DANE), RFC 8461 (MTA-STS).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::tlsrpt {

/// The policy the sender applied to the session (RFC 8460 §4.3 "policy-type").
enum class PolicyType : std::uint8_t { tlsa, sts, no_policy_found };

/// Why a session failed (RFC 8460 §4.3 "result-type"). The order is the RFC's.
enum class ResultType : std::uint8_t {
  starttls_not_supported,     // the receiver did not offer STARTTLS where a policy needed it
  certificate_host_mismatch,  // the certificate does not name the host
  certificate_expired,
  certificate_not_trusted,    // no chain to a trusted root
  validation_failure,         // any other failure to validate the policy (e.g. no TLSA match)
  tlsa_invalid,               // the TLSA records could not be used (RFC 7672 "unusable")
  dnssec_invalid,             // the DNSSEC lookup failed (bogus or unreachable)
  dane_required,              // DANE was required but no secure TLSA records were found
  sts_policy_fetch_error,
  sts_policy_invalid,
  sts_webpki_invalid,
};

inline constexpr std::size_t result_type_count = 11;

/// The RFC text ("starttls-not-supported", "tlsa", ...).
std::string_view to_string(PolicyType type) noexcept;
std::string_view to_string(ResultType type) noexcept;
/// The reverse of to_string; nullopt for text that names nothing.
std::optional<PolicyType> policy_type_from(std::string_view text) noexcept;
std::optional<ResultType> result_type_from(std::string_view text) noexcept;

/// The policy a session was held to (RFC 8460 §4.4 "policy"). Two sessions under equal
/// policies are counted together.
struct PolicyDescription {
  PolicyType type = PolicyType::no_policy_found;
  std::string domain;                    // the recipient (policy) domain, lower case
  std::vector<std::string> strings;      // tlsa: one "3 1 1 ab..." per record; sts: the policy lines
  std::vector<std::string> mx_hosts;     // tlsa: the MX host; sts: the policy's mx patterns
  friend auto operator<=>(const PolicyDescription&, const PolicyDescription&) = default;
};

/// One session to one MX host, successful or not.
struct TlsSessionResult {
  PolicyDescription policy;
  bool success = true;
  ResultType result = ResultType::validation_failure;  // failures only
  std::string sending_mta_ip;         // our address of the connection, "" when none was made
  std::string receiving_mx_hostname;  // the MX host tried
  std::string receiving_ip;           // its address, "" when none was reached
  std::string additional_information; // free text for the receiver (kept short)
};

}  // namespace relay::tlsrpt
