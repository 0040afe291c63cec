// tests/policy/recipient_verifier_test.cpp — static recipient lists, callout reply
// meaning, and the TTL caches (generic TtlCache and the callout cache), with injected
// time. Table-driven got/want.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/recipient_verifier.hpp"
#include "policy/ttl_cache.hpp"

namespace policy {
namespace {

using std::chrono::seconds;
const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(10);

TEST(StaticRecipients, ExactCatchAllAndCase) {
  const std::vector<std::string> entries{"bob@example.com", "@catchall.example", "Carol@Example.com"};
  const StaticRecipients list(entries);
  struct Case {
    const char* address;
    bool want;
  };
  const std::vector<Case> cases{
      {"bob@example.com", true},
      {"BOB@EXAMPLE.COM", true},        // case-insensitive, local part too
      {"<bob@example.com>", true},       // angle brackets ignored
      {"bob@example.com.", true},        // one trailing dot of the domain
      {"carol@example.com", true},
      {"alice@example.com", false},
      {"bob@other.example", false},
      {"anyone@catchall.example", true},
      {"x@CatchAll.Example", true},
      {"x@sub.catchall.example", false}, // a catch-all covers its domain only
      {"catchall.example", false},
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(list.contains(c.address), c.want) << c.address;
  EXPECT_EQ(list.size(), 3u);
}

TEST(Callout, Decisions) {
  EXPECT_TRUE(callout_decision(CalloutResult::valid, false).accepted());
  EXPECT_EQ(callout_decision(CalloutResult::unknown, true).verdict, Verdict::reject);
  EXPECT_EQ(callout_decision(CalloutResult::unknown, false).reason, Reason::recipient_unknown);
  EXPECT_EQ(callout_decision(CalloutResult::failed, false).verdict, Verdict::defer);
  EXPECT_EQ(callout_decision(CalloutResult::failed, false).reason, Reason::recipient_unverified);
  EXPECT_TRUE(callout_decision(CalloutResult::failed, true).accepted());  // callout_on_failure = "accept"
}

TEST(CalloutCache, PositiveAndNegativeTtlExpiry) {
  CalloutCache cache(100, seconds(3600), seconds(600));
  cache.store("Good@Example.com", CalloutResult::valid, t0);
  cache.store("bad@example.com", CalloutResult::unknown, t0);
  cache.store("flaky@example.com", CalloutResult::failed, t0);  // never cached
  struct Case {
    const char* address;
    seconds after;
    std::optional<CalloutResult> want;
  };
  const std::vector<Case> cases{
      {"good@example.com", seconds(0), CalloutResult::valid},
      {"GOOD@example.com", seconds(3599), CalloutResult::valid},
      {"good@example.com", seconds(3600), std::nullopt},
      {"bad@example.com", seconds(599), CalloutResult::unknown},
      {"bad@example.com", seconds(600), std::nullopt},
      {"flaky@example.com", seconds(0), std::nullopt},
      {"other@example.com", seconds(0), std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(cache.find(c.address, t0 + c.after), c.want) << c.address << " +" << c.after.count();
}

TEST(TtlCache, SizeBoundDropsExpiredThenSoonest) {
  TtlCache<int> cache(3);
  cache.store("a", 1, seconds(10), t0);
  cache.store("b", 2, seconds(100), t0);
  cache.store("c", 3, seconds(50), t0);
  EXPECT_EQ(cache.size(), 3u);
  // Full with live entries: the one expiring soonest ("a") goes.
  cache.store("d", 4, seconds(100), t0);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("a", t0));
  EXPECT_EQ(cache.find("c", t0), 3);
  // Later, "c" has expired: it goes first, even though "b" would not be soonest otherwise.
  cache.store("e", 5, seconds(10), t0 + seconds(60));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.find("c", t0 + seconds(60)));
  EXPECT_EQ(cache.find("b", t0 + seconds(60)), 2);
  EXPECT_EQ(cache.find("d", t0 + seconds(60)), 4);
  EXPECT_EQ(cache.find("e", t0 + seconds(60)), 5);
  // Replacing a key neither grows the cache nor keeps the old expiry.
  cache.store("b", 22, seconds(1), t0 + seconds(60));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.find("b", t0 + seconds(60)), 22);
  EXPECT_FALSE(cache.find("b", t0 + seconds(61)));
  // TTL 0 stores nothing.
  cache.store("z", 9, seconds(0), t0);
  EXPECT_FALSE(cache.find("z", t0));
}

TEST(TtlCache, BoundHoldsUnderManyInserts) {
  TtlCache<int> cache(50);
  for (int i = 0; i < 1000; ++i) cache.store("k" + std::to_string(i), i, seconds(1000 + i), t0);
  EXPECT_EQ(cache.size(), 50u);
  EXPECT_EQ(cache.find("k999", t0), 999);  // the latest-expiring survive
  EXPECT_FALSE(cache.find("k0", t0));
}

}  // namespace
}  // namespace policy
