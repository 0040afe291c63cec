// relay/delivery/tls_session_report.hpp — what one MX session means for TLS reporting.
//
// Owns: turning the DANE facts of one MX host (routing/dane_policy) and what the SMTP
// client saw (its connect transcript, whether TLS came up) into the RFC 8460 value TLS
// reporting counts (relay/tlsrpt/session_result), or nothing when the attempt never
// reached the point where TLS is negotiated (connection refused, banner refused...).
// Mapping (RFC 8460 §4.3, RFC 7672):
//   TLSA lookup failed (SERVFAIL, bogus)            → tlsa policy, dnssec-invalid
//   tls = "dane", no validated usable TLSA           → dane-required (tlsa-invalid when
//                                                     records exist but none is usable)
//   TLSA records, STARTTLS missing or refused        → tlsa policy, starttls-not-supported
//   TLSA records, handshake or certificate failure   → tlsa policy, validation-failure
//                                                     (certificate-expired when so said)
//   no DANE for the host: TLS up → no-policy-found success; STARTTLS missing or refused
//   → starttls-not-supported; handshake failure → validation-failure.
// Never: I/O. Pure over its inputs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "relay/client/judge.hpp"
#include "relay/tlsrpt/session_result.hpp"
#include "routing/dane_policy.hpp"

namespace relay {

/// The listener name report messages are queued under: their sessions are not reported.
inline constexpr std::string_view tls_report_listener = "tls-report";

/// Whether sessions of a hop with `policy` are reported on: tls = "auto" or "dane".
bool reports_tls_sessions(conf::TlsPolicy policy) noexcept;

/// The policy a host was held to: tlsa with its usable records, or no-policy-found.
tlsrpt::PolicyDescription tls_policy_of(const std::string& domain, const std::string& host,
                                        const routing::DaneVerdict& dane);

/// The failure of a host skipped before connecting (dane.kind == defer).
tlsrpt::TlsSessionResult skipped_session(const std::string& domain, const std::string& host,
                                         const routing::TlsaLookup& tlsa, const routing::DaneVerdict& dane);

/// A session that connected: `opened` is the connect transcript, `tls_active` whether TLS
/// came up. Nullopt when the session ended before STARTTLS mattered.
struct SessionAddresses {
  std::string local_ip;
  std::string remote_ip;
};
std::optional<tlsrpt::TlsSessionResult> connected_session(const std::string& domain, const std::string& host,
                                                          const routing::DaneVerdict& dane, const Transcript& opened,
                                                          bool tls_active, SessionAddresses addresses);

}  // namespace relay
