// tests/relay/server/decision_log_test.cpp — the decision log line built from a PolicyEvent:
// field order, the reply's code and enhanced status, absent parts left out, and
// client-chosen text made log-safe.
#include <gtest/gtest.h>

#include <string>

#include "relay/server/decision_log.hpp"

namespace {

using relay::PolicyEvent;
using relay::PolicyStage;
using relay::ReplyId;

TEST(DecisionLog, RcptRefusalNamesReplyHeloSenderAndRecipient) {
  PolicyEvent event{.stage = PolicyStage::rcpt,
                    .decision = policy::Decision::reject(policy::Reason::relay_denied),
                    .reply = ReplyId::relay_denied,
                    .helo = "client.test",
                    .sender = "alice@example.net",
                    .recipient = "victim@elsewhere.example"};
  EXPECT_EQ(relay::decision_log_line("1f", "inbound", "127.0.0.1", event),
            "session=1f listener=inbound client=127.0.0.1 stage=rcpt decision=reject reason=relay_denied code=550 "
            "status=5.7.1 helo=client.test from=<alice@example.net> to=<victim@elsewhere.example>");
}

TEST(DecisionLog, AbsentPartsAreLeftOut) {
  PolicyEvent event{.stage = PolicyStage::connect,
                    .decision = policy::Decision::reject(policy::Reason::client_not_allowed)};
  EXPECT_EQ(relay::decision_log_line("2", "outbound", "::1", event),
            "session=2 listener=outbound client=::1 stage=connect decision=reject reason=client_not_allowed");
  event.reply = ReplyId::banner;  // no enhanced status: no status=
  EXPECT_EQ(relay::decision_log_line("2", "outbound", "::1", event),
            "session=2 listener=outbound client=::1 stage=connect decision=reject reason=client_not_allowed code=220");
}

TEST(DecisionLog, NullSenderAndClientTextMadeSafe) {
  PolicyEvent event{.stage = PolicyStage::rcpt,
                    .decision = policy::Decision::reject(policy::Reason::relay_denied),
                    .helo = "evil\r\nsession=forged",
                    .sender = "",
                    .recipient = std::string_view("a\x7f\x01@b\xc3\xa9")};
  EXPECT_EQ(relay::decision_log_line("3", "in", "127.0.0.1", event),
            "session=3 listener=in client=127.0.0.1 stage=rcpt decision=reject reason=relay_denied "
            "helo=evil??session=forged from=<> to=<a??@b\xc3\xa9>");
  const std::string long_address(1000, 'x');
  event.recipient = long_address;
  EXPECT_LT(relay::decision_log_line("3", "in", "127.0.0.1", event).size(), 500u);
}

}  // namespace
