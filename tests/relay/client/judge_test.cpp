// tests/relay/client/judge_test.cpp — the judge of a hop's replies, table-driven.
#include "relay/client/judge.hpp"
#include "relay/client/ehlo_capabilities.hpp"

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

// --- the verdict on a whole transcript ---------------------------------------------------

namespace {

using relay::Fate;
using relay::Fault;
using relay::judge;
using relay::Reply;
using relay::StagedReply;
using relay::Transcript;
using relay::Verdict;

Reply reply(int code) {
  Reply r;
  r.code = code;
  r.lines = {"text"};
  return r;
}

// A transaction of `rcpts` RCPT replies; DATA 354 and `final` when given.
Transcript transaction(int mail, std::vector<int> rcpts, std::optional<int> data = 354, std::optional<int> final = 250) {
  Transcript t;
  t.mail = reply(mail);
  for (int code : rcpts) t.rcpt.emplace_back(reply(code));
  if (data) t.data = reply(*data);
  if (final) t.final_reply = reply(*final);
  return t;
}

std::vector<Fate> fates(const Verdict& v) {
  std::vector<Fate> out;
  for (const auto& r : v.recipients) out.push_back(r.fate);
  return out;
}

TEST(Judge, TransactionsRecipientByRecipient) {
  struct Case {
    const char* name;
    Transcript transcript;
    std::vector<Fate> expected;
  };
  const Fate D = Fate::delivered, F = Fate::failed, R = Fate::retry;
  const std::vector<Case> cases = {
      {"all accepted", transaction(250, {250, 251}), {D, D}},
      {"RCPT 550 and 553 permanent, one delivered", transaction(250, {550, 250, 553}), {F, D, F}},
      {"RCPT 450/451/452 transient", transaction(250, {450, 451, 452, 250}), {R, R, R, D}},
      {"RCPT 552 is read as 452 (§4.5.3.1.10)", transaction(250, {552, 250}), {R, D}},
      {"RCPT 5xx to all: no DATA, nothing skipped", transaction(250, {550, 551}, std::nullopt, std::nullopt), {F, F}},
      {"MAIL 550 fails every recipient", transaction(550, {}, std::nullopt, std::nullopt), {F, F}},
      {"MAIL 451 retries every recipient", transaction(451, {}, std::nullopt, std::nullopt), {R, R}},
      {"MAIL 552 is permanent for the message", transaction(552, {}, std::nullopt, std::nullopt), {F}},
      {"DATA 554 fails the accepted recipients only", transaction(250, {250, 450}, 554, std::nullopt), {F, R}},
      {"DATA 451", transaction(250, {250}, 451, std::nullopt), {R}},
      {"DATA 552 permanent", transaction(250, {250}, 552, std::nullopt), {F}},
      {"after DATA 552 is permanent for the message", transaction(250, {250, 250, 550}, 354, 552), {F, F, F}},
      {"after DATA 452 is transient", transaction(250, {250}, 354, 452), {R}},
      {"after DATA 554", transaction(250, {250}, 354, 554), {F}},
      {"BDAT LAST (no DATA reply) 250", transaction(250, {250}, std::nullopt, 250), {D}},
      {"BDAT LAST 552", transaction(250, {250}, std::nullopt, 552), {F}},
      {"RCPT reply missing: not completed", transaction(250, {}, std::nullopt, std::nullopt), {R}},
      {"final reply missing: not completed", transaction(250, {250}, 354, std::nullopt), {R}},
  };
  for (const auto& c : cases) {
    const std::size_t n = c.expected.size();
    const Verdict v = judge(c.transcript, n, true);
    EXPECT_FALSE(v.hop_failed) << c.name;
    EXPECT_EQ(fates(v), c.expected) << c.name;
  }
}

TEST(Judge, DecisiveStageAndReplyText) {
  const Verdict v = judge(transaction(250, {250, 552}, 354, 250), 2, true);
  EXPECT_EQ(v.recipients[0].stage, Stage::dot);
  EXPECT_EQ(v.recipients[1].stage, Stage::rcpt);
  EXPECT_EQ(v.recipients[1].reply, "552 text");
  EXPECT_EQ(v.retry_reply, "552 text");
  EXPECT_TRUE(v.any_delivered());
  const Verdict skipped = judge(transaction(250, {}, std::nullopt, std::nullopt), 1, false);
  EXPECT_EQ(skipped.retry_reply.substr(0, 9), "451 4.5.0");
}

// An attempt that delivered nobody failed, counted by the kind of refusal; one that
// delivered anybody succeeded (hubrelay_hop_failures_total never exceeds attempts).
TEST(Judge, AttemptFailureClassOfATransaction) {
  struct Case {
    const char* name;
    Transcript transcript;
    std::size_t recipients;
    std::string_view failure_class;
  };
  const Case cases[] = {
      {"delivered", transaction(250, {250}), 1, ""},
      {"one of two delivered", transaction(250, {550, 250}), 2, ""},
      {"MAIL 550", transaction(550, {}, std::nullopt, std::nullopt), 1, "reply_5xx"},
      {"MAIL 451", transaction(451, {}, std::nullopt, std::nullopt), 2, "reply_4xx"},
      {"RCPT 450 and 550", transaction(250, {450, 550}, std::nullopt, std::nullopt), 2, "reply_5xx"},
      {"after DATA 452", transaction(250, {250}, 354, 452), 1, "reply_4xx"},
      {"after DATA 554", transaction(250, {250}, 354, 554), 1, "reply_5xx"},
  };
  for (const auto& c : cases) {
    const Verdict v = judge(c.transcript, c.recipients, false);
    EXPECT_FALSE(v.hop_failed) << c.name;
    EXPECT_EQ(v.failure_class, c.failure_class) << c.name;
  }
}

TEST(Judge, ClosingReplyAtEveryStageFailsTheHop) {
  std::vector<Transcript> cases;
  for (Stage stage : {Stage::banner, Stage::ehlo, Stage::starttls, Stage::auth}) {
    Transcript t;
    t.refusal = StagedReply{stage, reply(421)};
    cases.push_back(t);
  }
  cases.push_back(transaction(421, {}, std::nullopt, std::nullopt));
  cases.push_back(transaction(250, {250, 421}, std::nullopt, std::nullopt));
  cases.push_back(transaction(250, {250}, 421, std::nullopt));
  cases.push_back(transaction(250, {250}, 354, 421));
  cases.push_back(transaction(250, {250}, std::nullopt, 421));  // BDAT LAST
  for (const auto& t : cases) {
    for (bool others : {true, false}) {
      const Verdict v = judge(t, 2, others);
      EXPECT_TRUE(v.hop_failed);
      EXPECT_EQ(v.failure_class, "reply_4xx");
      EXPECT_EQ(v.why, "421 text");
      EXPECT_EQ(fates(v), (std::vector<Fate>{Fate::retry, Fate::retry}));
      for (const auto& r : v.recipients) EXPECT_EQ(r.next_hop, others);
    }
  }
}

TEST(Judge, FaultsAtEveryStageFailTheHop) {
  struct Case {
    FaultKind kind;
    Stage stage;
    std::string_view failure_class;
    std::string_view reply_prefix;
  };
  std::vector<Case> cases;
  for (Stage stage : {Stage::connect, Stage::banner, Stage::ehlo, Stage::starttls, Stage::auth}) {
    // A session that never opened is a connect failure, whatever broke it.
    cases.push_back({FaultKind::timeout, stage, "connect", "451 4.4.2"});
    cases.push_back({FaultKind::io_error, stage, "connect", "451 4.4.2"});
  }
  cases.push_back({FaultKind::connect_refused, Stage::connect, "connect", "451 4.4.1"});
  cases.push_back({FaultKind::connect_timeout, Stage::connect, "connect", "451 4.4.1"});
  // TLS is told apart from a connect failure: the handshake or the STARTTLS policy failed.
  cases.push_back({FaultKind::tls_failed, Stage::starttls, "tls", "451 4.7.5"});
  cases.push_back({FaultKind::tls_failed, Stage::auth, "tls", "451 4.7.5"});
  for (Stage stage : {Stage::mail, Stage::rcpt, Stage::data, Stage::dot}) {
    cases.push_back({FaultKind::timeout, stage, "timeout", "451 4.4.2"});
    cases.push_back({FaultKind::io_error, stage, "io", "451 4.4.2"});  // a reset
    cases.push_back({FaultKind::protocol_error, stage, "protocol", "451 4.5.0"});
  }
  for (const auto& c : cases) {
    // Replies before the fault do not matter: the hop failed, every recipient is retried.
    Transcript t = transaction(250, {550, 250}, std::nullopt, std::nullopt);
    t.fault = Fault{c.kind, c.stage, "what broke"};
    for (bool others : {true, false}) {
      const Verdict v = judge(t, 2, others);
      const std::string where = std::string(relay::to_string(c.kind)) + " at " + std::string(relay::to_string(c.stage));
      EXPECT_TRUE(v.hop_failed) << where;
      EXPECT_EQ(v.failure_class, c.failure_class) << where;
      EXPECT_EQ(v.why.substr(0, 9), c.reply_prefix) << where << ": " << v.why;
      EXPECT_NE(v.why.find("what broke"), std::string::npos) << where;
      EXPECT_EQ(fates(v), (std::vector<Fate>{Fate::retry, Fate::retry})) << where;
      EXPECT_EQ(v.recipients[0].next_hop, others) << where;
      EXPECT_EQ(v.recipients[0].stage, c.stage) << where;
    }
  }
}

TEST(Judge, SessionRefusalsFailTheHopWhateverTheCode) {
  struct Case {
    Stage stage;
    int code;
    std::string_view failure_class;
  };
  const std::vector<Case> cases = {
      {Stage::banner, 554, "reply_5xx"},   {Stage::banner, 450, "reply_4xx"}, {Stage::ehlo, 550, "reply_5xx"},
      {Stage::starttls, 454, "reply_4xx"},  // TLS not available (RFC 3207)
      {Stage::starttls, 501, "reply_5xx"},  {Stage::auth, 535, "reply_5xx"},   // bad credentials (RFC 4954)
      {Stage::auth, 454, "reply_4xx"},      {Stage::auth, 534, "reply_5xx"},
  };
  for (const auto& c : cases) {
    Transcript t;
    t.refusal = StagedReply{c.stage, reply(c.code)};
    const Verdict v = judge(t, 1, false);
    EXPECT_TRUE(v.hop_failed) << c.code;
    EXPECT_EQ(v.failure_class, c.failure_class) << c.code;
    EXPECT_EQ(v.recipients.at(0).fate, Fate::retry) << c.code;  // never bounced for our path's fault
    EXPECT_FALSE(v.recipients.at(0).next_hop);
  }
}

TEST(Judge, TransientOnANonFinalHopGoesToTheNextHop) {
  struct Case {
    Transcript transcript;
    bool others;
    bool next_hop;
  };
  const std::vector<Case> cases = {
      {transaction(250, {452}), true, true},   {transaction(250, {452}), false, false},
      {transaction(250, {552}), true, true},   {transaction(250, {552}), false, false},
      {transaction(451, {}, std::nullopt, std::nullopt), true, true},
      {transaction(451, {}, std::nullopt, std::nullopt), false, false},
      {transaction(250, {250}, 354, 451), true, true},
  };
  for (const auto& c : cases) {
    const Verdict v = judge(c.transcript, 1, c.others);
    EXPECT_EQ(v.recipients.at(0).fate, Fate::retry);
    EXPECT_EQ(v.recipients.at(0).next_hop, c.next_hop);
  }
  // Permanent and delivered never move on.
  for (bool others : {true, false}) {
    const Verdict v = judge(transaction(250, {550, 250}), 2, others);
    EXPECT_FALSE(v.recipients[0].next_hop);
    EXPECT_FALSE(v.recipients[1].next_hop);
  }
}

TEST(Judge, CalloutReadsTheRcptReplyLikeADelivery) {
  using policy::CalloutResult;
  struct Case {
    const char* name;
    Transcript transcript;
    CalloutResult result;
  };
  const auto rcpt = [](int code) { return transaction(250, {code}, std::nullopt, std::nullopt); };
  Transcript broken = rcpt(250);
  broken.rcpt.clear();
  broken.fault = Fault{FaultKind::timeout, Stage::rcpt, "timeout while waiting for a reply"};
  Transcript refused;
  refused.refusal = StagedReply{Stage::banner, reply(554)};
  const std::vector<Case> cases = {
      {"250", rcpt(250), CalloutResult::valid},
      {"251", rcpt(251), CalloutResult::valid},
      {"550", rcpt(550), CalloutResult::unknown},
      {"553", rcpt(553), CalloutResult::unknown},
      // A 552 to RCPT is "too many recipients" read as 452 (RFC 5321 §4.5.3.1.10) in
      // delivery, so it says nothing about the mailbox here either: never "user unknown".
      {"552", rcpt(552), CalloutResult::failed},
      {"450", rcpt(450), CalloutResult::failed},
      {"452", rcpt(452), CalloutResult::failed},
      {"421", rcpt(421), CalloutResult::failed},
      {"MAIL refused", transaction(550, {}, std::nullopt, std::nullopt), CalloutResult::failed},
      {"fault", broken, CalloutResult::failed},
      {"session refused", refused, CalloutResult::failed},
  };
  for (const auto& c : cases) EXPECT_EQ(relay::judge_callout(c.transcript), c.result) << c.name;
  // The same reply means the same to a delivery.
  EXPECT_EQ(judge(rcpt(552), 1, false).recipients[0].fate, Fate::retry);
}

TEST(EhloCapabilities, Table) {
  struct Case {
    std::vector<std::string> lines;
    relay::HopCapabilities expected;
  };
  const auto caps = [](auto set) {
    relay::HopCapabilities c;
    c.esmtp = true;
    set(c);
    return c;
  };
  const std::vector<Case> cases = {
      {{"hub.example greets you"}, caps([](auto&) {})},
      {{"hub", "PIPELINING", "8BITMIME", "SIZE 10240000", "DSN", "SMTPUTF8", "CHUNKING", "STARTTLS"},
       caps([](auto& c) {
         c.pipelining = c.eight_bit_mime = c.dsn = c.smtputf8 = c.chunking = c.starttls = true;
         c.max_size = 10240000;
       })},
      // Keywords are case-insensitive (RFC 5321 §2.4); SIZE without a number is no limit.
      {{"hub", "pipelining", "size", "StartTLS", "dsn"},
       caps([](auto& c) { c.pipelining = c.starttls = c.dsn = true; })},
      {{"hub", "AUTH PLAIN LOGIN", "AUTH=LOGIN"},
       caps([](auto& c) { c.auth_mechanisms = {"PLAIN", "LOGIN", "LOGIN"}; })},
      {{"hub", "auth  cram-md5 plain"}, caps([](auto& c) { c.auth_mechanisms = {"CRAM-MD5", "PLAIN"}; })},
      {{"hub", "requiretls"}, caps([](auto& c) { c.requiretls = true; })},
      {{"hub", "REQUIRETLS x"}, caps([](auto&) {})},
      // Only whole keywords count; the greeting line is never a keyword.
      {{"PIPELINING", "PIPELININGX", "STARTTLS now", "XSIZE 5", "ENHANCEDSTATUSCODES"}, caps([](auto&) {})},
  };
  for (const auto& c : cases) {
    Reply ehlo = reply(250);
    ehlo.lines = c.lines;
    EXPECT_EQ(relay::parse_ehlo(ehlo), c.expected) << c.lines.back();
  }
}

}  // namespace
