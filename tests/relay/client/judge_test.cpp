// tests/relay/client/outcome_test.cpp — the failure classifier, table-driven.
#include "relay/client/judge.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using relay::Action;
using relay::FaultKind;
using relay::Scope;
using relay::Severity;
using relay::Stage;

TEST(Outcome, Replies) {
  struct Case {
    Stage stage;
    int code;
    Scope scope;
    Severity severity;
  };
  const std::vector<Case> cases = {
      {Stage::banner, 421, Scope::hop, Severity::transient},
      {Stage::banner, 554, Scope::hop, Severity::transient},
      {Stage::ehlo, 450, Scope::hop, Severity::transient},
      {Stage::ehlo, 502, Scope::hop, Severity::transient},
      {Stage::starttls, 454, Scope::hop, Severity::transient},
      {Stage::auth, 535, Scope::hop, Severity::transient},
      {Stage::mail, 451, Scope::message, Severity::transient},
      {Stage::mail, 452, Scope::message, Severity::transient},
      {Stage::mail, 550, Scope::message, Severity::permanent},
      {Stage::mail, 552, Scope::message, Severity::permanent},
      {Stage::mail, 421, Scope::hop, Severity::transient},
      {Stage::rcpt, 450, Scope::recipient, Severity::transient},
      {Stage::rcpt, 452, Scope::recipient, Severity::transient},
      {Stage::rcpt, 550, Scope::recipient, Severity::permanent},
      {Stage::rcpt, 553, Scope::recipient, Severity::permanent},
      {Stage::rcpt, 552, Scope::recipient, Severity::transient},  // RFC 5321 §4.5.3.1.10
      {Stage::rcpt, 421, Scope::hop, Severity::transient},
      {Stage::data, 451, Scope::message, Severity::transient},
      {Stage::data, 554, Scope::message, Severity::permanent},
      {Stage::data, 421, Scope::hop, Severity::transient},
      {Stage::dot, 452, Scope::message, Severity::transient},
      {Stage::dot, 552, Scope::message, Severity::permanent},
      {Stage::dot, 554, Scope::message, Severity::permanent},
      {Stage::dot, 421, Scope::hop, Severity::transient},
      // Not a failure code where one was expected: a protocol error, charged to the hop.
      {Stage::mail, 354, Scope::hop, Severity::transient},
      {Stage::dot, 250, Scope::hop, Severity::transient},
      {Stage::rcpt, 600, Scope::hop, Severity::transient},
  };
  for (const auto& c : cases) {
    const auto got = relay::classify_reply(c.stage, c.code);
    EXPECT_EQ(got.scope, c.scope) << relay::to_string(c.stage) << " " << c.code;
    EXPECT_EQ(got.severity, c.severity) << relay::to_string(c.stage) << " " << c.code;
    EXPECT_EQ(got.hop_failed(), c.scope == Scope::hop);
  }
}

TEST(Outcome, FaultsAreHopTransient) {
  for (FaultKind f : {FaultKind::connect_refused, FaultKind::connect_timeout, FaultKind::io_error, FaultKind::timeout, FaultKind::tls_failed,
                  FaultKind::protocol_error}) {
    const auto got = relay::classify_fault(f);
    EXPECT_EQ(got.scope, Scope::hop) << relay::to_string(f);
    EXPECT_EQ(got.severity, Severity::transient) << relay::to_string(f);
  }
}

TEST(Outcome, ActionDependsOnRemainingHops) {
  struct Case {
    Stage stage;
    int code;
    bool other_hops;
    Action action;
  };
  const std::vector<Case> cases = {
      {Stage::banner, 421, true, Action::next_hop},
      {Stage::banner, 421, false, Action::retry_later},
      {Stage::banner, 554, false, Action::retry_later},
      {Stage::mail, 451, true, Action::next_hop},
      {Stage::mail, 451, false, Action::retry_later},
      {Stage::mail, 550, true, Action::bounce},
      {Stage::rcpt, 550, false, Action::bounce},
      {Stage::rcpt, 450, false, Action::retry_later},
      {Stage::dot, 554, true, Action::bounce},
  };
  for (const auto& c : cases) {
    const auto got = relay::outcome_of_reply(c.stage, c.code, c.other_hops);
    EXPECT_EQ(got.action, c.action) << relay::to_string(c.stage) << " " << c.code << " hops=" << c.other_hops
                                    << " got " << relay::to_string(got.action);
  }
  EXPECT_EQ(relay::outcome_of_fault(FaultKind::connect_refused, true).action, Action::next_hop);
  EXPECT_EQ(relay::outcome_of_fault(FaultKind::timeout, false).action, Action::retry_later);
  EXPECT_TRUE(relay::outcome_of_fault(FaultKind::tls_failed, false).hop_failed());
}

}  // namespace

namespace {

TEST(Outcome, ClassifyParsedReply) {
  relay::Reply reply;
  reply.code = 552;
  EXPECT_EQ(relay::classify(relay::Stage::rcpt, reply), (relay::Classification{Scope::recipient, Severity::transient}));
  EXPECT_EQ(relay::classify(relay::Stage::dot, reply), (relay::Classification{Scope::message, Severity::permanent}));
  EXPECT_EQ(relay::classify(relay::FaultKind::io_error), (relay::Classification{Scope::hop, Severity::transient}));
}

}  // namespace
