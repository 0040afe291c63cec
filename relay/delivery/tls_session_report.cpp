// relay/delivery/tls_session_report.cpp — DANE facts and client transcripts to RFC 8460
// session results (see the header for the mapping).
#include "relay/delivery/tls_session_report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace relay {
namespace {

using tlsrpt::ResultType;

std::string tlsa_text(const routing::TlsaRecord& record) {
  std::string out = fmt::format("{} {} {} ", record.usage, record.selector, record.matching);
  for (const std::uint8_t byte : record.data) out += fmt::format("{:02X}", byte);
  return out;
}

tlsrpt::TlsSessionResult failed(tlsrpt::PolicyDescription policy, ResultType type, const std::string& host,
                                std::string information) {
  return {std::move(policy), false, type, "", host, "", std::move(information)};
}

}  // namespace

bool reports_tls_sessions(conf::TlsPolicy policy) noexcept {
  return policy == conf::TlsPolicy::automatic || policy == conf::TlsPolicy::dane;
}

tlsrpt::PolicyDescription tls_policy_of(const std::string& domain, const std::string& host,
                                        const routing::DaneVerdict& dane) {
  if (dane.kind == routing::DaneVerdict::Kind::ordinary) return {tlsrpt::PolicyType::no_policy_found, domain, {}, {}};
  tlsrpt::PolicyDescription policy{tlsrpt::PolicyType::tlsa, domain, {}, {host}};
  std::ranges::transform(dane.records, std::back_inserter(policy.strings), tlsa_text);
  return policy;
}

tlsrpt::TlsSessionResult skipped_session(const std::string& domain, const std::string& host,
                                         const routing::TlsaLookup& tlsa, const routing::DaneVerdict& dane) {
  tlsrpt::PolicyDescription policy{tlsrpt::PolicyType::tlsa, domain, {}, {host}};
  if (tlsa.status == routing::TlsaLookup::Status::failed)
    return failed(std::move(policy), ResultType::dnssec_invalid, host, dane.why);
  std::ranges::transform(tlsa.records, std::back_inserter(policy.strings), tlsa_text);
  // RFC 7672 §2.2: records exist but none can be used for SMTP.
  const bool unusable = tlsa.secure && !tlsa.records.empty() &&
                        std::ranges::none_of(tlsa.records, routing::usable_for_smtp);
  return failed(std::move(policy), unusable ? ResultType::tlsa_invalid : ResultType::dane_required, host, dane.why);
}

std::optional<tlsrpt::TlsSessionResult> connected_session(const std::string& domain, const std::string& host,
                                                          const routing::DaneVerdict& dane, const Transcript& opened,
                                                          bool tls_active, SessionAddresses addresses) {
  tlsrpt::TlsSessionResult result{tls_policy_of(domain, host, dane), true, ResultType::validation_failure,
                                  std::move(addresses.local_ip), host, std::move(addresses.remote_ip), ""};
  const auto at_starttls = [](Stage stage) { return stage == Stage::starttls; };
  if (opened.refusal && at_starttls(opened.refusal->stage)) {
    result.success = false;
    result.result = ResultType::starttls_not_supported;
    result.additional_information = "STARTTLS refused: " + std::to_string(opened.refusal->reply.code);
  } else if (opened.fault && opened.fault->kind == FaultKind::tls_failed && at_starttls(opened.fault->stage)) {
    result.success = false;
    const std::string& text = opened.fault->text;
    if (text.find("not offered") != std::string::npos) result.result = ResultType::starttls_not_supported;
    else if (text.find("expired") != std::string::npos) result.result = ResultType::certificate_expired;
    result.additional_information = text;
  } else if (!opened.opened()) {
    return std::nullopt;  // ended before TLS: nothing to say about TLS
  } else if (!tls_active) {
    // Opportunistic delivery in clear: the receiver did not offer STARTTLS.
    result.success = false;
    result.result = ResultType::starttls_not_supported;
  }
  return result;
}

}  // namespace relay
