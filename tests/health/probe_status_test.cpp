// tests/health/probe_status_test.cpp — the probe status descriptor table: one row per
// status in order, stable HAProxy-style tags, classes that match the tags, rendering.
#include "health/probe_status.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "health/snapshot.hpp"

namespace {

using health::ProbeClass;
using health::ProbeStatus;

TEST(ProbeStatusTable, OneRowPerStatusInEnumeratorOrderWithUniqueTags) {
  std::set<std::string_view> tags;
  for (std::size_t i = 0; i < health::probe_status_table.size(); ++i) {
    const auto& row = health::probe_status_table[i];
    EXPECT_EQ(static_cast<std::size_t>(row.status), i) << row.tag;
    EXPECT_TRUE(tags.insert(row.tag).second) << "duplicate tag " << row.tag;
    EXPECT_FALSE(row.text.empty()) << row.tag;
    EXPECT_LE(row.tag.size(), 8u) << row.tag;
  }
}

TEST(ProbeStatusTable, OkClassExactlyForTheOkTags) {
  for (const auto& row : health::probe_status_table) {
    const bool ok_tag = row.tag.ends_with("OK");
    EXPECT_EQ(row.klass == ProbeClass::ok, ok_tag) << row.tag;
    EXPECT_EQ(health::is_ok(row.status), ok_tag) << row.tag;
  }
}

// Operators' dashboards and hook scripts key on the tags: a change must be deliberate.
TEST(ProbeStatusTable, PinnedTagsAndClasses) {
  struct Case {
    ProbeStatus status;
    std::string_view tag;
    ProbeClass klass;
  };
  const Case cases[] = {
      {ProbeStatus::socket_error, "SOCKERR", ProbeClass::local},
      {ProbeStatus::probe_overrun, "PROCTOUT", ProbeClass::local},
      {ProbeStatus::resolve_failed, "RESOLV", ProbeClass::transient},
      {ProbeStatus::icmp_no_reply, "L3TOUT", ProbeClass::transient},
      {ProbeStatus::icmp_too_few_replies, "L3FEW", ProbeClass::transient},
      {ProbeStatus::icmp_ok, "L3OK", ProbeClass::ok},
      {ProbeStatus::connect_failed, "L4CON", ProbeClass::transient},
      {ProbeStatus::connect_timeout, "L4TOUT", ProbeClass::transient},
      {ProbeStatus::connect_ok, "L4OK", ProbeClass::ok},
      {ProbeStatus::tls_handshake_failed, "L6RSP", ProbeClass::bad_answer},
      {ProbeStatus::tls_timeout, "L6TOUT", ProbeClass::transient},
      {ProbeStatus::reply_timeout, "L7TOUT", ProbeClass::transient},
      {ProbeStatus::bad_response, "L7RSP", ProbeClass::bad_answer},
      {ProbeStatus::smtp_bad_banner, "L7BANR", ProbeClass::bad_answer},
      {ProbeStatus::smtp_ehlo_refused, "L7EHLO", ProbeClass::bad_answer},
      {ProbeStatus::http_status_mismatch, "L7STS", ProbeClass::bad_answer},
      {ProbeStatus::protocol_ok, "L7OK", ProbeClass::ok},
      {ProbeStatus::dns_nxdomain, "DNSNX", ProbeClass::bad_answer},
      {ProbeStatus::dns_servfail, "DNSSRVF", ProbeClass::transient},
      {ProbeStatus::dns_timeout, "DNSTOUT", ProbeClass::transient},
      {ProbeStatus::dns_no_answer, "DNSNOANS", ProbeClass::bad_answer},
      {ProbeStatus::dns_ok, "DNSOK", ProbeClass::ok},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(health::tag(c.status), c.tag);
    EXPECT_EQ(health::class_of(c.status), c.klass) << c.tag;
  }
}

TEST(ProbeStatusTable, DescribeJoinsTextDetailAndTag) {
  EXPECT_EQ(health::describe(ProbeStatus::http_status_mismatch, "503 (expected 200)"),
            "unexpected HTTP status: 503 (expected 200) [L7STS]");
  EXPECT_EQ(health::describe(ProbeStatus::connect_timeout, ""), "timed out connecting [L4TOUT]");
  const health::CheckResult r{"tcp 127.0.0.1:25", ProbeStatus::connect_failed, 3, "127.0.0.1:25: Connection refused"};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.describe(), "connection failed: 127.0.0.1:25: Connection refused [L4CON]");
}

TEST(ProbeStatusTable, ClassNames) {
  EXPECT_EQ(health::to_string(ProbeClass::ok), "ok");
  EXPECT_EQ(health::to_string(ProbeClass::transient), "transient");
  EXPECT_EQ(health::to_string(ProbeClass::bad_answer), "bad_answer");
  EXPECT_EQ(health::to_string(ProbeClass::local), "local");
}

}  // namespace
