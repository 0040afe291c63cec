// tests/policy/auth_test.cpp — base64, PBKDF2 password hashes, AUTH throttle, and the
// policy's authenticate(). Table-driven; time is injected into the throttle.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/auth_throttle.hpp"
#include "policy/base64.hpp"
#include "policy/listener_policy.hpp"
#include "policy/password_hash.hpp"

namespace {

using namespace std::chrono_literals;

TEST(Base64, RoundTripsAndRfc4648Vectors) {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},           {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
      {std::string("\0u\0p", 4), "AHUAcA=="},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(policy::base64_encode(plain), encoded);
    EXPECT_EQ(policy::base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64, StrictDecoding) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v\r\n", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zm!v"}) {
    EXPECT_FALSE(policy::base64_decode(bad).has_value()) << bad;
  }
}

TEST(PasswordHash, HashVerifyAndFormat) {
  const std::string hash = policy::hash_password("s3cret", "saltsaltsalt", 1000);
  EXPECT_TRUE(hash.starts_with("$pbkdf2-sha256$1000$c2FsdHNhbHRzYWx0$")) << hash;
  auto parsed = policy::parse_password_hash(hash);
  ASSERT_TRUE(parsed.has_value()) << parsed.error();
  EXPECT_EQ(parsed->iterations, 1000u);
  EXPECT_TRUE(policy::verify_password(*parsed, "s3cret"));
  EXPECT_FALSE(policy::verify_password(*parsed, "s3cret "));
  EXPECT_FALSE(policy::verify_password(*parsed, ""));
  // RFC 7914 §11 PBKDF2-HMAC-SHA256 vector (P="passwd", S="salt", c=1): the first 32
  // octets of its 64-octet output are our key.
  EXPECT_EQ(policy::hash_password("passwd", "salt", 1), "$pbkdf2-sha256$1$c2FsdA==$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=");
}

TEST(PasswordHash, ParseErrors) {
  const std::string good = policy::hash_password("x", "saltsalt", 1000);
  const std::string key = good.substr(good.rfind('$') + 1);
  const std::vector<std::string> bad = {
      "plaintext",
      "$pbkdf2-sha1$1000$c2FsdHNhbHQ=$" + key,
      "$pbkdf2-sha256$999$c2FsdHNhbHQ=$" + key,          // too few iterations
      "$pbkdf2-sha256$abc$c2FsdHNhbHQ=$" + key,
      "$pbkdf2-sha256$1000$c2FsdA==$" + key,             // salt of 4 bytes
      "$pbkdf2-sha256$1000$c2FsdHNhbHQ=$Zm9v",           // key not 32 bytes
      "$pbkdf2-sha256$1000$c2FsdHNhbHQ=",                // key missing
      "$pbkdf2-sha256$1000$c2FsdHNhbHQ=$" + key + "$x",  // extra field
  };
  for (const auto& text : bad) EXPECT_FALSE(policy::parse_password_hash(text).has_value()) << text;
  EXPECT_TRUE(policy::parse_password_hash(good).has_value());
}

TEST(AuthThrottle, SlowsDownThenLocksOutThenForgets) {
  policy::AuthThrottle::Settings settings;
  settings.slow_after = 2;
  settings.lock_after = 4;
  settings.window = 10min;
  settings.lockout = 5min;
  settings.max_delay = 3s;
  policy::AuthThrottle t(settings);
  const auto t0 = policy::AuthThrottle::Clock::time_point{} + 1h;
  const std::string ip = "198.51.100.7";
  struct Step {
    int failures_before;
    bool refused;
    std::chrono::seconds delay;
  };
  const std::vector<Step> steps = {{0, false, 0s}, {1, false, 0s}, {2, false, 1s}, {3, false, 2s}, {4, true, 0s}};
  int failures = 0;
  for (const auto& step : steps) {
    while (failures < step.failures_before) t.failure(ip, t0 + std::chrono::seconds(failures++));
    const auto v = t.check(ip, t0 + 10s);
    EXPECT_EQ(v.refused, step.refused) << step.failures_before;
    EXPECT_EQ(v.delay, std::chrono::duration_cast<policy::AuthThrottle::Clock::duration>(step.delay))
        << step.failures_before;
  }
  // Other addresses are unaffected.
  EXPECT_FALSE(t.check("203.0.113.1", t0 + 10s).refused);
  // The lockout ends 5 minutes after the last failure (t0 + 3s).
  EXPECT_TRUE(t.check(ip, t0 + 3s + 5min - 1s).refused);
  EXPECT_FALSE(t.check(ip, t0 + 3s + 5min).refused);
  EXPECT_EQ(t.size(), 0u);
}

TEST(AuthThrottle, SuccessClearsAndTableIsBounded) {
  policy::AuthThrottle::Settings settings;
  settings.max_entries = 3;
  policy::AuthThrottle t(settings);
  const auto t0 = policy::AuthThrottle::Clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i) t.failure("a", t0);
  EXPECT_TRUE(t.check("a", t0).refused);
  t.success("a");
  EXPECT_FALSE(t.check("a", t0).refused);
  for (int i = 0; i < 50; ++i) t.failure("10.0.0." + std::to_string(i), t0 + std::chrono::seconds(i));
  EXPECT_EQ(t.size(), 3u);
  // The stalest were evicted; the newest kept.
  t.failure("10.0.0.49", t0 + 60s);
  t.failure("10.0.0.49", t0 + 60s);
  EXPECT_GT(t.check("10.0.0.49", t0 + 61s).delay.count(), 0);
}

TEST(ListenerPolicyAuth, AuthenticatesConfiguredUsersOnly) {
  conf::PolicyConfig config;
  config.name = "p";
  config.accepted_domains = {"example.com"};
  config.auth_users = {{"alice", policy::hash_password("wonderland", "saltsaltsalt", 1000), 3}};
  auto compiled = policy::ListenerPolicy::compile(config, {});
  ASSERT_TRUE(compiled.has_value()) << compiled.error();
  EXPECT_TRUE(compiled->authenticate("alice", "wonderland"));
  EXPECT_FALSE(compiled->authenticate("alice", "Wonderland"));
  EXPECT_FALSE(compiled->authenticate("bob", "wonderland"));
  EXPECT_FALSE(compiled->authenticate("", ""));
  // An authenticated client is trusted for relaying.
  const auto ip = policy::IpAddress::parse("198.51.100.7").value();
  EXPECT_FALSE(compiled->on_rcpt(policy::Client{ip, false}, "x@elsewhere.test").accepted());
  EXPECT_TRUE(compiled->on_rcpt(policy::Client{ip, true}, "x@elsewhere.test").accepted());

  config.auth_users = {{"bob", "$pbkdf2-sha256$10$c2FsdHNhbHQ=$AAAA", 7}};
  auto broken = policy::ListenerPolicy::compile(config, {});
  ASSERT_FALSE(broken.has_value());
  EXPECT_NE(broken.error().find("auth_users.bob (line 7)"), std::string::npos) << broken.error();
}

}  // namespace
