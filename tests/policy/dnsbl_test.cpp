// tests/policy/dnsbl_test.cpp — DNSBL query names, return-code matching, combining zones
// and the result cache. Table-driven got/want; time is injected.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/dnsbl.hpp"

namespace policy {
namespace {

IpAddress ip(const char* text) { return IpAddress::parse(text).value(); }

TEST(DnsblQueryName, ReversesIpv4Ipv6AndMapped) {
  struct Case {
    const char* client;
    const char* zone;
    std::string want;
  };
  const std::vector<Case> cases{
      {"192.0.2.1", "zen.example.org", "1.2.0.192.zen.example.org"},
      {"127.0.0.2", "bl.test", "2.0.0.127.bl.test"},
      {"10.20.30.40", "a.b", "40.30.20.10.a.b"},
      {"::ffff:198.51.100.7", "bl.test", "7.100.51.198.bl.test"},  // mapped: asked as IPv4
      // RFC 5782 §2.4 example address.
      {"2001:db8:1:2:3:4:567:89ab", "ugly.example.com",
       "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com"},
      {"::1", "x.y", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.x.y"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(dnsbl_query_name(ip(c.client), c.zone), c.want) << c.client;
  }
}

TEST(DnsblListing, MatchListsAndDefaultRange) {
  const DnsblZone any{"any.test", false, {}};
  const DnsblZone only_2_4{"m.test", false, {ip("127.0.0.2"), ip("127.0.0.4")}};
  struct Case {
    const DnsblZone* zone;
    DnsblLookup lookup;
    std::string want;  // "" = not listed
  };
  const std::vector<Case> cases{
      {&any, {false, {}}, ""},                                   // NXDOMAIN
      {&any, {false, {"127.0.0.2"}}, "127.0.0.2"},
      {&any, {false, {"127.0.0.10"}}, "127.0.0.10"},
      {&any, {false, {"127.255.255.254"}}, ""},                  // list's "query refused" code
      {&any, {false, {"127.0.0.1"}}, ""},                        // never a listing (RFC 5782 §5)
      {&any, {false, {"10.0.0.2"}}, ""},                         // outside 127/8: not a code
      {&any, {true, {"127.0.0.2"}}, ""},                         // failed lookup: fail open
      {&only_2_4, {false, {"127.0.0.3"}}, ""},
      {&only_2_4, {false, {"127.0.0.4"}}, "127.0.0.4"},
      {&only_2_4, {false, {"127.0.0.3", "127.0.0.2"}}, "127.0.0.2"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(dnsbl_listing(*cases[i].zone, cases[i].lookup), cases[i].want) << "case " << i;
  }
}

TEST(DnsblInterpret, SeveralZonesRejectBeatsTag) {
  const std::vector<DnsblZone> zones{
      {"tag1.test", true, {}},
      {"rej1.test", false, {}},
      {"tag2.test", true, {ip("127.0.0.3")}},
      {"rej2.test", false, {}},
  };
  struct Case {
    std::vector<DnsblLookup> lookups;
    bool reject;
    std::string zone;
    std::vector<std::string> tags;
  };
  const DnsblLookup miss{false, {}};
  const DnsblLookup hit2{false, {"127.0.0.2"}};
  const DnsblLookup hit3{false, {"127.0.0.3"}};
  const DnsblLookup fail{true, {}};
  const std::vector<Case> cases{
      {{miss, miss, miss, miss}, false, "", {}},
      {{hit2, miss, miss, miss}, false, "", {"tag1.test=127.0.0.2"}},
      {{hit2, miss, hit3, miss}, false, "", {"tag1.test=127.0.0.2", "tag2.test=127.0.0.3"}},
      {{miss, miss, hit2, miss}, false, "", {}},                       // tag2 only counts 127.0.0.3
      {{hit2, hit2, hit3, miss}, true, "rej1.test", {}},               // reject beats tag
      {{miss, miss, miss, hit2}, true, "rej2.test", {}},
      {{miss, hit3, miss, hit2}, true, "rej1.test", {}},               // first reject zone named
      {{fail, fail, fail, fail}, false, "", {}},                       // all failed: accept
      {{fail, fail, hit3, fail}, false, "", {"tag2.test=127.0.0.3"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto got = interpret_dnsbl(zones, cases[i].lookups);
    EXPECT_EQ(got.decision.verdict == Verdict::reject, cases[i].reject) << "case " << i;
    if (cases[i].reject) {
      EXPECT_EQ(got.decision.reason, Reason::dnsbl_listed) << "case " << i;
    }
    EXPECT_EQ(got.reject_zone, cases[i].zone) << "case " << i;
    EXPECT_EQ(got.tags, cases[i].tags) << "case " << i;
  }
}

TEST(DnsblInterpret, TheRejectingZonesTxtReasonComesAlongMadeSafe) {
  const std::vector<DnsblZone> zones{{"tag.test", true, {}}, {"rej1.test", false, {}}, {"rej2.test", false, {}}};
  const DnsblLookup tagged{false, {"127.0.0.2"}, "tag reason is never shown"};
  const DnsblLookup first{false, {"127.0.0.2"}, "  Listed;\r\n250 see http://rej1.test/?ip=1  "};
  const DnsblLookup second{false, {"127.0.0.2"}, "second"};
  const DnsblLookup miss{false, {}, "stale text"};
  EXPECT_EQ(interpret_dnsbl(zones, std::vector{tagged, first, second}).reject_reason,
            "Listed; 250 see http://rej1.test/?ip=1");
  EXPECT_EQ(interpret_dnsbl(zones, std::vector{tagged, miss, second}).reject_reason, "second");
  EXPECT_EQ(interpret_dnsbl(zones, std::vector{tagged, miss, miss}).reject_reason, "");
}

TEST(DnsblReason, PrintableAsciiOnOneLineAtMost200Octets) {
  struct Case {
    std::string txt, want;
  };
  const std::vector<Case> cases{
      {"", ""},
      {"   ", ""},
      {"https://www.spamhaus.org/query/ip/192.0.2.1", "https://www.spamhaus.org/query/ip/192.0.2.1"},
      {"a\r\n554 5.7.1 injected", "a 554 5.7.1 injected"},  // never a second reply line
      {"tab\there\x01\x7f end", "tab here end"},
      {"caf\xc3\xa9", "caf??"},                             // 8-bit: not in a reply
      {std::string(300, 'x'), std::string(200, 'x')},
      {std::string(199, 'x') + "  yz", std::string(199, 'x')},  // cut after a space: trimmed
  };
  for (const Case& c : cases) EXPECT_EQ(dnsbl_reason(c.txt), c.want) << c.txt;
}

TEST(DnsblHeader, OneHeaderForAllTags) {
  EXPECT_EQ(dnsbl_tag_header({}), "");
  const std::vector<std::string> one{"zen.example.org=127.0.0.2"};
  EXPECT_EQ(dnsbl_tag_header(one), "X-Hubrelay-DNSBL: zen.example.org=127.0.0.2\r\n");
  const std::vector<std::string> two{"a.test=127.0.0.2", "b.test=127.0.0.4"};
  EXPECT_EQ(dnsbl_tag_header(two), "X-Hubrelay-DNSBL: a.test=127.0.0.2, b.test=127.0.0.4\r\n");
}

TEST(DnsblCacheTtl, ClampedToFloorAndCeiling) {
  using std::chrono::seconds;
  struct Case {
    seconds dns, min, max, want;
  };
  const std::vector<Case> cases{
      {seconds(5), seconds(60), seconds(3600), seconds(60)},
      {seconds(300), seconds(60), seconds(3600), seconds(300)},
      {seconds(86400), seconds(60), seconds(3600), seconds(3600)},
      {seconds(0), seconds(0), seconds(3600), seconds(0)},
  };
  for (const auto& c : cases) EXPECT_EQ(dnsbl_cache_ttl(c.dns, c.min, c.max), c.want) << c.dns.count();
}

TEST(DnsblCache, KeyedByZoneAndCanonicalClient) {
  EXPECT_EQ(dnsbl_cache_key("z.test", ip("::ffff:192.0.2.1")), dnsbl_cache_key("z.test", ip("192.0.2.1")));
  EXPECT_NE(dnsbl_cache_key("a.test", ip("192.0.2.1")), dnsbl_cache_key("b.test", ip("192.0.2.1")));
  DnsblCache cache(10);
  const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  cache.store(dnsbl_cache_key("z.test", ip("192.0.2.1")), DnsblLookup{false, {"127.0.0.2"}}, std::chrono::seconds(60), t0);
  auto found = cache.find(dnsbl_cache_key("z.test", ip("::ffff:192.0.2.1")), t0 + std::chrono::seconds(59));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->addresses, std::vector<std::string>{"127.0.0.2"});
  EXPECT_FALSE(cache.find(dnsbl_cache_key("z.test", ip("192.0.2.1")), t0 + std::chrono::seconds(60)));
}

TEST(DnsblCompile, RejectsBadReturnCodes) {
  conf::PolicyConfig::DnsblZone good{"z.test", true, {"127.0.0.2"}, 1};
  conf::PolicyConfig::DnsblZone bad{"z.test", false, {"::1"}, 2};
  auto ok = compile_dnsbl({good});
  ASSERT_TRUE(ok.has_value());
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_TRUE((*ok)[0].tag);
  EXPECT_FALSE(compile_dnsbl({good, bad}).has_value());
}

}  // namespace
}  // namespace policy
