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

// RFC 8460 §4.4: an sts policy-string is the policy's lines. Those of a stored policy
// (extension lines are not kept): version, mode, one per mx pattern, max_age.
std::vector<std::string> sts_policy_lines(const routing::StsPolicy& policy) {
  std::vector<std::string> lines{"version: STSv1", "mode: " + std::string(routing::to_string(policy.mode))};
  for (const auto& mx : policy.mx) lines.push_back("mx: " + mx);
  lines.push_back("max_age: " + std::to_string(policy.max_age));
  return lines;
}

// routing's names of the result types MTA-STS tells apart, as RFC 8460 values.
ResultType result_of(routing::TlsFailure failure) noexcept {
  switch (failure) {
    case routing::TlsFailure::starttls_not_supported: return ResultType::starttls_not_supported;
    case routing::TlsFailure::certificate_host_mismatch: return ResultType::certificate_host_mismatch;
    case routing::TlsFailure::certificate_expired: return ResultType::certificate_expired;
    case routing::TlsFailure::sts_policy_fetch_error: return ResultType::sts_policy_fetch_error;
    case routing::TlsFailure::sts_policy_invalid: return ResultType::sts_policy_invalid;
    case routing::TlsFailure::sts_webpki_invalid: return ResultType::sts_webpki_invalid;
    case routing::TlsFailure::none:
    case routing::TlsFailure::validation_failure: return ResultType::validation_failure;
  }
  return ResultType::validation_failure;
}

// Whether the host is reported under policy-type sts: a policy in force decided about it
// (verify, report, skip), or the domain's policy could not be had (a failure travels with
// an ordinary or defer verdict). DANE-authenticated hosts get the default verdict.
bool under_sts(const StsFacts& sts) noexcept {
  using Kind = routing::StsVerdict::Kind;
  const Kind kind = sts.verdict.kind;
  if (kind == Kind::verify || kind == Kind::report || kind == Kind::skip) return true;
  return sts.verdict.failure != routing::TlsFailure::none;
}

bool at_starttls(Stage stage) noexcept { return stage == Stage::starttls; }

// A session under MTA-STS (see the header's mapping); the session reached TLS.
tlsrpt::TlsSessionResult sts_session(tlsrpt::TlsSessionResult result, const StsFacts& sts, const Transcript& opened) {
  const auto fail = [&](ResultType type, std::string information) {
    result.success = false;
    result.result = type;
    result.additional_information = std::move(information);
    return result;
  };
  // The policy itself failed (could not be had, or does not name this MX host).
  if (sts.verdict.failure != routing::TlsFailure::none) return fail(result_of(sts.verdict.failure), sts.verdict.why);
  if (opened.refusal && at_starttls(opened.refusal->stage))
    return fail(ResultType::starttls_not_supported, "STARTTLS refused: " + std::to_string(opened.refusal->reply.code));
  if (sts.session != routing::TlsFailure::none)
    return fail(result_of(sts.session),
                opened.fault ? opened.fault->text : "policy mode testing: delivered without a verified session");
  return result;
}

}  // namespace

bool reports_tls_sessions(conf::TlsPolicy policy) noexcept {
  return policy == conf::TlsPolicy::automatic || policy == conf::TlsPolicy::dane ||
         policy == conf::TlsPolicy::mta_sts;
}

tlsrpt::PolicyDescription sts_policy_of(const std::string& domain, const routing::StsPolicy* policy) {
  if (policy == nullptr) return {tlsrpt::PolicyType::sts, domain, {}, {}};
  return {tlsrpt::PolicyType::sts, domain, sts_policy_lines(*policy), policy->mx};
}

std::optional<tlsrpt::TlsSessionResult> skipped_sts_session(const std::string& domain, const std::string& host,
                                                            const StsFacts& sts) {
  if (!under_sts(sts)) return std::nullopt;
  return failed(sts_policy_of(domain, sts.policy), result_of(sts.verdict.failure), host, sts.verdict.why);
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
                                                          bool tls_active, SessionAddresses addresses,
                                                          const StsFacts& sts) {
  const bool sts_applies = dane.kind != routing::DaneVerdict::Kind::authenticate && under_sts(sts);
  tlsrpt::TlsSessionResult result{sts_applies ? sts_policy_of(domain, sts.policy) : tls_policy_of(domain, host, dane),
                                  true,
                                  ResultType::validation_failure,
                                  std::move(addresses.local_ip),
                                  host,
                                  std::move(addresses.remote_ip),
                                  ""};
  const bool reached_tls =
      opened.opened() || (opened.refusal && at_starttls(opened.refusal->stage)) ||
      (opened.fault && opened.fault->kind == FaultKind::tls_failed && at_starttls(opened.fault->stage));
  if (sts_applies) {
    if (!reached_tls) return std::nullopt;  // ended before TLS: nothing to say about TLS
    return sts_session(std::move(result), sts, opened);
  }
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
