// tests/relay/server/server_fsm_dsn_test.cpp — DSN (RFC 3461) and SMTPUTF8 (RFC 6531) in the
// server session: EHLO advertises both; RET/ENVID/NOTIFY/ORCPT are checked and stored
// per recipient (same index as the recipients); UTF-8 paths only after MAIL ... SMTPUTF8.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "relay/server/server_fsm.hpp"
#include "tests/support/fsm_driver.hpp"
#include "tests/support/fsm_fixture.hpp"

namespace {

using relay::CommitStatus;
using relay::ServerFsm;
using relay::ServerState;

// "code enhanced" (or just the code) for each reply in `out`.
std::vector<std::string> replies(const std::string& out) {
  std::vector<std::string> result;
  for (const auto& [code, enhanced] : test_support::reply_code_pairs(out))
    result.push_back(enhanced.empty() ? std::to_string(code) : std::to_string(code) + " " + enhanced);
  return result;
}

class Session {
 public:
  // 192.0.2.10 is trusted: may relay anywhere.
  explicit Session(const char* ip = "192.0.2.10")
      : policy_(test_support::example_policy()), fsm_(settings(), policy_, test_support::peer_at(ip), "d1"), driver_(fsm_) {
    driver_.start();
  }
  static relay::ServerSettings settings() {
    relay::ServerSettings s;
    s.hostname = "mx.test";
    s.max_recipients = 10;
    s.max_errors = 50;
    return s;
  }
  std::string send(std::string_view bytes) {
    std::string out = driver_.send(bytes);
    EXPECT_TRUE(driver_.pending().empty());
    return out;
  }
  relay::Transaction commit() {
    EXPECT_EQ(fsm_.state(), ServerState::awaiting_commit);
    driver_.commit(CommitStatus::committed, "Q1");
    return driver_.committed().empty() ? relay::Transaction{} : driver_.committed().back();
  }

 private:
  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
  test_support::FsmDriver driver_;
};

TEST(ServerFsmDsn, EhloAdvertisesDsnAndSmtputf8) {
  Session s;
  const std::string out = s.send("EHLO c.test\r\n");
  EXPECT_NE(out.find("250-DSN\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("SMTPUTF8\r\n"), std::string::npos) << out;
}

TEST(ServerFsmDsn, ParametersAreCheckedAndStoredPerRecipient) {
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(replies(s.send("MAIL FROM:<s@remote.test> RET=HDRS ENVID=QQ+2B1\r\n")), std::vector<std::string>{"250 2.1.0"});
  EXPECT_EQ(replies(s.send("RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.example\r\n")),
            std::vector<std::string>{"250 2.1.5"});
  EXPECT_EQ(replies(s.send("RCPT TO:<b@example.com>\r\n")), std::vector<std::string>{"250 2.1.5"});
  EXPECT_EQ(replies(s.send("RCPT TO:<c@example.com> NOTIFY=NEVER\r\n")), std::vector<std::string>{"250 2.1.5"});
  // A repeated recipient is stored once, with its first parameters.
  EXPECT_EQ(replies(s.send("RCPT TO:<c@example.com> NOTIFY=DELAY\r\n")), std::vector<std::string>{"250 2.1.5"});
  // Refused parameters leave no trace.
  EXPECT_EQ(replies(s.send("RCPT TO:<d@example.com> NOTIFY=NEVER,DELAY\r\n")), std::vector<std::string>{"501 5.5.4"});
  EXPECT_EQ(replies(s.send("RCPT TO:<d@example.com> ORCPT=rfc822\r\n")), std::vector<std::string>{"501 5.5.4"});
  EXPECT_EQ(replies(s.send("RCPT TO:<d@example.com> NOTIFY=NEVER NOTIFY=NEVER\r\n")),
            std::vector<std::string>{"501 5.5.4"});
  EXPECT_EQ(replies(s.send("RCPT TO:<d@example.com> FOO=bar\r\n")), std::vector<std::string>{"555 5.5.4"});
  s.send("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
  const relay::Transaction t = s.commit();
  EXPECT_EQ(t.mail_parameters, "RET=HDRS ENVID=QQ+2B1");
  EXPECT_EQ(t.recipients, (std::vector<std::string>{"a@example.com", "b@example.com", "c@example.com"}));
  EXPECT_EQ(t.recipient_parameters,
            (std::vector<std::string>{"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y.example", "", "NOTIFY=NEVER"}));
  EXPECT_FALSE(t.smtputf8);
}

TEST(ServerFsmDsn, MailParameterErrors) {
  struct Case {
    std::string command;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"MAIL FROM:<s@remote.test> RET=FULL RET=FULL", "501 5.5.4"},
      {"MAIL FROM:<s@remote.test> ENVID=" + std::string(101, 'x'), "501 5.5.4"},
      {"MAIL FROM:<s@remote.test> ENVID=a+0Db", "501 5.5.4"},
      {"MAIL FROM:<s@remote.test> SMTPUTF8=1", "501 5.5.4"},
      {"MAIL FROM:<s@remote.test> X-FOO", "555 5.5.4"},
      {"MAIL FROM:<j\xc3\xbcrgen@remote.test>", "553 5.6.7"},           // UTF-8 without SMTPUTF8
      {"MAIL FROM:<j\xc3rgen@remote.test> SMTPUTF8", "553 5.6.7"},       // invalid UTF-8
      {"MAIL FROM:<j\xc0\xafrgen@remote.test> SMTPUTF8", "553 5.6.7"},   // overlong form
      {"MAIL FROM:<j\xc3\xbcrgen@remote.test> SMTPUTF8", "250 2.1.0"},
      {"MAIL FROM:<s@b\xc3\xbc\x63her.example> SMTPUTF8 RET=FULL", "250 2.1.0"},
  };
  for (const auto& c : cases) {
    Session s;
    s.send("EHLO c.test\r\n");
    EXPECT_EQ(replies(s.send(c.command + "\r\n")), std::vector<std::string>{c.want}) << c.command;
  }
}

TEST(ServerFsmDsn, Utf8RecipientsOnlyInASmtputf8Transaction) {
  {
    Session s;
    s.send("EHLO c.test\r\nMAIL FROM:<s@remote.test>\r\n");
    EXPECT_EQ(replies(s.send("RCPT TO:<j\xc3\xbcrgen@example.com>\r\n")), std::vector<std::string>{"553 5.6.7"});
  }
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(replies(s.send("MAIL FROM:<s@remote.test> SMTPUTF8\r\n")), std::vector<std::string>{"250 2.1.0"});
  EXPECT_EQ(replies(s.send("RCPT TO:<j\xc3\xbcrgen@example.com>\r\n")), std::vector<std::string>{"250 2.1.5"});
  EXPECT_EQ(replies(s.send("RCPT TO:<user@b\xc3\xbc\x63her.example>\r\n")), std::vector<std::string>{"250 2.1.5"});
  EXPECT_EQ(replies(s.send("RCPT TO:<bad\xc3@example.com>\r\n")), std::vector<std::string>{"501 5.1.3"});
  s.send("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
  const relay::Transaction t = s.commit();
  EXPECT_TRUE(t.smtputf8);
  EXPECT_EQ(t.mail_parameters, "SMTPUTF8");
  EXPECT_EQ(t.recipients, (std::vector<std::string>{"j\xc3\xbcrgen@example.com", "user@b\xc3\xbc\x63her.example"}));
  EXPECT_EQ(t.recipient_parameters.size(), 2u);
  // The flag belongs to the transaction: the next one without SMTPUTF8 is ASCII again.
  s.send("MAIL FROM:<s@remote.test>\r\n");
  EXPECT_EQ(replies(s.send("RCPT TO:<j\xc3\xbcrgen@example.com>\r\n")), std::vector<std::string>{"553 5.6.7"});
}

TEST(ServerFsmDsn, Utf8DomainsMeetTheRelayPolicyWithoutIdna) {
  // An untrusted client: only accepted domains. Domains compare octet by octet (no IDNA):
  // a U-label domain is simply not "example.com", and nothing breaks on the 8-bit octets.
  Session s("198.51.100.7");
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(replies(s.send("MAIL FROM:<j\xc3\xbcrgen@remote.test> SMTPUTF8\r\n")), std::vector<std::string>{"250 2.1.0"});
  EXPECT_EQ(replies(s.send("RCPT TO:<j\xc3\xbcrgen@example.com>\r\n")), std::vector<std::string>{"250 2.1.5"});
  const auto refused = replies(s.send("RCPT TO:<user@\xc3\xa9xample.com>\r\n"));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].substr(0, 1), "5") << refused[0];  // relay denied, not accepted
}

}  // namespace
