// tests/policy/access_rules_test.cpp — the issue-6 access rules, table-driven (got/want):
// client networks (IPv4, IPv6, mapped), HELO shapes and own names, sender/recipient
// allow/deny lists with wildcards, anti-spoofing, allowed sender domains and sender
// restrictions, plus their order inside ListenerPolicy.
#include "policy/access_rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conf/address_pattern.hpp"
#include "policy/listener_policy.hpp"

namespace {

using policy::AccessRules;
using policy::Decision;
using policy::Reason;
using policy::RuleSubject;
using policy::Verdict;

policy::IpAddress ip(const char* text) {
  auto parsed = policy::IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(policy::IpAddress{}).canonical();
}

std::string show(Decision d) {
  return std::string(policy::to_string(d.verdict)) + "(" + std::string(policy::to_string(d.reason)) + ")";
}

AccessRules compile_ok(const conf::PolicyConfig& config, const std::vector<std::string>& own = {"example.com"},
                       policy::ListenerFacts facts = {}) {
  auto rules = AccessRules::compile(config, own, facts);
  EXPECT_TRUE(rules.has_value()) << (rules ? "" : rules.error());
  return rules.value_or(AccessRules{});
}

const Decision accept = Decision::accept();
Decision reject(Reason r) { return Decision::reject(r); }

TEST(AddressPattern, SyntaxAndMatchingTable) {
  struct Case {
    const char* pattern;
    const char* address;
    bool want;
  };
  const std::vector<Case> cases{
      {"user@example.com", "user@example.com", true},
      {"user@example.com", "USER@Example.COM", true},
      {"user@example.com", "other@example.com", false},
      {"user@example.com", "user@sub.example.com", false},
      {"example.com", "anyone@example.com", true},
      {"example.com", "anyone@example.com.", true},
      {"example.com", "anyone@sub.example.com", false},
      {"*@example.com", "anyone@EXAMPLE.com", true},
      {"*.example.com", "a@mail.example.com", true},
      {"*.example.com", "a@example.com", false},
      {"*.example.com", "a@evilexample.com", false},
      {"user@*", "user@anything.example", true},
      {"user@*", "User@x.test", true},
      {"user@*", "other@x.test", false},
      {"user@*.example.com", "user@a.example.com", true},
      {"user@*.example.com", "user@example.com", false},
      {"<>", "", true},
      {"<>", "a@example.com", false},
      {"*", "", true},
      {"*", "a@b.c", true},
      {"example.com", "", false},
      {"example.com", "<x@example.com>", true},
      {"example.com", "no-domain", false},
  };
  for (const auto& c : cases) {
    const auto pattern = conf::AddressPattern::parse(c.pattern);
    ASSERT_TRUE(pattern.has_value()) << c.pattern;
    EXPECT_EQ(pattern->matches(c.address), c.want) << c.pattern << " vs " << c.address;
  }
}

TEST(AddressPattern, RejectsMalformedPatterns) {
  for (const char* bad : {"", "@", "user@", "@example.com", "*@*", "us er@example.com", "a*b@example.com",
                          "user@exa mple.com", "user@*.*", "**.example.com", "user@@example.com"}) {
    EXPECT_FALSE(conf::AddressPattern::parse(bad).has_value()) << "accepted: '" << bad << "'";
  }
}

TEST(AccessRules, ClientNetworksTable) {
  conf::PolicyConfig config{.name = "in"};
  config.client_networks = {"192.0.2.0/24", "2001:db8:1::/48", "203.0.113.9"};
  const auto rules = compile_ok(config);
  struct Case {
    const char* client;
    Decision want;
  };
  const std::vector<Case> cases{
      {"192.0.2.1", accept},
      {"192.0.2.255", accept},
      {"192.0.3.1", reject(Reason::client_not_allowed)},
      {"::ffff:192.0.2.7", accept},  // dual-stack listener reporting an IPv4 client
      {"2001:db8:1:ffff::1", accept},
      {"2001:db8:2::1", reject(Reason::client_not_allowed)},
      {"203.0.113.9", accept},
      {"203.0.113.10", reject(Reason::client_not_allowed)},
  };
  for (const auto& c : cases) {
    const auto got = rules.on_connect(ip(c.client));
    EXPECT_EQ(show(got), show(c.want)) << c.client;
  }
  // An empty list lets everyone in.
  EXPECT_EQ(show(compile_ok(conf::PolicyConfig{.name = "x"}).on_connect(ip("198.51.100.1"))), show(accept));
}

TEST(AccessRules, HeloShapes) {
  using policy::HeloShape;
  struct Case {
    const char* helo;
    HeloShape want;
  };
  const std::vector<Case> cases{
      {"mail.example.net", HeloShape::fqdn},
      {"mail.example.net.", HeloShape::fqdn},
      {"localhost", HeloShape::not_fqdn},
      {"example", HeloShape::not_fqdn},
      {"bad_name.example.com", HeloShape::not_fqdn},
      {"[192.0.2.1]", HeloShape::address_literal},
      {"[IPv6:2001:db8::1]", HeloShape::address_literal},
      {"[ipv6:2001:db8::1]", HeloShape::address_literal},
      {"[2001:db8::1]", HeloShape::bad_literal},  // RFC 5321 §4.1.3: v6 needs the IPv6: tag
      {"[IPv6:192.0.2.1]", HeloShape::bad_literal},
      {"[999.1.1.1]", HeloShape::bad_literal},
      {"[192.0.2.1", HeloShape::bad_literal},
      {"192.0.2.1", HeloShape::bare_address},
      {"2001:db8::1", HeloShape::bare_address},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(static_cast<int>(policy::classify_helo(c.helo)), static_cast<int>(c.want)) << c.helo;
  }
}

TEST(AccessRules, HeloChecksTable) {
  conf::PolicyConfig config{.name = "in"};
  config.helo_required_fqdn = true;
  config.helo_reject_own_name = true;
  const auto rules = compile_ok(config, {"example.com", "*.example.org"},
                                policy::ListenerFacts{conf::Direction::inbound, "MX.Example.com", {"192.0.2.25", "2001:db8::25"}});
  const RuleSubject stranger{ip("198.51.100.7"), false, false, ""};
  const RuleSubject trusted{ip("10.0.0.1"), true, false, ""};
  struct Case {
    const RuleSubject* client;
    const char* helo;
    Decision want;
  };
  const std::vector<Case> cases{
      {&stranger, "mail.example.net", accept},
      {&stranger, "[198.51.100.7]", accept},
      {&stranger, "localhost", reject(Reason::helo_invalid)},
      {&stranger, "198.51.100.7", reject(Reason::helo_invalid)},
      {&stranger, "[300.1.1.1]", reject(Reason::helo_invalid)},
      {&stranger, "mx.example.com", reject(Reason::helo_spoofed)},  // our host name, any case
      {&stranger, "example.com", reject(Reason::helo_spoofed)},     // an own domain
      {&stranger, "host.example.org", reject(Reason::helo_spoofed)},
      {&stranger, "[192.0.2.25]", reject(Reason::helo_spoofed)},    // our address
      {&stranger, "[IPv6:2001:db8::25]", reject(Reason::helo_spoofed)},
      {&trusted, "localhost", accept},                              // trusted clients are exempt
      {&trusted, "mx.example.com", accept},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(show(rules.on_helo(*c.client, c.helo)), show(c.want)) << c.helo;
  }
  // Off by default: anything goes.
  EXPECT_EQ(show(compile_ok(conf::PolicyConfig{.name = "x"}).on_helo(stranger, "localhost")), show(accept));
}

TEST(AccessRules, OwnNameCheckAloneRefusesBareOwnAddress) {
  conf::PolicyConfig config{.name = "in"};
  config.helo_reject_own_name = true;
  const auto rules = compile_ok(config, {}, policy::ListenerFacts{conf::Direction::inbound, "mx.test", {"127.0.0.1"}});
  const RuleSubject stranger{ip("127.0.0.3"), false, false, ""};
  EXPECT_EQ(show(rules.on_helo(stranger, "127.0.0.1")), show(reject(Reason::helo_spoofed)));
  EXPECT_EQ(show(rules.on_helo(stranger, "localhost")), show(accept));  // no FQDN rule configured
}

TEST(AccessRules, SenderAndRecipientListsTable) {
  conf::PolicyConfig config{.name = "in"};
  config.sender_deny = {"spammer@partner.example", "*.bad.example", "<>"};
  config.sender_allow = {"partner.example", "*@friends.example", "boss@*"};
  config.recipient_deny = {"noreply@example.com"};
  const auto rules = compile_ok(config, {});
  const RuleSubject anyone{ip("198.51.100.7"), false, false, ""};
  struct Case {
    const char* address;
    Decision want;
  };
  const std::vector<Case> senders{
      {"alice@partner.example", accept},
      {"ALICE@PARTNER.EXAMPLE", accept},
      {"spammer@partner.example", reject(Reason::sender_denied)},  // deny beats allow
      {"SPAMMER@Partner.Example", reject(Reason::sender_denied)},
      {"x@friends.example", accept},
      {"boss@anywhere.example", accept},
      {"boss@x.bad.example", reject(Reason::sender_denied)},
      {"someone@else.example", reject(Reason::sender_denied)},  // allow list present: only listed
      {"", reject(Reason::sender_denied)},                       // "<>" denied
  };
  for (const auto& c : senders) EXPECT_EQ(show(rules.on_mail(anyone, c.address)), show(c.want)) << c.address;
  const std::vector<Case> recipients{
      {"bob@example.com", accept},  // no recipient allow list: everything not denied
      {"NoReply@Example.com", reject(Reason::recipient_denied)},
  };
  for (const auto& c : recipients) EXPECT_EQ(show(rules.on_rcpt(anyone, c.address)), show(c.want)) << c.address;
}

TEST(AccessRules, AntiSpoofingTable) {
  const conf::PolicyConfig config{.name = "in"};
  const auto inbound = compile_ok(config, {"example.com", "*.example.com"});
  const RuleSubject stranger{ip("198.51.100.7"), false, false, ""};
  const RuleSubject trusted{ip("10.0.0.1"), true, false, ""};
  const RuleSubject authenticated{ip("198.51.100.8"), true, true, "alice"};
  struct Case {
    const RuleSubject* client;
    const char* sender;
    Decision want;
  };
  const std::vector<Case> cases{
      {&stranger, "ceo@example.com", reject(Reason::spoofed_sender)},
      {&stranger, "CEO@EXAMPLE.COM", reject(Reason::spoofed_sender)},
      {&stranger, "hr@eu.example.com", reject(Reason::spoofed_sender)},
      {&stranger, "x@example.com.evil.test", accept},
      {&stranger, "x@notexample.com", accept},
      {&stranger, "", accept},  // the null sender is never spoofed
      {&trusted, "ceo@example.com", accept},
      {&authenticated, "ceo@example.com", accept},
  };
  for (const auto& c : cases) EXPECT_EQ(show(inbound.on_mail(*c.client, c.sender)), show(c.want)) << c.sender;

  // Off by default on outbound listeners, and switchable both ways.
  const auto outbound = compile_ok(config, {"example.com"}, policy::ListenerFacts{conf::Direction::outbound, "", {}});
  EXPECT_EQ(show(outbound.on_mail(stranger, "ceo@example.com")), show(accept));
  conf::PolicyConfig off{.name = "in"};
  off.reject_spoofed_senders = false;
  EXPECT_EQ(show(compile_ok(off, {"example.com"}).on_mail(stranger, "ceo@example.com")), show(accept));
  // own_domains overrides the accepted domains for the check.
  conf::PolicyConfig own{.name = "in"};
  own.own_domains = {"corp.example"};
  const auto with_own = compile_ok(own, {"example.com"});
  EXPECT_EQ(show(with_own.on_mail(stranger, "ceo@example.com")), show(accept));
  EXPECT_EQ(show(with_own.on_mail(stranger, "ceo@corp.example")), show(reject(Reason::spoofed_sender)));
}

TEST(AccessRules, OutboundSendAsTable) {
  conf::PolicyConfig config{.name = "out"};
  config.allowed_sender_domains = {"example.com", "*.example.com"};
  config.sender_restrictions = {
      {.networks = {"10.9.0.0/16", "2001:db8:9::/48"}, .user = "", .senders = {"*@app.example.com"}, .line = 1},
      {.networks = {}, .user = "app1", .senders = {"app1@example.com", "<>"}, .line = 2},
  };
  const auto rules = compile_ok(config, {"example.com"}, policy::ListenerFacts{conf::Direction::outbound, "", {}});
  const RuleSubject hub{ip("10.1.0.5"), true, false, ""};
  const RuleSubject app_net{ip("10.9.3.4"), true, false, ""};
  const RuleSubject app_net6{ip("2001:db8:9::77"), true, false, ""};
  const RuleSubject app_user{ip("10.1.0.6"), true, true, "app1"};
  const RuleSubject other_user{ip("10.1.0.7"), true, true, "app2"};
  struct Case {
    const RuleSubject* client;
    const char* sender;
    Decision want;
  };
  const std::vector<Case> cases{
      {&hub, "anyone@example.com", accept},
      {&hub, "anyone@sub.example.com", accept},
      {&hub, "ceo@gmail.test", reject(Reason::sender_not_allowed)},
      {&hub, "", accept},  // non-delivery reports from the HUB servers
      {&app_net, "robot@app.example.com", accept},
      {&app_net, "ceo@example.com", reject(Reason::sender_not_allowed)},  // restricted network
      {&app_net6, "robot@app.example.com", accept},
      {&app_net6, "ceo@example.com", reject(Reason::sender_not_allowed)},
      {&app_net, "", reject(Reason::sender_not_allowed)},  // "<>" not listed for the network
      {&app_user, "app1@example.com", accept},
      {&app_user, "APP1@EXAMPLE.COM", accept},
      {&app_user, "", accept},
      {&app_user, "ceo@example.com", reject(Reason::sender_not_allowed)},
      {&other_user, "ceo@example.com", accept},  // the user restriction names app1 only
  };
  for (const auto& c : cases) EXPECT_EQ(show(rules.on_mail(*c.client, c.sender)), show(c.want)) << c.sender;
}

TEST(AccessRules, CompileReportsBadEntries) {
  conf::PolicyConfig config{.name = "edge"};
  config.client_networks = {"10.0.0.0/33"};
  config.sender_deny = {"a*b@example.com"};
  config.sender_restrictions = {{.networks = {}, .user = "", .senders = {"*"}, .line = 7}};
  const auto rules = AccessRules::compile(config, {}, {});
  ASSERT_FALSE(rules.has_value());
  EXPECT_NE(rules.error().find("client_networks entry '10.0.0.0/33'"), std::string::npos) << rules.error();
  EXPECT_NE(rules.error().find("sender_deny entry 'a*b@example.com'"), std::string::npos) << rules.error();
  EXPECT_NE(rules.error().find("line 7) applies to nobody"), std::string::npos) << rules.error();
}

// The rules inside ListenerPolicy: the recipient lists come before the relay rule and
// apply to trusted clients too; require_trusted still comes first at MAIL.
TEST(ListenerPolicyRules, OrderWithinTheListenerPolicy) {
  conf::PolicyConfig config{.name = "in"};
  config.trusted_networks = {"10.0.0.0/8"};
  config.accepted_domains = {"example.com"};
  config.recipient_deny = {"blackhole@example.com", "*@spamtrap.example"};
  config.client_networks = {"10.0.0.0/8", "198.51.100.0/24"};
  auto compiled = policy::ListenerPolicy::compile(config, {});
  ASSERT_TRUE(compiled.has_value()) << compiled.error();
  const policy::Client trusted{ip("10.1.1.1"), false, ""};
  const policy::Client stranger{ip("198.51.100.9"), false, ""};
  const policy::Client outsider{ip("203.0.113.1"), false, ""};
  EXPECT_EQ(show(compiled->on_connect(outsider)), show(reject(Reason::client_not_allowed)));
  EXPECT_EQ(show(compiled->on_connect(stranger)), show(accept));
  EXPECT_EQ(show(compiled->on_rcpt(trusted, "x@spamtrap.example")), show(reject(Reason::recipient_denied)));
  EXPECT_EQ(show(compiled->on_rcpt(trusted, "x@elsewhere.test")), show(accept));
  EXPECT_EQ(show(compiled->on_rcpt(stranger, "blackhole@example.com")), show(reject(Reason::recipient_denied)));
  EXPECT_EQ(show(compiled->on_rcpt(stranger, "x@elsewhere.test")), show(reject(Reason::relay_denied)));
  EXPECT_EQ(show(compiled->on_mail(stranger, "ceo@example.com")), show(reject(Reason::spoofed_sender)));
  EXPECT_EQ(show(compiled->on_mail(trusted, "ceo@example.com")), show(accept));
}

// Defaults closed: a policy-less listener (default-constructed ListenerPolicy) relays nothing.
TEST(ListenerPolicyRules, NoPolicyRelaysNothing) {
  const policy::ListenerPolicy none;
  for (const char* address : {"127.0.0.1", "10.0.0.1", "::1", "203.0.113.5"}) {
    const policy::Client client{ip(address), false, ""};
    EXPECT_EQ(show(none.on_rcpt(client, "x@example.com")), show(reject(Reason::relay_denied))) << address;
    EXPECT_EQ(show(none.on_rcpt(client, "x@elsewhere.test")), show(reject(Reason::relay_denied))) << address;
  }
}

}  // namespace
