// Tests for relay/delivery/tls_session_report: DANE facts and transcripts to RFC 8460 results.
#include "relay/delivery/tls_session_report.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

using tlsrpt::PolicyType;
using tlsrpt::ResultType;

routing::DaneVerdict authenticate() {
  return {routing::DaneVerdict::Kind::authenticate, {{3, 1, 1, {0xAB, 0x01}}}, ""};
}

TEST(TlsSessionReport, DaneSessionSucceedsWithItsRecordsAsPolicyStrings) {
  const auto result = connected_session("example.com", "mx.example.com", authenticate(), Transcript{}, true,
                                        {"127.0.0.1", "127.0.0.2"});
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success);
  EXPECT_EQ(result->policy.type, PolicyType::tlsa);
  EXPECT_EQ(result->policy.strings, std::vector<std::string>{"3 1 1 AB01"});
  EXPECT_EQ(result->policy.mx_hosts, std::vector<std::string>{"mx.example.com"});
}

TEST(TlsSessionReport, TlsaMismatchIsAValidationFailure) {
  Transcript opened;
  opened.fault = Fault{FaultKind::tls_failed, Stage::starttls,
                       "TLS handshake: certificate verify failed (no matching DANE TLSA records)"};
  const auto result =
      connected_session("example.com", "mx.example.com", authenticate(), opened, false, {"127.0.0.1", "127.0.0.2"});
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->result, ResultType::validation_failure);
  EXPECT_EQ(result->receiving_ip, "127.0.0.2");
  EXPECT_EQ(result->sending_mta_ip, "127.0.0.1");
  EXPECT_EQ(result->receiving_mx_hostname, "mx.example.com");
}

TEST(TlsSessionReport, MissingStarttlsUnderDaneIsStarttlsNotSupported) {
  Transcript opened;
  opened.fault = Fault{FaultKind::tls_failed, Stage::starttls,
                       "STARTTLS not offered, but the host's TLSA records (DANE) require TLS"};
  const auto result = connected_session("example.com", "mx", authenticate(), opened, false, {});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result, ResultType::starttls_not_supported);
}

TEST(TlsSessionReport, OpportunisticSessionsAreNoPolicyFound) {
  const routing::DaneVerdict ordinary{};
  const auto tls = connected_session("example.com", "mx", ordinary, Transcript{}, true, {});
  ASSERT_TRUE(tls);
  EXPECT_TRUE(tls->success);
  EXPECT_EQ(tls->policy.type, PolicyType::no_policy_found);
  EXPECT_TRUE(tls->policy.mx_hosts.empty());
  const auto clear = connected_session("example.com", "mx", ordinary, Transcript{}, false, {});
  ASSERT_TRUE(clear);
  EXPECT_FALSE(clear->success);
  EXPECT_EQ(clear->result, ResultType::starttls_not_supported);
}

TEST(TlsSessionReport, SessionsEndedBeforeTlsAreNotReported) {
  Transcript refused;
  refused.fault = Fault{FaultKind::connect_refused, Stage::connect, "connect failed"};
  EXPECT_FALSE(connected_session("example.com", "mx", authenticate(), refused, false, {}));
}

TEST(TlsSessionReport, SkippedHostsNameTheDnsProblem) {
  const routing::DaneVerdict defer{routing::DaneVerdict::Kind::defer, {}, "TLSA lookup failed: SERVFAIL"};
  routing::TlsaLookup failed_lookup{routing::TlsaLookup::Status::failed, false, {}, "SERVFAIL"};
  EXPECT_EQ(skipped_session("example.com", "mx", failed_lookup, defer).result, ResultType::dnssec_invalid);
  routing::TlsaLookup none{routing::TlsaLookup::Status::answered, true, {}, ""};
  EXPECT_EQ(skipped_session("example.com", "mx", none, defer).result, ResultType::dane_required);
  routing::TlsaLookup unusable{routing::TlsaLookup::Status::answered, true, {{1, 1, 1, {0x01}}}, ""};
  const auto result = skipped_session("example.com", "mx", unusable, defer);
  EXPECT_EQ(result.result, ResultType::tlsa_invalid);
  EXPECT_EQ(result.policy.type, PolicyType::tlsa);
  EXPECT_FALSE(result.success);
}

// --- MTA-STS -----------------------------------------------------------------------

routing::StsPolicy enforce_policy() {
  return {routing::StsMode::enforce, {"mx.example.com", "*.backup.example.net"}, 86400, "20261201"};
}

StsFacts under_policy(const routing::StsPolicy& policy, routing::StsVerdict::Kind kind,
                      routing::TlsFailure session = routing::TlsFailure::none) {
  return {{kind, routing::TlsFailure::none, {}}, &policy, session};
}

TEST(TlsSessionReport, VerifiedStsSessionSucceedsWithThePolicyLines) {
  const auto policy = enforce_policy();
  const auto result = connected_session("example.com", "mx.example.com", {}, Transcript{}, true,
                                        {"127.0.0.1", "127.0.0.2"},
                                        under_policy(policy, routing::StsVerdict::Kind::verify));
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->success);
  EXPECT_EQ(result->policy.type, PolicyType::sts);
  EXPECT_EQ(result->policy.domain, "example.com");
  EXPECT_EQ(result->policy.strings, (std::vector<std::string>{"version: STSv1", "mode: enforce", "mx: mx.example.com",
                                                              "mx: *.backup.example.net", "max_age: 86400"}));
  EXPECT_EQ(result->policy.mx_hosts, (std::vector<std::string>{"mx.example.com", "*.backup.example.net"}));
}

TEST(TlsSessionReport, StsCertificateFailuresKeepTheClientsResultType) {
  const auto policy = enforce_policy();
  Transcript opened;
  opened.fault =
      Fault{FaultKind::tls_failed, Stage::starttls, "TLS handshake: certificate verify failed (hostname mismatch)"};
  using routing::TlsFailure;
  const std::vector<std::pair<TlsFailure, ResultType>> cases{
      {TlsFailure::certificate_host_mismatch, ResultType::certificate_host_mismatch},
      {TlsFailure::certificate_expired, ResultType::certificate_expired},
      {TlsFailure::validation_failure, ResultType::validation_failure},
      {TlsFailure::starttls_not_supported, ResultType::starttls_not_supported}};
  for (const auto& [found, expected] : cases) {
    const auto result = connected_session("example.com", "mx.example.com", {}, opened, false,
                                          {"127.0.0.1", "127.0.0.2"},
                                          under_policy(policy, routing::StsVerdict::Kind::verify, found));
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->success);
    EXPECT_EQ(result->policy.type, PolicyType::sts);
    EXPECT_EQ(result->result, expected);
    EXPECT_EQ(result->additional_information, opened.fault->text);
    EXPECT_EQ(result->receiving_ip, "127.0.0.2");
  }
}

TEST(TlsSessionReport, StsStarttlsRefusedIsStarttlsNotSupported) {
  const auto policy = enforce_policy();
  Transcript opened;
  opened.refusal = StagedReply{Stage::starttls, Reply{454, std::nullopt, {"TLS not available"}}};
  const auto result = connected_session("example.com", "mx.example.com", {}, opened, false, {},
                                        under_policy(policy, routing::StsVerdict::Kind::verify));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->result, ResultType::starttls_not_supported);
}

TEST(TlsSessionReport, TestingModeFailuresAreReportedThoughDelivered) {
  routing::StsPolicy policy = enforce_policy();
  policy.mode = routing::StsMode::testing;
  // The session opened (delivery goes on) with a certificate that did not verify.
  const auto result = connected_session("example.com", "mx.example.com", {}, Transcript{}, true, {},
                                        under_policy(policy, routing::StsVerdict::Kind::report,
                                                     routing::TlsFailure::validation_failure));
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->result, ResultType::validation_failure);
  EXPECT_EQ(result->policy.strings[1], "mode: testing");
  // A host the testing policy does not name is used, and reported, whatever its TLS.
  const StsFacts unnamed{{routing::StsVerdict::Kind::report, routing::TlsFailure::validation_failure,
                          "MX host not in the MTA-STS policy"}, &policy, routing::TlsFailure::none};
  const auto outside = connected_session("example.com", "mx.other.com", {}, Transcript{}, true, {}, unnamed);
  ASSERT_TRUE(outside);
  EXPECT_FALSE(outside->success);
  EXPECT_EQ(outside->additional_information, "MX host not in the MTA-STS policy");
}

TEST(TlsSessionReport, DaneKeepsPrecedenceOverSts) {
  const auto policy = enforce_policy();
  const auto result = connected_session("example.com", "mx.example.com", authenticate(), Transcript{}, true, {},
                                        under_policy(policy, routing::StsVerdict::Kind::verify));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->policy.type, PolicyType::tlsa);
}

TEST(TlsSessionReport, SkippedStsHostIsAValidationFailure) {
  const auto policy = enforce_policy();
  const StsFacts skipped{{routing::StsVerdict::Kind::skip, routing::TlsFailure::validation_failure,
                          "MX host not in the MTA-STS policy (id 20261201)"}, &policy, routing::TlsFailure::none};
  const auto result = skipped_sts_session("example.com", "mx.evil.example", skipped);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->policy.type, PolicyType::sts);
  EXPECT_EQ(result->result, ResultType::validation_failure);
  EXPECT_EQ(result->receiving_mx_hostname, "mx.evil.example");
  EXPECT_EQ(result->policy.mx_hosts.size(), 2u);
}

TEST(TlsSessionReport, PolicyThatCouldNotBeHadIsReportedUnderSts) {
  // auto: the policy fetch failed, delivery went on as opportunistic.
  const StsFacts fetch_failed{{routing::StsVerdict::Kind::ordinary, routing::TlsFailure::sts_webpki_invalid,
                               "mta-sts.example.com: TLS handshake: certificate verify failed"}, nullptr,
                              routing::TlsFailure::none};
  const auto result = connected_session("example.com", "mx.example.com", {}, Transcript{}, true, {}, fetch_failed);
  ASSERT_TRUE(result);
  EXPECT_FALSE(result->success);
  EXPECT_EQ(result->policy.type, PolicyType::sts);
  EXPECT_TRUE(result->policy.strings.empty());
  EXPECT_EQ(result->result, ResultType::sts_webpki_invalid);
  // tls = "mta-sts": the host is not used.
  const StsFacts deferred{{routing::StsVerdict::Kind::defer, routing::TlsFailure::sts_policy_invalid, "bad policy"},
                          nullptr, routing::TlsFailure::none};
  EXPECT_EQ(skipped_sts_session("example.com", "mx", deferred)->result, ResultType::sts_policy_invalid);
  // tls = "mta-sts" and the domain publishes nothing: no policy to report on.
  const StsFacts none{{routing::StsVerdict::Kind::defer, routing::TlsFailure::none, "no MTA-STS policy"}, nullptr,
                      routing::TlsFailure::none};
  EXPECT_FALSE(skipped_sts_session("example.com", "mx", none));
  // Ended before TLS: not counted under sts either.
  Transcript refused;
  refused.fault = Fault{FaultKind::connect_refused, Stage::connect, "connect failed"};
  EXPECT_FALSE(connected_session("example.com", "mx", {}, refused, false, {}, fetch_failed));
}

TEST(TlsSessionReport, NoStsFactsMeansNoPolicyFound) {
  const auto result = connected_session("example.com", "mx", {}, Transcript{}, true, {}, StsFacts{});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->policy.type, PolicyType::no_policy_found);
}

TEST(TlsSessionReport, OnlyAutoAndDaneHopsReport) {
  EXPECT_TRUE(reports_tls_sessions(conf::TlsPolicy::automatic));
  EXPECT_TRUE(reports_tls_sessions(conf::TlsPolicy::dane));
  EXPECT_TRUE(reports_tls_sessions(conf::TlsPolicy::mta_sts));
  EXPECT_FALSE(reports_tls_sessions(conf::TlsPolicy::opportunistic));
  EXPECT_FALSE(reports_tls_sessions(conf::TlsPolicy::verify));
}

}  // namespace
}  // namespace relay
