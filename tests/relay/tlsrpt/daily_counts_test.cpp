// Tests for relay/tlsrpt/daily_counts: aggregation, day rollover, limits, state text.
#include "relay/tlsrpt/daily_counts.hpp"

#include <gtest/gtest.h>

namespace relay::tlsrpt {
namespace {

constexpr std::int64_t day_20261204 = 20791;  // 2026-12-04
constexpr std::int64_t noon = day_20261204 * 86400 + 12 * 3600;

PolicyDescription tlsa_policy() {
  return {PolicyType::tlsa, "example.com", {"3 1 1 abcd"}, {"mx.example.com"}};
}

TlsSessionResult success(PolicyDescription policy) { return {std::move(policy), true, {}, "", "", "", ""}; }

TlsSessionResult failure(ResultType type, std::string receiving_ip = "192.0.2.1") {
  return {tlsa_policy(), false, type, "198.51.100.5", "mx.example.com", std::move(receiving_ip), ""};
}

TEST(TlsReportCounts, CountsSuccessesAndGroupsFailuresPerPolicy) {
  DailyCounts counts;
  counts.record(success(tlsa_policy()), noon);
  counts.record(success(tlsa_policy()), noon + 1);
  counts.record(failure(ResultType::validation_failure), noon + 2);
  counts.record(failure(ResultType::validation_failure), noon + 3);
  counts.record(failure(ResultType::starttls_not_supported), noon + 4);
  counts.record(failure(ResultType::validation_failure, "192.0.2.2"), noon + 5);
  counts.record(success({PolicyType::no_policy_found, "example.com", {}, {}}), noon + 6);

  const DomainDay* day = counts.find({day_20261204, "example.com"});
  ASSERT_NE(day, nullptr);
  EXPECT_EQ(day->begin, day_20261204 * 86400);
  ASSERT_EQ(day->policies.size(), 2U);
  const PolicyCounts& tlsa = day->policies.at(tlsa_policy());
  EXPECT_EQ(tlsa.successful, 2U);
  EXPECT_EQ(tlsa.failed, 4U);
  ASSERT_EQ(tlsa.failures.size(), 3U);
  EXPECT_EQ(tlsa.failures.at({ResultType::validation_failure, "198.51.100.5", "mx.example.com", "192.0.2.1", ""}), 2U);
  EXPECT_EQ(day->policies.at({PolicyType::no_policy_found, "example.com", {}, {}}).successful, 1U);
}

TEST(TlsReportCounts, KeepsOnlyTodayAndYesterday) {
  DailyCounts counts;
  counts.record(success(tlsa_policy()), noon - 86400);  // yesterday
  counts.record(success(tlsa_policy()), noon);
  EXPECT_EQ(counts.all().size(), 2U);
  // Yesterday is finished, today is not.
  ASSERT_EQ(counts.finished(noon).size(), 1U);
  EXPECT_EQ(counts.finished(noon).front().first, day_20261204 - 1);
  // Two days on, the day before yesterday's counts are gone.
  counts.roll(noon + 2 * 86400);
  EXPECT_TRUE(counts.empty());
}

TEST(TlsReportCounts, KeepsFinishedDaysAsLongAsTheLimitSaysAndNamesTheExpired) {
  DailyCounts counts({.finished_days_kept = 7});
  counts.record(success(tlsa_policy()), noon - 7 * 86400);  // a report not sent for a week
  counts.record(success(tlsa_policy()), noon - 86400);
  counts.roll(noon);
  EXPECT_EQ(counts.finished(noon).size(), 2U);
  EXPECT_TRUE(counts.take_expired().empty());
  counts.roll(noon + 86400);  // eight days old now: dropped
  const auto expired = counts.take_expired();
  ASSERT_EQ(expired.size(), 1U);
  EXPECT_EQ(expired.front(), (DailyCounts::Key{day_20261204 - 7, "example.com"}));
  EXPECT_TRUE(counts.take_expired().empty());
  EXPECT_EQ(counts.all().size(), 1U);
}

TEST(TlsReportCounts, MergePutsAnUnsentReportBack) {
  DailyCounts counts;
  counts.record(success(tlsa_policy()), noon);
  const DailyCounts::Key key{day_20261204, "example.com"};
  const DomainDay taken = *counts.find(key);
  counts.restart(key, noon + 1);  // a report of the day so far is being sent
  counts.record(success(tlsa_policy()), noon + 5);
  counts.merge(key, taken);  // and could not be
  const DomainDay* day = counts.find(key);
  ASSERT_NE(day, nullptr);
  EXPECT_EQ(day->begin, taken.begin);
  EXPECT_EQ(day->policies.at(tlsa_policy()).successful, 2U);
  // Into an entry that is gone (a finished day's, erased when its report was made).
  counts.erase(key);
  counts.merge(key, taken);
  EXPECT_EQ(*counts.find(key), taken);
}

TEST(TlsReportCounts, DayBoundaryIsMidnightUtc) {
  EXPECT_EQ(utc_day(day_20261204 * 86400), day_20261204);
  EXPECT_EQ(utc_day(day_20261204 * 86400 - 1), day_20261204 - 1);
  DailyCounts counts;
  counts.record(success(tlsa_policy()), day_20261204 * 86400 - 1);
  counts.record(success(tlsa_policy()), day_20261204 * 86400);
  EXPECT_EQ(counts.finished(day_20261204 * 86400).size(), 1U);
  EXPECT_EQ(counts.all().size(), 2U);
}

TEST(TlsReportCounts, RestartCountsTheRestOfTheDayFromThen) {
  DailyCounts counts;
  counts.record(success(tlsa_policy()), noon);
  counts.restart({day_20261204, "example.com"}, noon + 10);
  counts.record(success(tlsa_policy()), noon + 20);
  const DomainDay* day = counts.find({day_20261204, "example.com"});
  ASSERT_NE(day, nullptr);
  EXPECT_EQ(day->begin, noon + 10);
  EXPECT_EQ(day->policies.at(tlsa_policy()).successful, 1U);
  const auto parsed = DailyCounts::parse(counts.serialize());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, counts);
}

TEST(TlsReportCounts, LimitsBoundTheCounts) {
  DailyCounts counts(CountLimits{.domains_per_day = 1, .policies_per_domain = 1, .failures_per_policy = 1});
  counts.record(success(tlsa_policy()), noon);
  auto other_domain = success(tlsa_policy());
  other_domain.policy.domain = "example.net";
  counts.record(other_domain, noon);
  counts.record(success({PolicyType::no_policy_found, "example.com", {}, {}}), noon);
  EXPECT_EQ(counts.dropped(), 2U);
  counts.record(failure(ResultType::validation_failure), noon);
  counts.record(failure(ResultType::starttls_not_supported), noon);
  const PolicyCounts& tlsa = counts.find({day_20261204, "example.com"})->policies.at(tlsa_policy());
  EXPECT_EQ(tlsa.failed, 2U);            // both in the total
  EXPECT_EQ(tlsa.failures.size(), 1U);   // only the first in the details
}

TEST(TlsReportCounts, StateTextRoundTrips) {
  DailyCounts counts;
  auto odd = failure(ResultType::dnssec_invalid);
  odd.additional_information = "tab\there, newline\nand 100%";
  odd.policy.strings = {"3 1 1 ab\tcd", ""};
  counts.record(success(tlsa_policy()), noon - 86400);
  counts.record(odd, noon);
  counts.record(failure(ResultType::validation_failure), noon);
  const auto parsed = DailyCounts::parse(counts.serialize());
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(*parsed, counts);
  EXPECT_EQ(parsed->serialize(), counts.serialize());
}

TEST(TlsReportCounts, DamagedStateTextIsRefused) {
  EXPECT_FALSE(DailyCounts::parse(""));
  EXPECT_FALSE(DailyCounts::parse("something else\n"));
  EXPECT_FALSE(DailyCounts::parse("hubrelay-tls-report-counts 1\nP\ttlsa\t0\t0\t1\t1\n"));  // P before D
  EXPECT_FALSE(DailyCounts::parse("hubrelay-tls-report-counts 1\nD\tx\texample.com\t0\n"));
  EXPECT_TRUE(DailyCounts::parse("hubrelay-tls-report-counts 1\n"));
}

TEST(TlsReportNames, RoundTripEveryResultType) {
  for (std::size_t i = 0; i < result_type_count; ++i) {
    const auto type = static_cast<ResultType>(i);
    EXPECT_EQ(result_type_from(to_string(type)), type);
  }
  EXPECT_EQ(to_string(ResultType::starttls_not_supported), "starttls-not-supported");
  EXPECT_EQ(to_string(ResultType::sts_webpki_invalid), "sts-webpki-invalid");
  EXPECT_EQ(to_string(PolicyType::no_policy_found), "no-policy-found");
  EXPECT_FALSE(result_type_from("bogus"));
}

}  // namespace
}  // namespace relay::tlsrpt
