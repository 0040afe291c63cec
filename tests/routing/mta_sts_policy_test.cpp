// tests/routing/mta_sts_policy_test.cpp — MTA-STS (RFC 8461): the TXT record and policy
// grammar, MX pattern matching, cache refresh and expiry (time as a value), the stored
// text form, and the verdict per MX host under "auto" and "mta-sts".
#include <gtest/gtest.h>

#include "routing/mta_sts_policy.hpp"

namespace routing {
namespace {

using conf::TlsPolicy;
using Kind = StsVerdict::Kind;

constexpr std::string_view enforce_body =
    "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\n";

StsRecordLookup found(std::string id) { return {StsRecordLookup::Status::found, {std::move(id)}, {}}; }

StsCacheEntry entry(StsMode mode, std::string id, std::int64_t fetched_at, std::int64_t max_age = 1000) {
  return {{mode, {"mx.example.com"}, max_age, std::move(id)}, fetched_at};
}

TEST(MtaStsRecord, ParsesVersionAndId) {
  auto record = parse_sts_record("v=STSv1; id=20160831085700Z;");
  ASSERT_TRUE(record) << record.error();
  EXPECT_EQ(record->id, "20160831085700Z");
  EXPECT_TRUE(parse_sts_record("v = STSv1 ;id=abc; ext.x-y=val"));  // WSP and an extension
}

TEST(MtaStsRecord, RejectsWhatTheGrammarDoesNot) {
  EXPECT_FALSE(parse_sts_record("id=abc; v=STSv1"));     // version must come first
  EXPECT_FALSE(parse_sts_record("v=STSv1;"));            // no id
  EXPECT_FALSE(parse_sts_record("v=STSv1; id="));        // empty id
  EXPECT_FALSE(parse_sts_record("v=STSv1; id=a-b"));     // id is letters and digits
  EXPECT_FALSE(parse_sts_record("v=STSv1; id=" + std::string(33, 'a')));  // at most 32
  EXPECT_FALSE(parse_sts_record("v=STSv1; id=a; id=b"));
  EXPECT_FALSE(parse_sts_record("v=STSv1;; id=a"));
  EXPECT_FALSE(parse_sts_record("v=STSv2; id=a"));
}

TEST(MtaStsRecord, SelectsExactlyOneStsRecord) {
  EXPECT_EQ(select_sts_record({}).status, StsRecordLookup::Status::none);
  EXPECT_EQ(select_sts_record({"some other text"}).status, StsRecordLookup::Status::none);
  const auto one = select_sts_record({"spf-like text", "v=STSv1; id=abc"});
  EXPECT_EQ(one.status, StsRecordLookup::Status::found);
  EXPECT_EQ(one.record.id, "abc");
  EXPECT_EQ(select_sts_record({"v=STSv1; id=a", "v=STSv1; id=b"}).status, StsRecordLookup::Status::invalid);
  EXPECT_EQ(select_sts_record({"v=STSv1; id=a-b"}).status, StsRecordLookup::Status::invalid);
}

TEST(MtaStsPolicyFile, ParsesCrlfAndLf) {
  auto policy = parse_sts_policy(enforce_body);
  ASSERT_TRUE(policy) << policy.error();
  EXPECT_EQ(policy->mode, StsMode::enforce);
  EXPECT_EQ(policy->max_age, 86400);
  EXPECT_EQ(policy->mx, (std::vector<std::string>{"mail.example.com", "*.example.net"}));
  auto lf = parse_sts_policy("version: STSv1\nmode: testing\nmx: MX.Example.COM\nmax_age:31557600\nfuture: x\n");
  ASSERT_TRUE(lf) << lf.error();
  EXPECT_EQ(lf->mode, StsMode::testing);
  EXPECT_EQ(lf->mx, std::vector<std::string>{"mx.example.com"});  // lower-cased
  EXPECT_EQ(lf->max_age, 31557600);
  EXPECT_TRUE(parse_sts_policy("version: STSv1\nmode: none\nmax_age: 0\n"));  // none needs no mx
}

TEST(MtaStsPolicyFile, RejectsInvalidPolicies) {
  EXPECT_FALSE(parse_sts_policy("mode: enforce\nmx: a.example\nmax_age: 1\n"));                    // no version
  EXPECT_FALSE(parse_sts_policy("version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a.example\n"));               // no max_age
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmax_age: 1\n"));                  // no mx
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n"));
  EXPECT_FALSE(parse_sts_policy("version: STSv1\nmode: enforce\nmx a.example\nmax_age: 1\n"));   // no colon
  EXPECT_FALSE(parse_sts_policy("<html>moved</html>"));
}

TEST(MtaStsMx, WildcardMatchesExactlyOneLeftmostLabel) {
  EXPECT_TRUE(sts_mx_matches("*.example.net", "mx1.example.net"));
  EXPECT_TRUE(sts_mx_matches("*.example.net", "MX1.Example.NET."));
  EXPECT_FALSE(sts_mx_matches("*.example.net", "a.b.example.net"));
  EXPECT_FALSE(sts_mx_matches("*.example.net", "example.net"));
  EXPECT_TRUE(sts_mx_matches("mail.example.com", "mail.example.com."));
  EXPECT_FALSE(sts_mx_matches("mail.example.com", "evil-mail.example.com"));
  const auto policy = parse_sts_policy(enforce_body);
  ASSERT_TRUE(policy);
  EXPECT_TRUE(sts_mx_matches(*policy, "x.example.net"));
  EXPECT_FALSE(sts_mx_matches(*policy, "mx.attacker.example"));
}

TEST(MtaStsCache, ExpiresAfterMaxAge) {
  const auto e = entry(StsMode::enforce, "a", 1000, 500);
  EXPECT_FALSE(sts_expired(e, 1499));
  EXPECT_TRUE(sts_expired(e, 1500));
}

TEST(MtaStsCache, FetchesWhenMissingIdChangedOrNearExpiry) {
  EXPECT_TRUE(sts_needs_fetch(std::nullopt, found("a"), 0));
  EXPECT_FALSE(sts_needs_fetch(std::nullopt, {}, 0));  // no record, nothing stored: no policy
  const auto e = entry(StsMode::enforce, "a", 1000, 1000);
  EXPECT_FALSE(sts_needs_fetch(e, found("a"), 1500));
  EXPECT_TRUE(sts_needs_fetch(e, found("b"), 1500));   // the id changed
  EXPECT_TRUE(sts_needs_fetch(e, found("a"), 1900));   // last tenth of its life
  EXPECT_FALSE(sts_needs_fetch(e, {}, 1900));          // record gone: keep the stored one
}

TEST(MtaStsCache, FetchedPolicyReplacesTheStoredOne) {
  const auto stored = entry(StsMode::enforce, "a", 1000);
  const StsFetchResult fetched{StsFetchResult::Status::ok, std::string(enforce_body), {}};
  const auto resolved = resolve_sts(stored, found("b"), fetched, 1200);
  ASSERT_TRUE(resolved.entry);
  EXPECT_TRUE(resolved.store);
  EXPECT_EQ(resolved.entry->policy.id, "b");
  EXPECT_EQ(resolved.entry->fetched_at, 1200);
  EXPECT_EQ(resolved.entry->policy.max_age, 86400);
}

TEST(MtaStsCache, FailedFetchKeepsUnexpiredStoredPolicy) {
  const auto stored = entry(StsMode::enforce, "a", 1000, 1000);
  const StsFetchResult failed{StsFetchResult::Status::fetch_error, {}, "connection refused"};
  auto resolved = resolve_sts(stored, found("b"), failed, 1500);
  ASSERT_TRUE(resolved.entry);
  EXPECT_EQ(resolved.entry->policy.id, "a");
  EXPECT_FALSE(resolved.store);
  EXPECT_EQ(resolved.failure, TlsFailure::sts_policy_fetch_error);
  // A TXT outage (no record seen, nothing fetched) keeps it too.
  EXPECT_TRUE(resolve_sts(stored, {}, std::nullopt, 1500).entry);
  // Expired: nothing is in force any more.
  EXPECT_FALSE(resolve_sts(stored, found("b"), failed, 2000).entry);
  const StsFetchResult untrusted{StsFetchResult::Status::webpki_invalid, {}, "certificate verify failed"};
  EXPECT_EQ(resolve_sts(std::nullopt, found("b"), untrusted, 1500).failure, TlsFailure::sts_webpki_invalid);
  const StsFetchResult garbage{StsFetchResult::Status::ok, "not a policy", {}};
  resolved = resolve_sts(std::nullopt, found("b"), garbage, 1500);
  EXPECT_FALSE(resolved.entry);
  EXPECT_EQ(resolved.failure, TlsFailure::sts_policy_invalid);
}

TEST(MtaStsCache, StoredTextRoundTrips) {
  StsCacheEntry e{{StsMode::testing, {"a.example", "*.b.example"}, 604800, "id2024"}, 1733370000};
  const auto back = parse_sts_cache(format_sts_cache(e));
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(*back, e);
  EXPECT_FALSE(parse_sts_cache("version: STSv1\nmode: enforce\nmx: a\nmax_age: 1\n"));  // no fetched_at
}

TEST(MtaStsCache, CacheFileNamesComeOnlyFromPlainDomains) {
  EXPECT_EQ(sts_cache_path("/var/lib/hubrelay/mta-sts", "example.com"), "/var/lib/hubrelay/mta-sts/example.com");
  EXPECT_EQ(sts_cache_path("/s", "../etc"), "");
  EXPECT_EQ(sts_cache_path("/s", "a/b"), "");
  EXPECT_EQ(sts_cache_path("/s", ".hidden"), "");
  EXPECT_EQ(sts_cache_path("", "example.com"), "");
}

TEST(MtaStsCache, ExplainsTheStoredPolicy) {
  EXPECT_NE(sts_explanation("a.example", std::nullopt, 0).find("no policy stored"), std::string::npos);
  const StsCacheEntry e{{StsMode::enforce, {"mx.a.example"}, 100, "v7"}, 1000};
  EXPECT_EQ(sts_explanation("a.example", format_sts_cache(e), 1040),
            "mta-sts:    policy id v7, mode enforce, mx mx.a.example, in force for 60 s more\n");
  EXPECT_NE(sts_explanation("a.example", format_sts_cache(e), 1100).find("expired"), std::string::npos);
}

TEST(MtaStsVerdict, EnforceVerifiesMatchingAndSkipsOtherHosts) {
  const StsResolution enforced{entry(StsMode::enforce, "a", 0), TlsFailure::none, {}, false};
  for (const auto mode : {TlsPolicy::automatic, TlsPolicy::mta_sts}) {
    EXPECT_EQ(decide_sts(mode, enforced, "MX.example.com.").kind, Kind::verify);
    const auto other = decide_sts(mode, enforced, "mx.attacker.example");
    EXPECT_EQ(other.kind, Kind::skip);
    EXPECT_EQ(other.failure, TlsFailure::validation_failure);
  }
  for (const auto mode : {TlsPolicy::opportunistic, TlsPolicy::verify, TlsPolicy::dane, TlsPolicy::none})
    EXPECT_EQ(decide_sts(mode, enforced, "mx.attacker.example").kind, Kind::ordinary);
}

TEST(MtaStsVerdict, TestingReportsAndNoneIsNoPolicy) {
  const StsResolution testing{entry(StsMode::testing, "a", 0), TlsFailure::none, {}, false};
  EXPECT_EQ(decide_sts(TlsPolicy::automatic, testing, "mx.example.com").kind, Kind::report);
  EXPECT_EQ(decide_sts(TlsPolicy::automatic, testing, "other.example").kind, Kind::report);
  const StsResolution none{entry(StsMode::none, "a", 0), TlsFailure::none, {}, false};
  EXPECT_EQ(decide_sts(TlsPolicy::automatic, none, "other.example").kind, Kind::ordinary);
  EXPECT_EQ(decide_sts(TlsPolicy::mta_sts, none, "other.example").kind, Kind::defer);
}

TEST(MtaStsVerdict, ForcedWithoutPolicyDefersAutoFallsBack) {
  const StsResolution failed{std::nullopt, TlsFailure::sts_policy_fetch_error, "timeout", false};
  const auto forced = decide_sts(TlsPolicy::mta_sts, failed, "mx.example.com");
  EXPECT_EQ(forced.kind, Kind::defer);
  EXPECT_EQ(forced.failure, TlsFailure::sts_policy_fetch_error);
  EXPECT_NE(forced.why.find("timeout"), std::string::npos);
  const auto automatic = decide_sts(TlsPolicy::automatic, failed, "mx.example.com");
  EXPECT_EQ(automatic.kind, Kind::ordinary);
  EXPECT_EQ(automatic.failure, TlsFailure::sts_policy_fetch_error);  // still reported
}

TEST(MtaStsFailure, ClassifiesSessionFailuresForReports) {
  using enum CertificateProblem;
  EXPECT_EQ(classify_session_failure(false, none), TlsFailure::starttls_not_supported);
  EXPECT_EQ(classify_session_failure(true, host_mismatch), TlsFailure::certificate_host_mismatch);
  EXPECT_EQ(classify_session_failure(true, expired), TlsFailure::certificate_expired);
  EXPECT_EQ(classify_session_failure(true, untrusted), TlsFailure::validation_failure);
  EXPECT_EQ(to_string(TlsFailure::sts_policy_fetch_error), "sts-policy-fetch-error");
  EXPECT_EQ(to_string(TlsFailure::starttls_not_supported), "starttls-not-supported");
}

}  // namespace
}  // namespace routing
