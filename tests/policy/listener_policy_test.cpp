// tests/policy/listener_policy_test.cpp — compiling a listener policy and its decisions
// at connect, MAIL and RCPT.
#include "policy/listener_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using policy::Client;
using policy::Decision;
using policy::ListenerPolicy;
using policy::Reason;
using policy::Verdict;

Client client(const char* address, bool authenticated = false) {
  auto parsed = policy::IpAddress::parse(address);
  EXPECT_TRUE(parsed.has_value()) << address;
  return Client{.address = parsed.value_or(policy::IpAddress{}), .authenticated = authenticated};
}

ListenerPolicy compile_ok(const conf::PolicyConfig& config,
                          const std::vector<std::string>& organisation = {}) {
  auto policy = ListenerPolicy::compile(config, organisation);
  EXPECT_TRUE(policy.has_value()) << (policy ? "" : policy.error());
  return policy.value_or(ListenerPolicy{});
}

std::string show(Decision d) {
  const char* verdict = d.verdict == Verdict::accept   ? "accept"
                        : d.verdict == Verdict::reject ? "reject"
                                                       : "defer";
  return std::string(verdict) + "(" + std::string(policy::to_string(d.reason)) + ")";
}

const Decision accept = Decision::accept();
const Decision relay_denied = Decision::reject(Reason::relay_denied);
const Decision untrusted = Decision::reject(Reason::untrusted_client);

// An internet-facing inbound listener: nobody trusted, the organisation's domains accepted.
conf::PolicyConfig inbound_config() {
  return {.name = "inbound",
          .trusted_networks = {"192.0.2.0/24", "2001:db8:1::/48"},
          .accepted_domains = {"example.com", "*.example.org"},
          .require_trusted = false};
}

// The outbound listener for the HUB servers.
conf::PolicyConfig outbound_config() {
  return {.name = "outbound",
          .trusted_networks = {"10.1.0.0/16", "::1"},
          .accepted_domains = {},
          .require_trusted = true};
}

TEST(ListenerPolicyCompile, ReportsEveryBadEntryByName) {
  conf::PolicyConfig config{.name = "edge",
                            .trusted_networks = {"10.0.0.0/8", "10.0.0.0/33", "bogus"},
                            .accepted_domains = {"example.com", "*foo.com"}};
  auto got = ListenerPolicy::compile(config, {});
  ASSERT_FALSE(got.has_value());
  for (const char* want : {"edge", "'10.0.0.0/33'", "'bogus'", "'*foo.com'"}) {
    EXPECT_NE(got.error().find(want), std::string::npos) << want << " in: " << got.error();
  }
  EXPECT_EQ(got.error().find("'10.0.0.0/8'"), std::string::npos) << got.error();
}

TEST(ListenerPolicyCompile, RefusesAnyDomainAsOpenRelay) {
  auto own = ListenerPolicy::compile({.name = "p", .accepted_domains = {"*"}}, {});
  ASSERT_FALSE(own.has_value());
  EXPECT_NE(own.error().find("open relay"), std::string::npos) << own.error();
  auto inherited = ListenerPolicy::compile({.name = "p"}, {"example.com", "*"});
  EXPECT_FALSE(inherited.has_value());
}

TEST(ListenerPolicyCompile, OrganisationDomainsOnlyWhenPolicyListsNone) {
  const auto inherits = compile_ok({.name = "p"}, {"example.com"});
  EXPECT_TRUE(inherits.accepts_domain("example.com"));
  const auto overrides =
      compile_ok({.name = "p", .accepted_domains = {"example.net"}}, {"example.com"});
  EXPECT_TRUE(overrides.accepts_domain("example.net"));
  EXPECT_FALSE(overrides.accepts_domain("example.com"));
}

TEST(ListenerPolicy, DefaultIsClosed) {
  const ListenerPolicy closed;
  EXPECT_FALSE(closed.trusted(client("127.0.0.1")));
  EXPECT_FALSE(closed.accepts_domain("example.com"));
  EXPECT_EQ(show(closed.on_connect(client("127.0.0.1"))), show(accept));
  EXPECT_EQ(show(closed.on_mail(client("127.0.0.1"), "a@example.com")), show(accept));
  EXPECT_EQ(show(closed.on_rcpt(client("127.0.0.1"), "b@example.com")), show(relay_denied));
  EXPECT_EQ(show(closed.on_rcpt(client("127.0.0.1", true), "b@example.com")), show(accept));
}

TEST(ListenerPolicy, Trusted) {
  const auto inbound = compile_ok(inbound_config());
  struct Case {
    const char* address;
    bool authenticated;
    bool want;
  };
  const Case cases[] = {
      {"192.0.2.1", false, true},
      {"192.0.2.255", false, true},
      {"192.0.3.1", false, false},
      {"::ffff:192.0.2.7", false, true},   // IPv4 client seen on a dual-stack socket
      {"::ffff:192.0.3.7", false, false},
      {"2001:db8:1:ffff::1", false, true},
      {"2001:db8:2::1", false, false},
      {"203.0.113.5", true, true},         // authenticated from anywhere
      {"2001:db8:2::1", true, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(inbound.trusted(client(c.address, c.authenticated)), c.want)
        << c.address << " auth=" << c.authenticated;
  }
}

TEST(ListenerPolicy, ConnectAcceptsEveryoneSoRefusalsGetAReply) {
  const auto outbound = compile_ok(outbound_config());
  EXPECT_EQ(show(outbound.on_connect(client("203.0.113.5"))), show(accept));
  EXPECT_EQ(show(outbound.on_connect(client("10.1.2.3"))), show(accept));
}

TEST(ListenerPolicy, MailTable) {
  const auto inbound = compile_ok(inbound_config());
  const auto outbound = compile_ok(outbound_config(), {"example.com"});
  struct Case {
    const ListenerPolicy* policy;
    const char* address;
    bool authenticated;
    const char* sender;
    Decision want;
  };
  const Case cases[] = {
      {&inbound, "203.0.113.5", false, "someone@internet.test", accept},
      {&inbound, "203.0.113.5", false, "", accept},  // null sender (bounces) is fine
      {&outbound, "10.1.9.9", false, "user@example.com", accept},
      {&outbound, "::1", false, "user@example.com", accept},
      {&outbound, "::ffff:10.1.0.1", false, "user@example.com", accept},
      {&outbound, "10.2.0.1", false, "user@example.com", untrusted},
      {&outbound, "::2", false, "user@example.com", untrusted},
      {&outbound, "203.0.113.5", true, "user@example.com", accept},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(show(c.policy->on_mail(client(c.address, c.authenticated), c.sender)),
              show(c.want))
        << c.address << " MAIL FROM:<" << c.sender << ">";
  }
}

TEST(ListenerPolicy, RcptTable) {
  const auto inbound = compile_ok(inbound_config());
  const auto outbound = compile_ok(outbound_config(), {"example.com"});
  const auto organisation = compile_ok({.name = "org"}, {"example.com", "*.example.net"});
  struct Case {
    const ListenerPolicy* policy;
    const char* address;
    bool authenticated;
    const char* recipient;
    Decision want;
  };
  const char* stranger = "203.0.113.5";
  const Case cases[] = {
      // Untrusted client: only accepted domains.
      {&inbound, stranger, false, "user@example.com", accept},
      {&inbound, stranger, false, "User@EXAMPLE.COM", accept},
      {&inbound, stranger, false, "user@example.com.", accept},
      {&inbound, stranger, false, "<user@example.com>", accept},
      {&inbound, stranger, false, "user@sub.example.org", accept},
      {&inbound, stranger, false, "user@a.b.Example.Org.", accept},
      {&inbound, stranger, false, "user@example.org", relay_denied},  // *.x is not x
      {&inbound, stranger, false, "user@www.example.com", relay_denied},
      {&inbound, stranger, false, "user@example.com.evil.test", relay_denied},
      {&inbound, stranger, false, "user@evil.test", relay_denied},
      {&inbound, stranger, false, "user@", relay_denied},
      {&inbound, stranger, false, "postmaster", relay_denied},
      {&inbound, stranger, false, "", relay_denied},
      {&inbound, stranger, false, "user@[192.0.2.1]", relay_denied},
      {&inbound, stranger, false, "user@[IPv6:2001:db8::1]", relay_denied},
      // Sender-specified routing through one of our domains.
      {&inbound, stranger, false, "victim%evil.test@example.com", relay_denied},
      {&inbound, stranger, false, "evil.test!victim@example.com", relay_denied},
      {&inbound, stranger, false, "\"victim@evil.test\"@example.com", relay_denied},
      {&inbound, stranger, false, "user@evil.test@example.com", relay_denied},
      {&inbound, stranger, false, "@hop.test:user@example.com", accept},  // source route ignored
      {&inbound, stranger, false, "@hop.test:a%b@example.com", relay_denied},
      // Trusted clients relay anywhere, including address literals.
      {&inbound, "192.0.2.10", false, "user@evil.test", accept},
      {&inbound, "::ffff:192.0.2.10", false, "user@evil.test", accept},
      {&inbound, "2001:db8:1::25", false, "user@[192.0.2.1]", accept},
      {&inbound, stranger, true, "user@evil.test", accept},
      {&inbound, stranger, true, "a%b@example.com", accept},
      // Organisation domains inherited from [relay].accepted_domains.
      {&organisation, stranger, false, "user@example.com", accept},
      {&organisation, stranger, false, "user@mail.example.net", accept},
      {&organisation, stranger, false, "user@example.net", relay_denied},
      // require_trusted: untrusted clients are refused even for our own domains.
      {&outbound, "10.1.0.1", false, "anyone@internet.test", accept},
      {&outbound, "10.2.0.1", false, "user@example.com", untrusted},
      {&outbound, "10.2.0.1", false, "anyone@internet.test", untrusted},
      {&outbound, "10.2.0.1", true, "anyone@internet.test", accept},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(show(c.policy->on_rcpt(client(c.address, c.authenticated), c.recipient)),
              show(c.want))
        << c.address << " auth=" << c.authenticated << " RCPT TO:<" << c.recipient << ">";
  }
}

TEST(ListenerPolicy, AcceptsDomainTable) {
  const auto inbound = compile_ok(inbound_config());
  struct Case {
    const char* domain;
    bool want;
  };
  const Case cases[] = {
      {"example.com", true},  {"EXAMPLE.com.", true},   {"x.example.org", true},
      {"example.org", false}, {"", false},              {"[192.0.2.1]", false},
      {".", false},           {"www.example.com", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(inbound.accepts_domain(c.domain), c.want) << "'" << c.domain << "'";
  }
}

}  // namespace
