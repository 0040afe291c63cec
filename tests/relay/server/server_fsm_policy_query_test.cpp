// tests/relay/server/server_fsm_policy_query_test.cpp — the asynchronous "ask" effect of the
// server FSM: DNSBL at connect and at RCPT, recipient verification, the content filters'
// envelope stages (connect, HELO, MAIL, RCPT), pipelined commands waiting behind a
// question, answers mapped to replies, exemptions.
//
// The test plays the driver: it feeds bytes, and whenever the FSM stops in
// checking_policy it records the question and hands over the next scripted answer.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <string>
#include <vector>

#include "relay/server/server_fsm.hpp"
#include "tests/support/fsm_driver.hpp"
#include "tests/support/fsm_fixture.hpp"

namespace {

using relay::PolicyAnswer;
using relay::PolicyQuery;
using relay::PolicyQueryKind;
using relay::ServerFsm;
using relay::ServerState;
using namespace std::chrono;
using policy::Decision;
using policy::Reason;

relay::ServerSettings settings(bool dnsbl, bool at_connect, bool verify) {
  relay::ServerSettings s;
  s.hostname = "mx.test";
  s.max_errors = 5;
  s.dnsbl = dnsbl;
  s.dnsbl_at_connect = at_connect;
  s.verify_recipients = verify;
  return s;
}

PolicyAnswer accept() { return PolicyAnswer{}; }
PolicyAnswer listed(std::string zone) { return PolicyAnswer{Decision::reject(Reason::dnsbl_listed), std::move(zone), {}}; }
PolicyAnswer tagged(std::string header) { return PolicyAnswer{Decision::accept(), {}, std::move(header)}; }
PolicyAnswer unknown() { return PolicyAnswer{Decision::reject(Reason::recipient_unknown), {}, {}}; }
PolicyAnswer unverified() { return PolicyAnswer{Decision::defer(Reason::recipient_unverified), {}, {}}; }

class Driver {
 public:
  Driver(relay::ServerSettings s, const char* ip, std::deque<PolicyAnswer> answers)
      : policy_(test_support::example_policy()),
        fsm_(s, policy_, test_support::peer_at(ip), "s1"),
        driver_(fsm_),
        answers_(std::move(answers)) {
    driver_.auto_commit = relay::CommitStatus::committed;
    driver_.queue_id = [](std::size_t) { return std::string("Q1"); };
    driver_.on_query = [this](const PolicyQuery& query) { return answer(query); };
    out_ += driver_.start();
  }

  /// Feeds `bytes` as one pipelined write; answers every question from the script.
  void send(std::string_view bytes) { out_ += driver_.send(bytes, test_support::Feed::by_line); }

  std::vector<std::string> replies() { return test_support::reply_lines(out_); }
  const std::vector<PolicyQuery>& queries() const { return queries_; }
  ServerFsm& fsm() { return fsm_; }
  const std::string& body() const {
    static const std::string none;
    return driver_.committed().empty() ? none : driver_.committed().back().body;
  }
  bool answers_used() const { return answers_.empty(); }
  std::uint64_t open_bodies() const { return fsm_.open_body(); }
  std::vector<std::string> recipients() const {
    return driver_.committed().empty() ? std::vector<std::string>{} : driver_.committed().back().recipients;
  }

 private:
  // The next scripted answer; checks that nothing is consumed while a question is open.
  PolicyAnswer answer(const PolicyQuery& query) {
    queries_.push_back(query);
    std::string none;
    EXPECT_EQ(fsm_.consume("NOOP\r\n", system_clock::time_point{}, none), 0u);  // pipelined input waits
    EXPECT_TRUE(none.empty());
    if (answers_.empty()) {
      ADD_FAILURE() << "unscripted question";
      return PolicyAnswer{};
    }
    PolicyAnswer a = std::move(answers_.front());
    answers_.pop_front();
    return a;
  }

  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
  test_support::FsmDriver driver_;
  std::deque<PolicyAnswer> answers_;
  std::vector<PolicyQuery> queries_;
  std::string out_;
};

std::vector<int> codes(const std::vector<std::string>& replies) {
  std::vector<int> out;
  for (const auto& r : replies)
    if (r.size() >= 4 && r[3] == ' ') out.push_back(std::stoi(r.substr(0, 3)));
  return out;
}

TEST(FsmPolicyQuery, DnsblAtConnectRejectsBeforeBanner) {
  Driver d(settings(true, true, false), "198.51.100.7", {listed("zen.example.org")});
  ASSERT_EQ(d.queries().size(), 1u);
  EXPECT_EQ(d.queries()[0].kind, PolicyQueryKind::dnsbl);
  EXPECT_EQ(d.queries()[0].client_text, "198.51.100.7");
  EXPECT_TRUE(d.fsm().closed());
  EXPECT_EQ(d.replies(), std::vector<std::string>{
                             "554 5.7.1 Service unavailable; client [198.51.100.7] blocked using zen.example.org"});
}

TEST(FsmPolicyQuery, DnsblReasonIsAppendedToTheRefusal) {
  PolicyAnswer answer = listed("zen.example.org");
  answer.reason = "see https://zen.example.org/lookup";
  Driver at_connect(settings(true, true, false), "198.51.100.7", {answer});
  EXPECT_EQ(at_connect.replies(),
            std::vector<std::string>{"554 5.7.1 Service unavailable; client [198.51.100.7] blocked using "
                                     "zen.example.org; see https://zen.example.org/lookup"});
  Driver at_rcpt(settings(true, false, false), "198.51.100.7", {answer});
  at_rcpt.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_EQ(at_rcpt.replies().back(), at_connect.replies().front());
}

TEST(FsmPolicyQuery, DnsblAtConnectPassSendsBanner) {
  Driver d(settings(true, true, false), "198.51.100.7", {accept()});
  EXPECT_EQ(d.fsm().state(), ServerState::awaiting_helo);
  EXPECT_EQ(d.replies(), std::vector<std::string>{"220 mx.test ESMTP"});
  // Not asked again at RCPT.
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_EQ(d.queries().size(), 1u);
  EXPECT_EQ(codes(d.replies()).back(), 250);
}

TEST(FsmPolicyQuery, TrustedClientIsNeverAsked) {
  Driver d(settings(true, true, true), "192.0.2.5", {});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\n");
  EXPECT_TRUE(d.queries().empty());
  EXPECT_EQ(codes(d.replies()), (std::vector<int>{220, 250, 250, 250, 250}));
}

TEST(FsmPolicyQuery, DnsblAtRcptListedRefusesEveryRcptAskingOnce) {
  Driver d(settings(true, false, true), "198.51.100.7", {listed("bl.test")});
  // One pipelined write: the second RCPT and DATA wait behind the question.
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n");
  ASSERT_EQ(d.queries().size(), 1u);
  EXPECT_EQ(d.queries()[0].kind, PolicyQueryKind::dnsbl);
  EXPECT_EQ(d.queries()[0].recipient, "bob@example.com");
  const auto r = d.replies();
  EXPECT_EQ(codes(r), (std::vector<int>{220, 250, 250, 554, 554, 554}));
  EXPECT_EQ(r[r.size() - 3], "554 5.7.1 Service unavailable; client [198.51.100.7] blocked using bl.test");
  EXPECT_EQ(r[r.size() - 2], r[r.size() - 3]);
  EXPECT_EQ(r.back(), "554 5.5.1 Error: no valid recipients");
  EXPECT_EQ(d.fsm().errors(), 3u);  // two DNSBL refusals and DATA count towards max_errors
}

TEST(FsmPolicyQuery, DnsblPassThenRecipientVerificationInOrder) {
  Driver d(settings(true, false, true), "198.51.100.7",
           {accept(), accept(), unknown(), unverified(), accept()});
  d.send(
      "EHLO c\r\nMAIL FROM:<a@b.example>\r\n"
      "RCPT TO:<bob@example.com>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<later@example.com>\r\n"
      "RCPT TO:<x@elsewhere.example>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\nQUIT\r\n");
  ASSERT_EQ(d.queries().size(), 5u);
  EXPECT_EQ(d.queries()[0].kind, PolicyQueryKind::dnsbl);
  const std::vector<std::string> asked{"bob@example.com", "nobody@example.com", "later@example.com", "carol@example.com"};
  for (std::size_t i = 0; i < asked.size(); ++i) {
    EXPECT_EQ(d.queries()[i + 1].kind, PolicyQueryKind::recipient);
    EXPECT_EQ(d.queries()[i + 1].recipient, asked[i]);
    EXPECT_EQ(d.queries()[i + 1].sender, "a@b.example");
  }
  const auto r = d.replies();
  // relay_denied for the foreign domain is decided synchronously, never asked about.
  EXPECT_EQ(codes(r), (std::vector<int>{220, 250, 250, 250, 550, 451, 550, 250, 354, 250, 221}));
  EXPECT_NE(std::ranges::find(r, "550 5.1.1 Recipient address rejected: user unknown"), r.end());
  EXPECT_NE(std::ranges::find(r, "451 4.4.3 Recipient address verification failed, try again later"), r.end());
  EXPECT_TRUE(d.answers_used());
}

TEST(FsmPolicyQuery, TagHeaderFollowsReceived) {
  Driver d(settings(true, false, false), "198.51.100.7", {tagged("X-Hubrelay-DNSBL: bl.test=127.0.0.2\r\n")});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: t\r\n\r\nhi\r\n.\r\n");
  const std::string& body = d.body();
  ASSERT_TRUE(body.starts_with("Received: ")) << body;
  const auto tag = body.find("\r\nX-Hubrelay-DNSBL: bl.test=127.0.0.2\r\nSubject: t\r\n");
  ASSERT_NE(tag, std::string::npos) << body;
  // Only our Received: (possibly folded) comes before it.
  for (const auto& line : test_support::reply_lines(body.substr(0, tag + 2))) {
    EXPECT_TRUE(line.starts_with("Received: ") || line.starts_with(" ") || line.starts_with("\t")) << line;
  }
  EXPECT_EQ(body.find("Received: ", 1), std::string::npos);
  // A second message in the session is tagged too, without asking again.
  d.send("MAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: u\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(d.queries().size(), 1u);
  EXPECT_NE(d.body().find("\r\nX-Hubrelay-DNSBL: bl.test=127.0.0.2\r\nSubject: u\r\n"), std::string::npos);
}

TEST(FsmPolicyQuery, UnknownRecipientsCountTowardsMaxErrors) {
  std::deque<PolicyAnswer> script(5, unknown());
  Driver d(settings(false, false, true), "198.51.100.7", script);
  std::string cmds = "EHLO c\r\nMAIL FROM:<a@b.example>\r\n";
  for (int i = 0; i < 5; ++i) cmds += "RCPT TO:<u" + std::to_string(i) + "@example.com>\r\n";
  d.send(cmds);
  EXPECT_TRUE(d.fsm().closed());
  const auto r = d.replies();
  EXPECT_EQ(codes(r), (std::vector<int>{220, 250, 250, 550, 550, 550, 550, 550, 421}));
}

TEST(FsmPolicyQuery, TimeoutWhileAskingCloses) {
  relay::ServerSettings s = settings(false, false, true);
  policy::ListenerPolicy p = test_support::example_policy();
  ServerFsm fsm(s, p, test_support::peer_at("198.51.100.7"), "s2");
  std::string out;
  fsm.start(out);
  fsm.consume("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n", system_clock::time_point{}, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.timed_out(out);
  EXPECT_TRUE(fsm.closed());
  const std::size_t before = out.size();
  fsm.policy_answered(PolicyAnswer{}, out);  // a late answer is ignored
  EXPECT_EQ(out.size(), before);
}

// Each RCPT and the connection yield exactly one decision for the log and the metrics,
// however many questions were asked on the way: the final one.
TEST(FsmPolicyQuery, OneDecisionPerStageWhateverWasAsked) {
  std::vector<std::pair<relay::PolicyStage, Decision>> seen;
  relay::ServerSettings s = settings(true, true, true);
  policy::ListenerPolicy policy = test_support::example_policy();
  ServerFsm fsm(s, policy, test_support::peer_at("198.51.100.7"), "s2");
  fsm.set_decision_observer([&seen](const relay::PolicyEvent& e) { seen.emplace_back(e.stage, e.decision); });
  std::string out;
  fsm.start(out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  EXPECT_TRUE(seen.empty()) << "the connection is decided by the DNSBL answer, not before it";
  fsm.policy_answered(accept(), out);
  fsm.consume("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n", system_clock::time_point{}, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.policy_answered(unknown(), out);
  fsm.consume("RCPT TO:<carol@example.com>\r\n", system_clock::time_point{}, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.policy_answered(accept(), out);
  ASSERT_EQ(seen.size(), 5u);  // connect, helo, mail, two RCPTs
  EXPECT_EQ(seen[0].first, relay::PolicyStage::connect);
  EXPECT_TRUE(seen[0].second.accepted());
  EXPECT_EQ(seen[3].first, relay::PolicyStage::rcpt);
  EXPECT_EQ(seen[3].second.reason, Reason::recipient_unknown);
  EXPECT_EQ(seen[4].first, relay::PolicyStage::rcpt);
  EXPECT_TRUE(seen[4].second.accepted());
}

// A recipient accepted after a question keeps its own DSN parameters (RFC 3461), and a
// refused one leaves nothing behind for the next.
TEST(FsmPolicyQuery, DsnParametersSurviveTheQuestion) {
  relay::ServerSettings s = settings(false, false, true);
  policy::ListenerPolicy policy = test_support::example_policy();
  ServerFsm fsm(s, policy, test_support::peer_at("198.51.100.7"), "s3");
  std::string out;
  fsm.start(out);
  const auto t = system_clock::time_point{};
  fsm.consume("EHLO c\r\nMAIL FROM:<a@b.example> RET=HDRS\r\nRCPT TO:<nobody@example.com> NOTIFY=NEVER\r\n", t, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.policy_answered(unknown(), out);
  fsm.consume("RCPT TO:<bob@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com\r\n", t, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.policy_answered(accept(), out);
  fsm.consume("RCPT TO:<carol@example.com>\r\n", t, out);
  ASSERT_EQ(fsm.state(), ServerState::checking_policy);
  fsm.policy_answered(accept(), out);
  fsm.consume("DATA\r\n", t, out);  // a client waits for the 354 before the message
  fsm.consume("Subject: t\r\n\r\nhi\r\n.\r\n", t, out);
  ASSERT_EQ(fsm.state(), ServerState::awaiting_commit) << out;
  const relay::Transaction tx = fsm.take_transaction();
  EXPECT_EQ(tx.recipients, (std::vector<std::string>{"bob@example.com", "carol@example.com"}));
  EXPECT_EQ(tx.recipient_parameters,
            (std::vector<std::string>{"NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.com", ""}));
}

// --- Content filters: their envelope stages in step with the dialogue --------------------

relay::ServerSettings with_filters(bool verify = false) {
  relay::ServerSettings s = settings(false, false, verify);
  s.filters = true;
  return s;
}

PolicyAnswer filter_refusal(std::string reply, bool closes = false) {
  PolicyAnswer answer;
  answer.filter_reply = std::move(reply);
  answer.filter_closes = closes;
  return answer;
}

std::vector<PolicyQueryKind> kinds(const std::vector<PolicyQuery>& queries) {
  std::vector<PolicyQueryKind> out;
  for (const auto& q : queries) out.push_back(q.kind);
  return out;
}

TEST(FsmFilterQuery, EachStageIsAskedInStepWithTheDialogue) {
  Driver d(with_filters(), "198.51.100.7", {accept(), accept(), accept(), accept(), accept()});
  EXPECT_EQ(kinds(d.queries()), std::vector<PolicyQueryKind>{PolicyQueryKind::filter_connect});
  d.send("EHLO client.test\r\nMAIL FROM:<a@b.example> SIZE=10\r\nRCPT TO:<bob@example.com>\r\n"
         "RCPT TO:<carol@example.com> NOTIFY=NEVER\r\n");
  using K = PolicyQueryKind;
  EXPECT_EQ(kinds(d.queries()), (std::vector<K>{K::filter_connect, K::filter_helo, K::filter_mail, K::filter_rcpt,
                                                K::filter_rcpt}));
  EXPECT_EQ(d.queries()[1].helo, "client.test");
  EXPECT_EQ(d.queries()[2].sender, "a@b.example");
  EXPECT_EQ(d.queries()[2].parameters, "SIZE=10");
  EXPECT_EQ(d.queries()[4].recipient, "carol@example.com");
  EXPECT_EQ(d.queries()[4].parameters, "NOTIFY=NEVER");
  EXPECT_EQ(codes(d.replies()), (std::vector<int>{220, 250, 250, 250, 250}));
  EXPECT_TRUE(d.answers_used());
}

TEST(FsmFilterQuery, ConnectRefusalAnswersEveryMailAndTheSessionGoesOn) {
  Driver d(with_filters(), "198.51.100.7", {filter_refusal("554 5.7.1 not from here\r\n")});
  EXPECT_EQ(d.fsm().state(), ServerState::awaiting_helo);
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(d.queries().size(), 1u);  // not asked again: neither HELO nor MAIL
  const auto replies = d.replies();
  EXPECT_EQ(codes(replies), (std::vector<int>{220, 250, 554, 503, 554}));
  EXPECT_EQ(replies.back(), "554 5.7.1 not from here");
  EXPECT_EQ(d.fsm().filter_refusal(), "554 5.7.1 not from here\r\n");
  d.send("QUIT\r\n");
  EXPECT_EQ(codes(d.replies()).back(), 221);
}

TEST(FsmFilterQuery, ShutdownAtConnectReplacesTheBanner) {
  Driver d(with_filters(), "198.51.100.7", {filter_refusal("421 4.7.0 mx.test closing\r\n", true)});
  EXPECT_TRUE(d.fsm().closed());
  EXPECT_EQ(d.replies(), std::vector<std::string>{"421 4.7.0 mx.test closing"});
}

TEST(FsmFilterQuery, HeloRefusalIsAnsweredAtMail) {
  Driver d(with_filters(), "198.51.100.7", {accept(), filter_refusal("451 4.7.1 try later\r\n")});
  d.send("HELO c\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(codes(d.replies()), (std::vector<int>{220, 250, 451}));
  EXPECT_EQ(d.queries().size(), 2u);
}

TEST(FsmFilterQuery, MailRefusalStartsNoTransaction) {
  Driver d(with_filters(), "198.51.100.7",
           {accept(), accept(), filter_refusal("451 4.7.1 later\r\n"), accept(), accept()});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(d.fsm().state(), ServerState::ready);
  EXPECT_FALSE(d.fsm().in_transaction());
  d.send("RCPT TO:<bob@example.com>\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n");
  EXPECT_EQ(codes(d.replies()), (std::vector<int>{220, 250, 451, 503, 250, 250}));
  EXPECT_EQ(d.fsm().errors(), 1u);  // the 503 only: a 4xx refusal does not count
}

TEST(FsmFilterQuery, RcptRefusalRefusesOnlyThatRecipient) {
  Driver d(with_filters(), "198.51.100.7",
           {accept(), accept(), accept(), filter_refusal("452-4.2.2 mailbox full\r\n452 4.2.2 try later\r\n"),
            accept(), accept()});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<carol@example.com>\r\nRCPT TO:<bob@example.com>\r\n");
  const auto replies = d.replies();
  EXPECT_NE(std::find(replies.begin(), replies.end(), "452-4.2.2 mailbox full"), replies.end());
  EXPECT_EQ(codes(replies), (std::vector<int>{220, 250, 250, 452, 250}));
  d.send("DATA\r\n");
  d.send("Subject: x\r\n\r\nhi\r\n.\r\n");
  EXPECT_EQ(d.recipients(), std::vector<std::string>{"bob@example.com"});
}

TEST(FsmFilterQuery, DataIsAskedAtTheCommandAndARefusalEndsTheTransaction) {
  Driver d(with_filters(), "198.51.100.7",
           {accept(), accept(), accept(), accept(), filter_refusal("554 5.7.1 no content from you\r\n")});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<bob@example.com>\r\n");
  d.send("DATA\r\n");
  EXPECT_EQ(d.queries().back().kind, PolicyQueryKind::filter_data);
  EXPECT_EQ(d.replies().back(), "554 5.7.1 no content from you");
  EXPECT_EQ(d.fsm().state(), ServerState::ready);
  d.send("DATA\r\n");
  EXPECT_EQ(codes(d.replies()).back(), 503);  // no second DATA past the filters
  EXPECT_EQ(d.open_bodies(), 0u);
}

TEST(FsmFilterQuery, RecipientsOurPolicyRefusesAreNotShownToTheFilters) {
  Driver d(with_filters(true), "198.51.100.7", {accept(), accept(), accept(), unknown()});
  d.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<nobody@example.com>\r\nRCPT TO:<x@elsewhere.example>\r\n");
  using K = PolicyQueryKind;
  EXPECT_EQ(kinds(d.queries()), (std::vector<K>{K::filter_connect, K::filter_helo, K::filter_mail, K::recipient}));
  EXPECT_TRUE(d.answers_used());
}

}  // namespace
