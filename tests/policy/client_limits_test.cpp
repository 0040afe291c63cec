// tests/policy/client_limits_test.cpp — token buckets and the per-client table with
// injected time: refill, burst, concurrency slots, exemption of trusted clients, and
// the memory bound (idle entries forgotten, cap on tracked addresses).
#include "policy/client_limits.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using policy::ClientLimits;
using policy::ConnectionSlot;
using policy::Decision;
using policy::LimitSettings;
using policy::RateSpec;
using policy::Reason;
using policy::SteadyTime;
using policy::TokenBucket;

const SteadyTime t0 = SteadyTime{} + 1000h;

policy::IpAddress ip(const std::string& text) {
  auto parsed = policy::IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(policy::IpAddress{}).canonical();
}

std::string show(Decision d) {
  return std::string(policy::to_string(d.verdict)) + "(" + std::string(policy::to_string(d.reason)) + ")";
}

TEST(TokenBucket, BurstThenRefillTable) {
  const RateSpec rate{3, 2000ms};  // 3 per 2 s
  TokenBucket bucket;
  struct Step {
    std::chrono::milliseconds at;
    bool want;
  };
  const std::vector<Step> steps{
      {0ms, true}, {0ms, true}, {0ms, true},  // the burst: a new bucket is full
      {0ms, false},                           // empty
      {500ms, false},                         // 0.75 tokens
      {700ms, true},                          // 1.05 tokens
      {700ms, false},
      {10'000ms, true}, {10'000ms, true}, {10'000ms, true},  // refilled, never above capacity
      {10'000ms, false},
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(bucket.try_take(rate, t0 + steps[i].at), steps[i].want) << "step " << i << " at " << steps[i].at.count();
  }
  EXPECT_FALSE(bucket.full(rate, t0 + 10'000ms));
  EXPECT_TRUE(bucket.full(rate, t0 + 12'000ms));
}

TEST(TokenBucket, DisabledRateAlwaysTakes) {
  TokenBucket bucket;
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(bucket.try_take(RateSpec{}, t0));
}

TEST(ClientLimits, ConcurrentConnectionsPerClient) {
  ClientLimits limits(LimitSettings{.max_connections_per_client = 2});
  const auto a = ip("198.51.100.1");
  const auto b = ip("2001:db8::b");
  ConnectionSlot s1, s2, s3, other;
  EXPECT_EQ(show(limits.admit(a, false, t0, s1)), "accept(none)");
  EXPECT_EQ(show(limits.admit(a, false, t0, s2)), "accept(none)");
  EXPECT_EQ(show(limits.admit(a, false, t0, s3)), "defer(too_many_connections)");
  EXPECT_FALSE(s3.held());
  EXPECT_EQ(show(limits.admit(b, false, t0, other)), "accept(none)");  // per address
  EXPECT_EQ(limits.connections(a), 2u);
  s1.release();  // a connection closes: room again
  EXPECT_EQ(show(limits.admit(a, false, t0, s3)), "accept(none)");
  {
    ConnectionSlot moved = std::move(s2);  // slots move with the session, released once
    EXPECT_FALSE(s2.held());
  }
  EXPECT_EQ(limits.connections(a), 1u);
}

TEST(ClientLimits, TrustedClientsExemptUnlessConfigured) {
  LimitSettings settings{.max_connections_per_client = 1};
  ClientLimits exempting(settings);
  const auto hub = ip("10.0.0.5");
  ConnectionSlot s1, s2;
  EXPECT_TRUE(exempting.admit(hub, true, t0, s1).accepted());
  EXPECT_TRUE(exempting.admit(hub, true, t0, s2).accepted());
  EXPECT_EQ(exempting.tracked(), 0u);  // exempt clients are not even tracked

  settings.exempt_trusted = false;
  ClientLimits strict(settings);
  ConnectionSlot s3, s4;
  EXPECT_TRUE(strict.admit(hub, true, t0, s3).accepted());
  EXPECT_EQ(show(strict.admit(hub, true, t0, s4)), "defer(too_many_connections)");
}

TEST(ClientLimits, ConnectionMessageAndRecipientRates) {
  ClientLimits limits(LimitSettings{.connection_rate = {2, 1000ms},
                                    .message_rate = {3, 2000ms},
                                    .recipient_rate = {5, 1000ms}});
  const auto a = ip("198.51.100.1");
  ConnectionSlot s1, s2, s3;
  EXPECT_TRUE(limits.admit(a, false, t0, s1).accepted());
  EXPECT_TRUE(limits.admit(a, false, t0, s2).accepted());
  EXPECT_EQ(show(limits.admit(a, false, t0, s3)), "defer(connection_rate_exceeded)");
  EXPECT_TRUE(limits.admit(a, false, t0 + 600ms, s3).accepted());  // 1.2 tokens after 600 ms

  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limits.take_message(a, false, t0).accepted()) << i;
  EXPECT_EQ(show(limits.take_message(a, false, t0)), "defer(message_rate_exceeded)");
  EXPECT_EQ(show(limits.take_message(a, false, t0 + 600ms)), "defer(message_rate_exceeded)");
  EXPECT_TRUE(limits.take_message(a, false, t0 + 700ms).accepted());

  for (int i = 0; i < 5; ++i) EXPECT_TRUE(limits.take_recipient(a, false, t0).accepted()) << i;
  EXPECT_EQ(show(limits.take_recipient(a, false, t0)), "defer(recipient_rate_exceeded)");
  EXPECT_TRUE(limits.take_recipient(a, false, t0 + 200ms).accepted());
  // Another client has its own buckets.
  EXPECT_TRUE(limits.take_message(ip("198.51.100.2"), false, t0).accepted());
}

TEST(ClientLimits, IdleEntriesAreForgotten) {
  ClientLimits limits(LimitSettings{.message_rate = {1, 1000ms}});
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(limits.take_message(ip("198.51.100." + std::to_string(i)), false, t0).accepted());
  }
  EXPECT_EQ(limits.tracked(), 100u);
  // Long after every bucket refilled, each call drops up to two idle entries at the cold end.
  for (int i = 0; i < 60; ++i) (void)limits.take_message(ip("203.0.113.1"), false, t0 + 5s + std::chrono::milliseconds(i));
  EXPECT_LE(limits.tracked(), 2u);
}

TEST(ClientLimits, TrackedAddressesAreCapped) {
  ClientLimits limits(LimitSettings{.max_connections_per_client = 5,
                                    .message_rate = {1, 3600'000ms},
                                    .max_tracked_clients = 50});
  // Ten clients hold a connection: they are never forgotten.
  std::vector<ConnectionSlot> held(10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limits.admit(ip("10.0.0." + std::to_string(i)), false, t0, held[i]).accepted());
  // A flood of distinct addresses, each with an empty bucket (not idle for an hour).
  for (int i = 0; i < 5000; ++i) {
    (void)limits.take_message(ip("2001:db8::" + std::to_string(i)), false, t0 + std::chrono::milliseconds(i));
    ASSERT_LE(limits.tracked(), 50u) << "after " << i;
  }
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limits.connections(ip("10.0.0." + std::to_string(i))), 1u) << i;
}

TEST(ClientLimits, ReconfigureKeepsState) {
  ClientLimits limits(LimitSettings{.max_connections_per_client = 3});
  const auto a = ip("198.51.100.1");
  ConnectionSlot s1, s2;
  EXPECT_TRUE(limits.admit(a, false, t0, s1).accepted());
  EXPECT_TRUE(limits.admit(a, false, t0, s2).accepted());
  limits.configure(LimitSettings{.max_connections_per_client = 2});  // SIGHUP lowers the cap
  ConnectionSlot s3;
  EXPECT_EQ(show(limits.admit(a, false, t0, s3)), "defer(too_many_connections)");
}

}  // namespace
