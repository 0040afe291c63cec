// tests/routing/mx_order_test.cpp — RFC 5321 §5.1 ordering, implicit MX, null MX (RFC 7505).
#include "routing/mx_order.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using routing::MxRecord;
using routing::order_mx;

// Always picks index 0: Fisher-Yates then swaps each last element with the first.
const routing::RandomBelow first = [](std::size_t) { return std::size_t{0}; };
// Always picks the last index: no swaps at all, input order is kept.
const routing::RandomBelow keep = [](std::size_t bound) { return bound - 1; };

TEST(MxOrder, AscendingPreference) {
  const auto plan = order_mx({{20, "b.example"}, {10, "a.example"}, {30, "c.example"}}, "example.org", keep);
  EXPECT_FALSE(plan.null_mx);
  EXPECT_FALSE(plan.implicit);
  EXPECT_EQ(plan.hosts, (std::vector<std::string>{"a.example", "b.example", "c.example"}));
}

TEST(MxOrder, NoRecordsMeansImplicitMxToTheDomain) {
  const auto plan = order_mx({}, "Example.ORG.", keep);
  EXPECT_TRUE(plan.implicit);
  EXPECT_EQ(plan.hosts, std::vector<std::string>{"example.org"});
}

TEST(MxOrder, NullMxIsRecognised) {
  EXPECT_TRUE(order_mx({{0, "."}}, "example.org", keep).null_mx);
  EXPECT_TRUE(order_mx({{0, ""}}, "example.org", keep).null_mx);
  // Accompanied by real records it is a misconfiguration: the root entry is ignored.
  const auto mixed = order_mx({{0, "."}, {10, "mx.example.org"}}, "example.org", keep);
  EXPECT_FALSE(mixed.null_mx);
  EXPECT_EQ(mixed.hosts, std::vector<std::string>{"mx.example.org"});
}

TEST(MxOrder, CaseTrailingDotAndDuplicatesNormalised) {
  const auto plan = order_mx({{10, "MX1.Example."}, {20, "mx1.example"}, {20, "mx2.example"}}, "x", keep);
  EXPECT_EQ(plan.hosts, (std::vector<std::string>{"mx1.example", "mx2.example"}));
}

TEST(MxOrder, EqualPreferenceIsShuffledByTheInjectedSource) {
  const std::vector<MxRecord> records{{10, "a"}, {10, "b"}, {10, "c"}, {5, "z"}};
  EXPECT_EQ(order_mx(records, "d", keep).hosts, (std::vector<std::string>{"z", "a", "b", "c"}));
  EXPECT_EQ(order_mx(records, "d", first).hosts, (std::vector<std::string>{"z", "b", "c", "a"}));
}

TEST(MxOrder, ShuffleIsRoughlyUniformAndNeverCrossesPreferences) {
  std::mt19937 rng(42);
  const routing::RandomBelow random = [&](std::size_t bound) {
    return std::uniform_int_distribution<std::size_t>(0, bound - 1)(rng);
  };
  std::map<std::string, int> first_place;
  constexpr int rounds = 3000;
  for (int i = 0; i < rounds; ++i) {
    const auto plan = order_mx({{10, "a"}, {10, "b"}, {10, "c"}, {20, "backup"}}, "d", random);
    ASSERT_EQ(plan.hosts.size(), 4u);
    EXPECT_EQ(plan.hosts.back(), "backup");
    first_place[plan.hosts.front()]++;
  }
  for (const auto& [host, count] : first_place) {
    EXPECT_NEAR(count, rounds / 3, rounds / 3 * 0.15) << host;  // ±15%
  }
}

}  // namespace
