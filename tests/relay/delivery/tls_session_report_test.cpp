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

TEST(TlsSessionReport, OnlyAutoAndDaneHopsReport) {
  EXPECT_TRUE(reports_tls_sessions(conf::TlsPolicy::automatic));
  EXPECT_TRUE(reports_tls_sessions(conf::TlsPolicy::dane));
  EXPECT_FALSE(reports_tls_sessions(conf::TlsPolicy::opportunistic));
  EXPECT_FALSE(reports_tls_sessions(conf::TlsPolicy::verify));
}

}  // namespace
}  // namespace relay
