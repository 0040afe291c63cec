// tests/routing/dns_cache_test.cpp — answers live exactly for their TTL (injected time).
#include "routing/dns_cache.hpp"

#include <gtest/gtest.h>

namespace {

using namespace std::chrono_literals;
using routing::DnsAnswer;
using routing::DnsCache;
using routing::RecordType;

const DnsCache::TimePoint t0{};

DnsAnswer a_record(std::string address) {
  DnsAnswer answer;
  answer.addresses.push_back(std::move(address));
  return answer;
}

TEST(DnsCache, EntryLivesForItsTtlOnly) {
  DnsCache cache;
  cache.store(RecordType::a, "mx.example.org", a_record("192.0.2.1"), 300s, t0);
  ASSERT_TRUE(cache.find(RecordType::a, "mx.example.org", t0 + 299s));
  EXPECT_EQ(cache.find(RecordType::a, "mx.example.org", t0 + 299s)->addresses.front(), "192.0.2.1");
  EXPECT_FALSE(cache.find(RecordType::a, "mx.example.org", t0 + 300s));
}

// TLSA answers (DANE) are kept like the others: records and AD bit, for their TTL.
TEST(DnsCache, TlsaAnswersKeepRecordsAndTheirAdBit) {
  DnsCache cache;
  DnsAnswer tlsa;
  tlsa.tlsa.push_back({3, 1, 1, std::vector<std::uint8_t>(32, 7)});
  tlsa.secure = true;
  cache.store(RecordType::tlsa, "_25._tcp.mx.example.org", tlsa, 300s, t0);
  EXPECT_FALSE(cache.find(RecordType::a, "_25._tcp.mx.example.org", t0));
  const auto found = cache.find(RecordType::tlsa, "_25._tcp.MX.example.org", t0 + 299s);
  ASSERT_TRUE(found);
  EXPECT_TRUE(found->secure);
  EXPECT_EQ(found->tlsa, tlsa.tlsa);
  EXPECT_FALSE(cache.find(RecordType::tlsa, "_25._tcp.mx.example.org", t0 + 300s));
}

TEST(DnsCache, TypesAndCaseAreKeyedCorrectly) {
  DnsCache cache;
  cache.store(RecordType::a, "MX.Example.org.", a_record("192.0.2.1"), 60s, t0);
  EXPECT_TRUE(cache.find(RecordType::a, "mx.example.org", t0));
  EXPECT_FALSE(cache.find(RecordType::aaaa, "mx.example.org", t0));
  EXPECT_FALSE(cache.find(RecordType::mx, "mx.example.org", t0));
}

TEST(DnsCache, ZeroTtlIsNotStoredAndHugeTtlIsClamped) {
  DnsCache cache(100, 3600s);
  cache.store(RecordType::a, "zero.example", a_record("192.0.2.1"), 0s, t0);
  EXPECT_FALSE(cache.find(RecordType::a, "zero.example", t0));
  cache.store(RecordType::a, "long.example", a_record("192.0.2.2"), 7 * 24h, t0);
  EXPECT_TRUE(cache.find(RecordType::a, "long.example", t0 + 3599s));
  EXPECT_FALSE(cache.find(RecordType::a, "long.example", t0 + 3600s));
}

TEST(DnsCache, NegativeAnswersAreCachedToo) {
  DnsCache cache;
  DnsAnswer none;
  none.exists = false;
  cache.store(RecordType::mx, "nx.example", none, 60s, t0);
  const auto found = cache.find(RecordType::mx, "nx.example", t0 + 10s);
  ASSERT_TRUE(found);
  EXPECT_FALSE(found->exists);
}

TEST(DnsCache, FullCacheDropsExpiredThenSoonestExpiring) {
  DnsCache cache(2);
  cache.store(RecordType::a, "one", a_record("192.0.2.1"), 10s, t0);
  cache.store(RecordType::a, "two", a_record("192.0.2.2"), 100s, t0);
  cache.store(RecordType::a, "three", a_record("192.0.2.3"), 100s, t0 + 20s);  // "one" expired
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.find(RecordType::a, "two", t0 + 20s));
  cache.store(RecordType::a, "four", a_record("192.0.2.4"), 1000s, t0 + 21s);  // evicts "two" (soonest)
  EXPECT_FALSE(cache.find(RecordType::a, "two", t0 + 21s));
  EXPECT_TRUE(cache.find(RecordType::a, "three", t0 + 21s));
  EXPECT_TRUE(cache.find(RecordType::a, "four", t0 + 21s));
}

}  // namespace
