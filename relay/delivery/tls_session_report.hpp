// relay/delivery/tls_session_report.hpp — what one MX session means for TLS reporting.
//
// Owns: turning the DANE facts of one MX host (routing/dane_policy), what MTA-STS made of
// it (routing/mta_sts_policy) and what the SMTP client saw (its connect transcript,
// whether TLS came up) into the RFC 8460 value TLS reporting counts
// (relay/tlsrpt/session_result), or nothing when the attempt never reached the point
// where TLS is negotiated (connection refused, banner refused...).
// Which policy (RFC 8460 §4.4): tlsa when DANE applied to the host (DANE wins, RFC 8461
// §2); else sts when the domain's MTA-STS policy applied or could not be had (fetch
// failure, invalid policy); else no-policy-found.
// Mapping (RFC 8460 §4.3, RFC 7672, RFC 8461):
//   TLSA lookup failed (SERVFAIL, bogus)            → tlsa policy, dnssec-invalid
//   tls = "dane", no validated usable TLSA           → dane-required (tlsa-invalid when
//                                                     records exist but none is usable)
//   TLSA records, STARTTLS missing or refused        → tlsa policy, starttls-not-supported
//   TLSA records, handshake or certificate failure   → tlsa policy, validation-failure
//                                                     (certificate-expired when so said)
//   no DANE for the host: TLS up → no-policy-found success; STARTTLS missing or refused
//   → starttls-not-supported; handshake failure → validation-failure.
//   MTA-STS policy in force (enforce or testing): verified session → sts success; else
//   the client's finding (starttls-not-supported, certificate-host-mismatch,
//   certificate-expired, validation-failure); MX host not in the policy (skipped under
//   enforce, used under testing) → validation-failure; policy not to be had →
//   sts-policy-fetch-error, sts-policy-invalid or sts-webpki-invalid, policy-string empty.
// Never: I/O. Pure over its inputs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "relay/client/judge.hpp"
#include "relay/tlsrpt/session_result.hpp"
#include "routing/dane_policy.hpp"
#include "routing/mta_sts_policy.hpp"

namespace relay {

/// The listener name report messages are queued under: their sessions are not reported.
inline constexpr std::string_view tls_report_listener = "tls-report";

/// Whether sessions of a hop with `policy` are reported on: tls = "auto", "dane" or
/// "mta-sts".
bool reports_tls_sessions(conf::TlsPolicy policy) noexcept;

/// The policy a host was held to: tlsa with its usable records, or no-policy-found.
tlsrpt::PolicyDescription tls_policy_of(const std::string& domain, const std::string& host,
                                        const routing::DaneVerdict& dane);

/// The failure of a host skipped before connecting (dane.kind == defer).
tlsrpt::TlsSessionResult skipped_session(const std::string& domain, const std::string& host,
                                         const routing::TlsaLookup& tlsa, const routing::DaneVerdict& dane);

/// What MTA-STS made of one MX host. The default: MTA-STS did not apply (DANE did, the
/// hop does not use it, the sender waived it).
struct StsFacts {
  routing::StsVerdict verdict;                  // decide_sts for the host
  const routing::StsPolicy* policy = nullptr;   // the policy in force, if any
  routing::TlsFailure session = routing::TlsFailure::none;  // the client's finding (SmtpClient::sts_failure)
};

/// The sts policy description (RFC 8460 §4.4): policy-string the policy's lines, mx-host
/// its mx patterns; both empty when no policy could be had.
tlsrpt::PolicyDescription sts_policy_of(const std::string& domain, const routing::StsPolicy* policy);

/// The failure of a host MTA-STS kept us from (verdict skip or defer); nullopt when there
/// is nothing to report (tls = "mta-sts" and the domain publishes no policy at all).
std::optional<tlsrpt::TlsSessionResult> skipped_sts_session(const std::string& domain, const std::string& host,
                                                            const StsFacts& sts);

/// A session that connected: `opened` is the connect transcript, `tls_active` whether TLS
/// came up. Nullopt when the session ended before STARTTLS mattered.
struct SessionAddresses {
  std::string local_ip;
  std::string remote_ip;
};
std::optional<tlsrpt::TlsSessionResult> connected_session(const std::string& domain, const std::string& host,
                                                          const routing::DaneVerdict& dane, const Transcript& opened,
                                                          bool tls_active, SessionAddresses addresses,
                                                          const StsFacts& sts = {});

}  // namespace relay
