// tests/relay/server/server_fsm_policy_test.cpp — scenario tests of the listener policy stages in
// ServerFsm: which reply each decision produces at connect, HELO, MAIL, RCPT and end of
// data, that every evaluation reaches the decision observer once, and the per-client
// limits with an injected steady clock (421 at connect and close, 451 4.7.1 at MAIL/RCPT,
// recovery once time passes, slots given back when a session ends), and the log line of
// each refusal (relay/server/decision_log) naming the reply and the envelope.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "relay/server/server_fsm.hpp"
#include "tests/support/fsm_driver.hpp"
#include "tests/support/fsm_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using relay::PolicyStage;
using relay::ServerFsm;
using relay::ServerState;

using Code = test_support::ReplyCode;
using test_support::reply_code_pairs;

struct Seen {
  PolicyStage stage;
  policy::Decision decision;
};

std::string show(const Seen& s) {
  return std::string(relay::to_string(s.stage)) + ":" + std::string(policy::to_string(s.decision.verdict)) + ":" +
         std::string(policy::to_string(s.decision.reason));
}

policy::ListenerPolicy make_policy(const conf::PolicyConfig& config) {
  auto compiled = policy::ListenerPolicy::compile(config, {},
                                                  policy::ListenerFacts{conf::Direction::inbound, "mx.test", {"192.0.2.25"}});
  EXPECT_TRUE(compiled.has_value()) << (compiled ? "" : compiled.error());
  return compiled ? std::move(*compiled) : policy::ListenerPolicy{};
}

conf::PolicyConfig inbound_config() {
  conf::PolicyConfig config;
  config.name = "inbound";
  config.trusted_networks = {"192.0.2.0/24"};
  config.accepted_domains = {"example.com"};
  config.client_networks = {"192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"};
  config.sender_deny = {"*@spam.example"};
  config.recipient_deny = {"trap@example.com"};
  config.helo_required_fqdn = true;
  config.helo_reject_own_name = true;
  return config;
}

class Session {
 public:
  Session(const policy::ListenerPolicy& policy, const char* ip, policy::ClientLimits* limits = nullptr,
          policy::SteadyTime* clock = nullptr)
      : fsm_(settings(), policy, peer(ip), "s1") {
    fsm_.set_decision_observer([this, ip](const relay::PolicyEvent& e) {
      seen.push_back({e.stage, e.decision});
      lines.push_back(relay::decision_log_line("s1", "inbound", ip, e));
    });
    if (limits != nullptr) fsm_.set_client_limits(limits, [clock] { return *clock; });
    driver_.auto_commit = relay::CommitStatus::committed;
    driver_.queue_id = [](std::size_t) { return std::string("Q1"); };
  }
  static relay::ServerSettings settings() {
    relay::ServerSettings s;
    s.hostname = "mx.test";
    s.max_message_size = 2000;
    s.max_recipients = 3;
    s.max_errors = 50;
    return s;
  }
  static relay::Peer peer(const char* ip) {
    relay::Peer p;
    p.address = ip;
    p.ip = policy::IpAddress::parse(ip).value_or(policy::IpAddress{}).canonical();
    return p;
  }
  std::string start() { return driver_.start(); }
  std::string send(std::string_view bytes) { return driver_.send(bytes); }
  ServerFsm& fsm() { return fsm_; }
  std::vector<Seen> seen;
  std::vector<std::string> lines;  // decision_log_line of each event, as the driver logs it

 private:
  ServerFsm fsm_;
  test_support::FsmDriver driver_{fsm_};
};

#define EXPECT_CODES(out, ...) EXPECT_EQ(reply_code_pairs(out), (std::vector<Code>{__VA_ARGS__})) << (out)

// Every refusal line names what was refused: the reply, the HELO, the sender and, at
// RCPT, the recipient — whichever rule refused it.
TEST(ServerFsmPolicy, RefusalLinesNameTheEnvelope) {
  const auto policy = make_policy(inbound_config());
  const std::string head = "EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\n";
  const std::string prefix = "session=s1 listener=inbound client=198.51.100.7 ";
  struct Case {
    const char* name;
    std::string input;
    std::string line;  // the last decision's line after `prefix`
  };
  const std::vector<Case> cases{
      {"relay attempt", head + "RCPT TO:<x@elsewhere.test>\r\n",
       "stage=rcpt decision=reject reason=relay_denied code=550 status=5.7.1 helo=c.example.net from=<a@b.example> "
       "to=<x@elsewhere.test>"},
      {"denied recipient", head + "RCPT TO:<trap@example.com>\r\n",
       "stage=rcpt decision=reject reason=recipient_denied code=550 status=5.7.1 helo=c.example.net "
       "from=<a@b.example> to=<trap@example.com>"},
      {"recipient limit",
       head + "RCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n"
              "RCPT TO:<d@example.com>\r\n",
       "stage=rcpt decision=defer reason=too_many_recipients code=452 status=4.5.3 helo=c.example.net "
       "from=<a@b.example> to=<d@example.com>"},
      {"spoofed sender", "EHLO c.example.net\r\nMAIL FROM:<ceo@example.com>\r\n",
       "stage=mail decision=reject reason=spoofed_sender code=550 status=5.7.1 helo=c.example.net "
       "from=<ceo@example.com>"},
      {"declared size", "EHLO c.example.net\r\nMAIL FROM:<a@b.example> SIZE=5000\r\n",
       "stage=mail decision=reject reason=message_too_large code=552 status=5.3.4 helo=c.example.net "
       "from=<a@b.example>"},
      {"null sender relay", "EHLO c.example.net\r\nMAIL FROM:<>\r\nRCPT TO:<x@elsewhere.test>\r\n",
       "stage=rcpt decision=reject reason=relay_denied code=550 status=5.7.1 helo=c.example.net from=<> "
       "to=<x@elsewhere.test>"},
      {"message too large", head + "RCPT TO:<a@example.com>\r\nDATA\r\n" + std::string(3000, 'x') + "\r\n.\r\n",
       "stage=data decision=reject reason=message_too_large code=552 status=5.3.4 helo=c.example.net "
       "from=<a@b.example>"},
      {"helo", "EHLO mx.test\r\n", "stage=helo decision=reject reason=helo_spoofed code=550 status=5.7.1 helo=mx.test"},
  };
  for (const auto& c : cases) {
    Session s(policy, "198.51.100.7");
    s.start();
    s.send(c.input);
    ASSERT_FALSE(s.lines.empty()) << c.name;
    EXPECT_EQ(s.lines.back(), prefix + c.line) << c.name;
  }
}

TEST(ServerFsmPolicy, StageRepliesTable) {
  const auto policy = make_policy(inbound_config());
  struct Case {
    const char* name;
    const char* client;
    std::string input;   // after the banner; each line answered
    std::vector<Code> want;
    std::string last;    // the last decision seen, stage:verdict:reason
  };
  const std::vector<Case> cases{
      {"helo not fqdn", "198.51.100.7", "EHLO localhost\r\n", {{501, "5.5.2"}}, "helo:reject:helo_invalid"},
      {"helo bare ip", "198.51.100.7", "HELO 198.51.100.7\r\n", {{501, "5.5.2"}}, "helo:reject:helo_invalid"},
      {"helo is us", "198.51.100.7", "EHLO mx.test\r\n", {{550, "5.7.1"}}, "helo:reject:helo_spoofed"},
      {"helo our literal", "198.51.100.7", "EHLO [192.0.2.25]\r\n", {{550, "5.7.1"}}, "helo:reject:helo_spoofed"},
      {"helo retried", "198.51.100.7", "EHLO localhost\r\nEHLO client.example.net\r\n", {{501, "5.5.2"}, {250, ""}},
       "helo:accept:none"},
      {"trusted helo exempt", "192.0.2.9", "EHLO localhost\r\n", {{250, ""}}, "helo:accept:none"},
      {"spoofed sender", "198.51.100.7", "EHLO c.example.net\r\nMAIL FROM:<ceo@example.com>\r\n",
       {{250, ""}, {550, "5.7.1"}}, "mail:reject:spoofed_sender"},
      {"null sender ok", "198.51.100.7", "EHLO c.example.net\r\nMAIL FROM:<>\r\n", {{250, ""}, {250, "2.1.0"}},
       "mail:accept:none"},
      {"trusted own sender", "192.0.2.9", "EHLO c.example.net\r\nMAIL FROM:<ceo@example.com>\r\n",
       {{250, ""}, {250, "2.1.0"}}, "mail:accept:none"},
      {"denied sender", "2001:db8::7", "EHLO c.example.net\r\nMAIL FROM:<x@spam.example>\r\n",
       {{250, ""}, {550, "5.7.1"}}, "mail:reject:sender_denied"},
      {"denied recipient", "198.51.100.7", "EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<trap@example.com>\r\n",
       {{250, ""}, {250, "2.1.0"}, {550, "5.7.1"}}, "rcpt:reject:recipient_denied"},
      {"relay attempt", "198.51.100.7", "EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@elsewhere.test>\r\n",
       {{250, ""}, {250, "2.1.0"}, {550, "5.7.1"}}, "rcpt:reject:relay_denied"},
      {"too many recipients", "198.51.100.7",
       "EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
       "RCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\n",
       {{250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {250, "2.1.5"}, {250, "2.1.5"}, {452, "4.5.3"}},
       "rcpt:defer:too_many_recipients"},
      {"message too large", "198.51.100.7",
       "EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n" + std::string(3000, 'x') +
           "\r\n.\r\n",
       {{250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {354, ""}, {552, "5.3.4"}}, "data:reject:message_too_large"},
  };
  for (const auto& c : cases) {
    Session s(policy, c.client);
    EXPECT_CODES(s.start(), {220, ""});
    EXPECT_EQ(reply_code_pairs(s.send(c.input)), c.want) << c.name;
    ASSERT_FALSE(s.seen.empty()) << c.name;
    EXPECT_EQ(show(s.seen.back()), c.last) << c.name;
    EXPECT_EQ(show(Seen{s.fsm().last_decision_stage(), s.fsm().last_decision()}), c.last) << c.name;
  }
}

TEST(ServerFsmPolicy, ClientOutsideClientNetworksGets554AndClose) {
  const auto policy = make_policy(inbound_config());
  Session s(policy, "203.0.113.5");
  EXPECT_CODES(s.start(), {554, "5.7.1"});
  EXPECT_TRUE(s.fsm().closed());
  ASSERT_EQ(s.seen.size(), 1u);
  EXPECT_EQ(show(s.seen[0]), "connect:reject:client_not_allowed");
}

TEST(ServerFsmPolicy, EveryEvaluationIsObservedOnce) {
  const auto policy = make_policy(inbound_config());
  Session s(policy, "198.51.100.7");
  s.start();
  s.send("EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<x@else.test>\r\n");
  std::vector<std::string> got;
  for (const auto& seen : s.seen) got.push_back(show(seen));
  EXPECT_EQ(got, (std::vector<std::string>{"connect:accept:none", "helo:accept:none", "mail:accept:none",
                                            "rcpt:accept:none", "rcpt:reject:relay_denied"}));
}

TEST(ServerFsmPolicy, ConnectionLimitGives421AndSlotsComeBack) {
  conf::PolicyConfig config = inbound_config();
  config.helo_required_fqdn = false;
  const auto policy = make_policy(config);
  policy::ClientLimits limits(policy::LimitSettings{.max_connections_per_client = 1});
  policy::SteadyTime now{};
  {
    Session first(policy, "198.51.100.7", &limits, &now);
    EXPECT_CODES(first.start(), {220, ""});
    Session second(policy, "198.51.100.7", &limits, &now);
    EXPECT_CODES(second.start(), {421, "4.7.0"});
    EXPECT_TRUE(second.fsm().closed());
    EXPECT_EQ(show(second.seen.back()), "connect:defer:too_many_connections");
    Session trusted(policy, "192.0.2.9", &limits, &now);  // trusted: exempt by default
    EXPECT_CODES(trusted.start(), {220, ""});
  }
  // The first session ended: its slot is free again.
  Session third(policy, "198.51.100.7", &limits, &now);
  EXPECT_CODES(third.start(), {220, ""});
}

TEST(ServerFsmPolicy, RatesGive451AndRecover) {
  conf::PolicyConfig config = inbound_config();
  const auto policy = make_policy(config);
  policy::ClientLimits limits(policy::LimitSettings{.connection_rate = {1, 10'000ms},
                                                    .message_rate = {2, 2000ms},
                                                    .recipient_rate = {2, 2000ms}});
  policy::SteadyTime now = policy::SteadyTime{} + 100h;
  Session s(policy, "198.51.100.7", &limits, &now);
  EXPECT_CODES(s.start(), {220, ""});
  {
    Session again(policy, "198.51.100.7", &limits, &now);
    EXPECT_CODES(again.start(), {421, "4.7.0"});
    EXPECT_EQ(show(again.seen.back()), "connect:defer:connection_rate_exceeded");
  }
  EXPECT_CODES(s.send("EHLO c.example.net\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<a@example.com>\r\n"
                      "RCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n"),
               {250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {250, "2.1.5"}, {451, "4.7.1"});
  EXPECT_EQ(show(s.seen.back()), "rcpt:defer:recipient_rate_exceeded");
  EXPECT_CODES(s.send("RSET\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\n"),
               {250, "2.0.0"}, {250, "2.1.0"}, {250, "2.0.0"}, {451, "4.7.1"});
  EXPECT_EQ(show(s.seen.back()), "mail:defer:message_rate_exceeded");
  EXPECT_EQ(s.fsm().errors(), 0u);  // deferrals never count towards max_errors
  now += 1s;                        // one token back in each bucket
  EXPECT_CODES(s.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@example.com>\r\n"), {250, "2.1.0"}, {250, "2.1.5"});
}

}  // namespace
