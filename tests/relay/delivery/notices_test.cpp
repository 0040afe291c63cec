// tests/relay/delivery/notices_test.cpp — what the relay writes itself: bounce, delay,
// relayed and alert notices, their envelope, and the direction each one takes.
#include "relay/delivery/notices.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/alert_events.hpp"

namespace {

using relay::DsnAction;
using relay::RecipientNews;

constexpr std::int64_t now_ms = 1'795'412'093'000;  // 2026-11-23T05:34:53Z

conf::Config config_with(std::vector<std::string> own_domains, std::vector<std::string> alerts_to = {}) {
  conf::Config c;
  c.relay.hostname = "relay.test";
  c.relay.accepted_domains = std::move(own_domains);
  c.alerts.to = std::move(alerts_to);
  c.alerts.from = "hubrelay@relay.test";
  c.hops.push_back(conf::HopConfig{.name = "smarthost", .host = "smarthost.example"});
  return c;
}

queue::QueuedMessage original_from(std::string sender, std::string rcpt_parameters = {}) {
  queue::QueuedMessage m;
  m.id = 42;
  m.sender = std::move(sender);
  m.mail_parameters = "ENVID=abc+2Bdef";
  m.received_at = now_ms - 600'000;
  m.recipients.push_back(queue::QueuedRecipient{.index = 0, .address = "x@remote.example", .attempts = 1,
                                                .parameters = std::move(rcpt_parameters)});
  m.body.data = std::make_shared<const std::string>("From: a@b\r\nSubject: figures\r\n\r\nSECRET-BODY\r\n");
  return m;
}

RecipientNews news(DsnAction action, std::string reply = "550 5.1.1 No such user", bool expired = false) {
  return RecipientNews{.index = 0, .action = action, .reply = std::move(reply), .hop = "smarthost", .expired = expired};
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// --- the routing rule ---------------------------------------------------------------------

TEST(Notices, OwnDomainsGoInboundEveryoneElseOutbound) {
  const conf::Config c = config_with({"example.com", "*.example.org"});
  struct Case {
    const char* recipient;
    conf::Direction want;
  };
  const Case cases[] = {
      {"postmaster@example.com", conf::Direction::inbound},
      {"Admin@EXAMPLE.COM", conf::Direction::inbound},
      {"ops@it.example.org", conf::Direction::inbound},
      {"ops@example.org", conf::Direction::outbound},  // "*.x" is subdomains only
      {"ops@example.com.evil.test", conf::Direction::outbound},
      {"ops@alerts.test", conf::Direction::outbound},
      {"no-domain", conf::Direction::outbound},
  };
  for (const auto& [recipient, want] : cases)
    EXPECT_EQ(relay::direction_to(c, recipient), want) << recipient;
}

// --- notices to a sender -------------------------------------------------------------------

TEST(Notices, SenderNoticesByKindAndSenderDomain) {
  struct Case {
    const char* name;
    std::string sender;
    std::vector<RecipientNews> news;
    bool queued;
    DsnAction action;
    conf::Direction direction;
    const char* subject;
    const char* status;
    const char* rcpt_parameters = "";
  };
  const std::vector<Case> cases = {
      {"bounce to an internal sender", "carol@example.com", {news(DsnAction::failed)}, true, DsnAction::failed,
       conf::Direction::inbound, "Subject: Undelivered Mail Returned to Sender", "Status: 5.1.1"},
      {"bounce to an external sender", "dave@partner.example", {news(DsnAction::failed)}, true, DsnAction::failed,
       conf::Direction::outbound, "Subject: Undelivered Mail Returned to Sender", "Status: 5.1.1"},
      {"expiry without a reply", "carol@example.com", {news(DsnAction::failed, "", true)}, true, DsnAction::failed,
       conf::Direction::inbound, "Subject: Undelivered Mail Returned to Sender", "Status: 4.4.7"},
      {"delay notice", "carol@example.com", {news(DsnAction::delayed, "451 4.4.1 try later")}, true,
       DsnAction::delayed, conf::Direction::inbound, "Subject: Delayed Mail", "Action: delayed"},
      {"delay to an external sender", "dave@partner.example", {news(DsnAction::delayed, "451 4.4.1 later")}, true,
       DsnAction::delayed, conf::Direction::outbound, "Subject: Delayed Mail", "Status: 4.4.1"},
      {"relayed notice", "carol@example.com", {news(DsnAction::relayed, "250 ok")}, true, DsnAction::relayed,
       conf::Direction::inbound, "Subject: Relayed Mail Delivery Report", "Status: 2.0.0", "NOTIFY=SUCCESS"},
      {"a failure outranks a delay", "carol@example.com",
       {news(DsnAction::delayed, "451 later"), news(DsnAction::failed)}, true, DsnAction::failed,
       conf::Direction::inbound, "Subject: Undelivered Mail Returned to Sender", "Action: failed"},
      {"null sender: no bounce", "", {news(DsnAction::failed)}, false, DsnAction::failed, {}, nullptr, nullptr},
      {"null sender: no delay notice", "", {news(DsnAction::delayed)}, false, DsnAction::delayed, {}, nullptr, nullptr},
      {"null sender written <>", "<>", {news(DsnAction::failed)}, false, DsnAction::failed, {}, nullptr, nullptr},
      {"no news", "carol@example.com", {}, false, DsnAction::failed, {}, nullptr, nullptr},
  };
  const conf::Config c = config_with({"example.com"});
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const auto original = original_from(tc.sender, tc.rcpt_parameters);
    const auto notice = relay::sender_notice(c, original, tc.news, now_ms, "tok1");
    ASSERT_EQ(notice.message.has_value(), tc.queued);
    if (!tc.queued) continue;
    const queue::NewMessage& m = *notice.message;
    EXPECT_EQ(notice.action, tc.action);
    EXPECT_EQ(m.direction, tc.direction);
    EXPECT_EQ(m.sender, "") << "a report is sent from the null sender";
    EXPECT_EQ(m.recipients, std::vector<std::string>{tc.sender});
    EXPECT_EQ(m.listener, "bounce");
    EXPECT_EQ(m.received_at, now_ms);
    EXPECT_TRUE(contains(m.body, tc.subject)) << m.body;
    EXPECT_TRUE(contains(m.body, tc.status)) << m.body;
    EXPECT_TRUE(contains(m.body, "From: Mail Delivery System <MAILER-DAEMON@relay.test>\r\n")) << m.body;
    EXPECT_TRUE(contains(m.body, "Message-ID: <dsn.tok1@relay.test>\r\n"));
    EXPECT_TRUE(contains(m.body, "boundary=\"=_hubrelay_tok1\""));
    EXPECT_TRUE(contains(m.body, "Original-Envelope-Id: abc+def\r\n"));
    EXPECT_TRUE(contains(m.body, "Final-Recipient: rfc822; x@remote.example\r\n"));
    EXPECT_TRUE(contains(m.body, "Remote-MTA: dns; smarthost.example\r\n"));
    EXPECT_FALSE(contains(m.body, "SECRET-BODY")) << "headers only without RET=FULL";
  }
}

TEST(Notices, NullSenderFailuresAreCountedNotSent) {
  const conf::Config c = config_with({"example.com"});
  const std::vector<RecipientNews> failed = {news(DsnAction::failed)};
  const auto dropped = relay::sender_notice(c, original_from(""), failed, now_ms, "t");
  EXPECT_FALSE(dropped.message);
  EXPECT_EQ(dropped.unreported_failures, 1u);
  const std::vector<RecipientNews> delayed = {news(DsnAction::delayed)};
  EXPECT_EQ(relay::sender_notice(c, original_from(""), delayed, now_ms, "t").unreported_failures, 0u);
}

TEST(Notices, ReportOnARequireTlsMessageIsSentWithRequireTls) {
  const conf::Config c = config_with({"example.com"});
  const std::vector<RecipientNews> failed = {news(DsnAction::failed, "550 5.7.30 REQUIRETLS support required: x")};
  auto original = original_from("a@example.com");
  EXPECT_EQ(relay::sender_notice(c, original, failed, now_ms, "t").message->mail_parameters, "");
  original.mail_parameters = "ENVID=abc REQUIRETLS";
  const auto notice = relay::sender_notice(c, original, failed, now_ms, "t");
  ASSERT_TRUE(notice.message);
  EXPECT_EQ(notice.message->mail_parameters, "REQUIRETLS");
  EXPECT_EQ(notice.message->sender, "");
}

TEST(Notices, RecipientNotifyDecides) {
  struct Case {
    const char* parameters;
    DsnAction action;
    bool sent;
  };
  const Case cases[] = {
      {"", DsnAction::failed, true},          {"", DsnAction::delayed, true},
      {"NOTIFY=NEVER", DsnAction::failed, false}, {"NOTIFY=SUCCESS", DsnAction::failed, false},
      {"NOTIFY=SUCCESS", DsnAction::relayed, true}, {"NOTIFY=FAILURE", DsnAction::delayed, false},
  };
  const conf::Config c = config_with({"example.com"});
  for (const auto& [parameters, action, sent] : cases) {
    const std::vector<RecipientNews> items = {news(action)};
    EXPECT_EQ(relay::sender_notice(c, original_from("carol@example.com", parameters), items, now_ms, "t")
                  .message.has_value(),
              sent)
        << parameters;
  }
}

TEST(Notices, ConfiguredBounceSenderAndText) {
  conf::Config c = config_with({"example.com"});
  c.bounce.from = "postmaster@example.com";
  c.bounce.text = "Ask the help desk.";
  const std::vector<RecipientNews> items = {news(DsnAction::failed)};
  const auto notice = relay::sender_notice(c, original_from("carol@example.com"), items, now_ms, "t");
  ASSERT_TRUE(notice.message);
  EXPECT_TRUE(contains(notice.message->body, "From: Mail Delivery System <postmaster@example.com>\r\n"));
  EXPECT_TRUE(contains(notice.message->body, "Ask the help desk.\r\n"));
}

// --- health alerts ---------------------------------------------------------------------------

TEST(Notices, AlertSaysWhatChangedFromWhatToWhatWhyAndWhen) {
  const conf::Config c = config_with({"example.com"}, {"ops@alerts.test"});
  const auto alerts = relay::alert_notices(c, test_support::path_down_event(), now_ms, "x1");
  ASSERT_EQ(alerts.size(), 1u);
  const std::string& m = alerts[0].body;
  EXPECT_TRUE(contains(m, "Subject: [hubrelay relay.test] path site-a-internet UP -> DOWN"));
  EXPECT_TRUE(contains(m, "Date: Mon, 23 Nov 2026 05:34:53 +0000\r\n")) << m;
  EXPECT_TRUE(contains(m, "Message-ID: <hubrelay-alert-x1@relay.test>\r\n"));
  EXPECT_TRUE(contains(m, "from UP to DOWN at 2026-11-23T05:34:53Z"));
  EXPECT_TRUE(contains(m, "FAIL   5000 ms  tcp 192.0.2.2:443: timed out")) << m;
  EXPECT_TRUE(contains(m, "Hops depending on it: dmz-a."));
  EXPECT_FALSE(contains(m, "\n\n")) << "bare LF in the message";
  EXPECT_EQ(alerts[0].sender, "hubrelay@relay.test");
  EXPECT_EQ(alerts[0].listener, "health-alert");
  EXPECT_EQ(alerts[0].received_at, now_ms);
}

TEST(Notices, AlertRecipientsSplitByDirection) {
  struct Case {
    const char* name;
    std::vector<std::string> to;
    std::vector<std::string> inbound;   // recipients of the inbound message ({} = none)
    std::vector<std::string> outbound;  // recipients of the outbound message ({} = none)
  };
  const std::vector<Case> cases = {
      {"internal admin", {"postmaster@example.com"}, {"postmaster@example.com"}, {}},
      {"external admin", {"ops@alerts.test"}, {}, {"ops@alerts.test"}},
      {"both", {"ops@alerts.test", "postmaster@example.com", "noc@it.example.org"},
       {"postmaster@example.com", "noc@it.example.org"}, {"ops@alerts.test"}},
      {"null recipient gets nothing", {"", "<>", "postmaster@example.com"}, {"postmaster@example.com"}, {}},
      {"nobody", {}, {}, {}},
  };
  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    const conf::Config c = config_with({"example.com", "*.example.org"}, tc.to);
    const auto alerts = relay::alert_notices(c, test_support::path_down_event(), now_ms, "x1");
    std::vector<std::string> inbound, outbound;
    for (const auto& m : alerts) {
      auto& into = m.direction == conf::Direction::inbound ? inbound : outbound;
      EXPECT_TRUE(into.empty()) << "two messages for one direction";
      into = m.recipients;
    }
    EXPECT_EQ(inbound, tc.inbound);
    EXPECT_EQ(outbound, tc.outbound);
    if (alerts.size() == 2) {
      EXPECT_EQ(alerts[0].direction, conf::Direction::inbound) << "inbound first";
      EXPECT_EQ(alerts[0].body, alerts[1].body) << "one alert, split by envelope only";
    }
  }
}

TEST(Notices, AlertFromDefaultsToTheRelayHost) {
  conf::Config c = config_with({"example.com"}, {"postmaster@example.com"});
  c.alerts.from.clear();
  const auto alerts = relay::alert_notices(c, test_support::path_down_event(), now_ms, "x1");
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].sender, "hubrelay@relay.test");
  EXPECT_TRUE(contains(alerts[0].body, "From: hubrelay <hubrelay@relay.test>\r\n"));
}

}  // namespace
