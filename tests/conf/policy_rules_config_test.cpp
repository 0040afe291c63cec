// tests/conf/policy_rules_config_test.cpp — the access rule keys: rate syntax (got/want),
// a complete policy and listener limits loaded, and every bad value reported as
// file:line: key: message.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/load.hpp"
#include "conf/rate_syntax.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

TEST(RateSyntax, Table) {
  struct Case {
    const char* text;
    std::uint32_t count;  // 0: off (or error when `ok` is false)
    std::int64_t period_ms;
    bool ok;
  };
  const std::vector<Case> cases{
      {"60/min", 60, 60'000, true},   {"3/2s", 3, 2000, true},     {"1000/hour", 1000, 3'600'000, true},
      {"10/s", 10, 1000, true},       {"500/day", 500, 86'400'000, true}, {" 5 / 10m ", 5, 600'000, true},
      {"1/second", 1, 1000, true},    {"off", 0, 0, true},          {"60", 0, 0, false},
      {"0/min", 0, 0, false},         {"-1/min", 0, 0, false},      {"x/min", 0, 0, false},
      {"60/fortnight", 0, 0, false},  {"60/500ms", 0, 0, false},    {"60/2d", 0, 0, false},
      {"2000000/s", 0, 0, false},     {"", 0, 0, false},            {"5/", 0, 0, false},
  };
  for (const auto& c : cases) {
    const auto got = parse_rate(c.text);
    EXPECT_EQ(got.has_value(), c.ok) << "'" << c.text << "'" << (got ? "" : ": " + got.error());
    if (got && c.ok) {
      EXPECT_EQ(got->count, c.count) << c.text;
      EXPECT_EQ(got->period.count(), c.period_ms) << c.text;
    }
  }
  EXPECT_EQ(format_rate(*parse_rate("60/min")), "60/60s");
  EXPECT_EQ(format_rate(ListenerConfig::Rate{}), "off");
}

constexpr std::string_view head = test_support::numbered_config;

TEST(PolicyRulesConfig, LoadsEveryKey) {
  const std::string text = std::string(head) +
                           "max_connections_per_client = 5\n"
                           "connection_rate = \"60/min\"\n"
                           "message_rate = \"3/2s\"\n"
                           "recipient_rate = \"1000/hour\"\n"
                           "limits_exempt_trusted = false\n"
                           "[policy.in]\n"
                           "client_networks = [\"0.0.0.0/0\", \"::/0\"]\n"
                           "own_domains = [\"example.com\", \"*.example.com\"]\n"
                           "reject_spoofed_senders = true\n"
                           "sender_allow = [\"*@partner.example\"]\n"
                           "sender_deny = [\"Spammer@Partner.Example\", \"<>\"]\n"
                           "recipient_allow = [\"example.com\"]\n"
                           "recipient_deny = [\"noreply@example.com\"]\n"
                           "helo_required_fqdn = true\n"
                           "helo_reject_own_name = true\n"
                           "allowed_sender_domains = [\"example.com\"]\n"
                           "[[policy.in.sender_restriction]]\n"
                           "networks = [\"10.9.0.0/16\"]\n"
                           "senders = [\"*@app.example.com\"]\n"
                           "[[policy.in.sender_restriction]]\n"
                           "user = \"app1\"\n"
                           "senders = [\"app1@example.com\"]\n";
  const auto loaded = load_string(text, "t.toml");
  ASSERT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().front().to_string());
  const auto& l = (*loaded)->listeners.at(0);
  EXPECT_EQ(l.max_connections_per_client, 5u);
  EXPECT_EQ(l.connection_rate.count, 60u);
  EXPECT_EQ(l.message_rate.period.count(), 2000);
  EXPECT_EQ(l.recipient_rate.count, 1000u);
  EXPECT_FALSE(l.limits_exempt_trusted);
  const auto* p = (*loaded)->find_policy("in");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->client_networks.size(), 2u);
  EXPECT_EQ(p->own_domains, (std::vector<std::string>{"example.com", "*.example.com"}));
  EXPECT_EQ(p->reject_spoofed_senders, std::optional<bool>(true));
  EXPECT_EQ(p->sender_deny, (std::vector<std::string>{"spammer@partner.example", "<>"}));
  EXPECT_TRUE(p->helo_required_fqdn);
  EXPECT_TRUE(p->helo_reject_own_name);
  ASSERT_EQ(p->sender_restrictions.size(), 2u);
  EXPECT_EQ(p->sender_restrictions[0].networks, (std::vector<std::string>{"10.9.0.0/16"}));
  EXPECT_EQ(p->sender_restrictions[1].user, "app1");
}

TEST(PolicyRulesConfig, DefaultsAreOff) {
  const auto loaded = load_string(std::string(head) + "[policy.in]\n", "t.toml");
  ASSERT_TRUE(loaded.has_value());
  const auto& l = (*loaded)->listeners.at(0);
  EXPECT_EQ(l.max_connections_per_client, 0u);
  EXPECT_FALSE(l.connection_rate.enabled());
  EXPECT_TRUE(l.limits_exempt_trusted);
  const auto* p = (*loaded)->find_policy("in");
  EXPECT_FALSE(p->reject_spoofed_senders.has_value());  // resolved by direction when compiled
  EXPECT_FALSE(p->helo_required_fqdn);
}

TEST(PolicyRulesConfig, ErrorsCarryFileLineAndKey) {
  struct Case {
    std::string listener_lines;  // appended after line 16
    std::string policy_lines;    // after "[policy.in]" (line 17 + listener lines)
    std::vector<std::string> want;
  };
  const std::vector<Case> cases{
      {"connection_rate = \"60\"\n", "",
       {"t.toml:17: listener[0].connection_rate: invalid rate '60': expected \"N/period\" such as \"60/min\", "
        "\"3/2s\" or \"1000/hour\", or \"off\""}},
      {"message_rate = \"0/min\"\n", "",
       {"t.toml:17: listener[0].message_rate: invalid rate '0/min': the count must be between 1 and 1000000 "
        "(use \"off\" to disable)"}},
      {"recipient_rate = 5\n", "", {"t.toml:17: listener[0].recipient_rate: expected a string, found an integer"}},
      {"max_connections_per_client = -1\n", "",
       {"t.toml:17: listener[0].max_connections_per_client: must be 0 (no per-client limit) or between 1 and 1000000 (got -1)"}},
      {"", "client_networks = [\"10.0.0.1/8\"]\n",
       {"t.toml:18: policy.in.client_networks[0]: "}},
      {"", "client_networks = [\"10.0.0.0/8\", \"not-a-net\"]\n", {"t.toml:18: policy.in.client_networks[1]: "}},
      {"", "sender_deny = [\"a*b@example.com\"]\n",
       {"t.toml:18: policy.in.sender_deny[0]: invalid address pattern 'a*b@example.com'"}},
      {"", "own_domains = [\"*\"]\n", {"t.toml:18: policy.in.own_domains[0]: '*' is not allowed here"}},
      {"", "reject_spoofed_senders = \"yes\"\n",
       {"t.toml:18: policy.in.reject_spoofed_senders: expected a boolean, found a string"}},
      {"", "helo_checks = true\n", {"t.toml:18: policy.in.helo_checks: unknown key"}},
      {"", "[[policy.in.sender_restriction]]\nsenders = [\"*@app.example.com\"]\n",
       {"t.toml:18: policy.in.sender_restriction[0]: needs `networks` or `user`"}},
      {"", "[[policy.in.sender_restriction]]\nnetworks = [\"10.0.0.0/8\"]\n",
       {"t.toml:18: policy.in.sender_restriction[0].senders: missing required key"}},
      {"", "[[policy.in.sender_restriction]]\nnetworks = [\"10.0.0.0/8\"]\nsenders = [\"x\"]\nusers = \"a\"\n",
       {"t.toml:21: policy.in.sender_restriction[0].users: unknown key"}},
  };
  for (const auto& c : cases) {
    const std::string text = std::string(head) + c.listener_lines + "[policy.in]\n" + c.policy_lines;
    const auto loaded = load_string(text, "t.toml");
    ASSERT_FALSE(loaded.has_value()) << text;
    std::vector<std::string> got;
    for (const auto& d : loaded.error()) got.push_back(d.to_string());
    ASSERT_EQ(got.size(), c.want.size()) << text << "\nfirst: " << got.front();
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(got[i].starts_with(c.want[i])) << "got:  " << got[i] << "\nwant: " << c.want[i] << "...";
    }
  }
}

}  // namespace
}  // namespace conf
