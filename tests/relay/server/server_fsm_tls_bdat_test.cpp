// tests/relay/server/server_fsm_tls_bdat_test.cpp — STARTTLS, implicit TLS, BDAT/CHUNKING,
// header-size and early-talker rules of the server FSM.
//
// Drives ServerFsm through tests/support/fsm_driver, the way relay/server/server_session does:
// feed bytes, stop in starting_tls / awaiting_commit, act, continue. The driver's "drop buffered input after
// STARTTLS" half is checked here by what consume() leaves unconsumed; the e2e test
// tests/e2e/test_tls.py checks the bytes that reach the sink.
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
using namespace std::chrono;

const system_clock::time_point fixed_time = sys_days{year{2025} / July / 1} + hours{10};

relay::ServerSettings settings_with(conf::ListenerTls tls) {
  relay::ServerSettings s;
  s.hostname = "mx.test";
  s.listener = "inbound";
  s.max_message_size = 100;
  s.max_recipients = 3;
  s.max_errors = 20;
  s.tls = tls;
  s.max_header_size = 2048;
  return s;
}

class Session {
 public:
  explicit Session(relay::ServerSettings settings)
      : policy_(test_support::example_policy()), fsm_(settings, policy_, peer(), "t1"), driver_(fsm_, fixed_time) {
    driver_.auto_commit = CommitStatus::committed;
    driver_.queue_id = [](std::size_t) { return std::string("Q"); };
    driver_.start();
  }
  static relay::Peer peer() {
    relay::Peer p;
    p.address = "198.51.100.7";
    p.ip = policy::IpAddress::parse(p.address).value_or(policy::IpAddress{});
    return p;
  }
  /// Feeds `bytes`; returns the replies. What the FSM did not consume stays in left().
  std::string send(std::string_view bytes) { return driver_.send(bytes); }
  ServerFsm& fsm() { return fsm_; }
  std::string& left() { return driver_.pending(); }
  std::vector<relay::Transaction>& committed() { return driver_.committed(); }

 private:
  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
  test_support::FsmDriver driver_;
};

// --- STARTTLS ---------------------------------------------------------------------------

TEST(ServerFsmTls, AdvertisedOnlyWhenOfferedAndNotYetActive) {
  struct Case {
    conf::ListenerTls tls;
    bool advertised;
  };
  for (const Case c : {Case{conf::ListenerTls::off, false}, Case{conf::ListenerTls::offered, true},
                       Case{conf::ListenerTls::required, true}, Case{conf::ListenerTls::implicit, false}}) {
    Session s(settings_with(c.tls));
    const auto out = s.send("EHLO c.test\r\n");
    EXPECT_EQ(out.find("STARTTLS") != std::string::npos, c.advertised) << static_cast<int>(c.tls) << out;
    EXPECT_EQ(s.fsm().tls_active(), c.tls == conf::ListenerTls::implicit);
  }
}

TEST(ServerFsmTls, StartTlsStopsConsumingAndLeavesPipelinedPlaintextToBeDropped) {
  Session s(settings_with(conf::ListenerTls::offered));
  s.send("EHLO c.test\r\n");
  // The injected commands after STARTTLS must never be executed by the FSM.
  const auto out = s.send("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
  EXPECT_EQ(test_support::reply_codes(out), (std::vector<int>{220})) << out;
  EXPECT_NE(out.find("220 2.0.0 Ready to start TLS"), std::string::npos);
  EXPECT_EQ(s.fsm().state(), ServerState::starting_tls);
  EXPECT_EQ(s.left(), "MAIL FROM:<evil@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
  std::string more;
  EXPECT_EQ(s.fsm().consume("NOOP\r\n", fixed_time, more), 0u);
  EXPECT_TRUE(more.empty());
  // The driver drops the buffer and reports the handshake.
  s.left().clear();
  s.fsm().tls_started();
  EXPECT_TRUE(s.fsm().tls_active());
  EXPECT_EQ(s.fsm().state(), ServerState::awaiting_helo);
  // Pre-TLS EHLO is forgotten (RFC 3207 §4.2): MAIL now needs a new EHLO.
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test>\r\n")), (std::vector<int>{503}));
  const auto ehlo = s.send("EHLO c.test\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_EQ(test_support::reply_codes(s.send("STARTTLS\r\n")), (std::vector<int>{503}));
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
}

// --- REQUIRETLS (RFC 8689) ----------------------------------------------------------------

TEST(ServerFsmTls, RequireTlsOfferedOnlyOnAnEncryptedSession) {
  Session s(settings_with(conf::ListenerTls::offered));
  const auto clear = s.send("EHLO c.test\r\n");
  EXPECT_EQ(clear.find("REQUIRETLS"), std::string::npos) << clear;
  s.send("STARTTLS\r\n");
  s.left().clear();
  s.fsm().tls_started();
  const auto encrypted = s.send("EHLO c.test\r\n");
  EXPECT_NE(encrypted.find("250 REQUIRETLS\r\n"), std::string::npos) << encrypted;
  Session implicit(settings_with(conf::ListenerTls::implicit));
  EXPECT_NE(implicit.send("EHLO c.test\r\n").find("REQUIRETLS"), std::string::npos);
  Session off(settings_with(conf::ListenerTls::off));
  EXPECT_EQ(off.send("EHLO c.test\r\n").find("REQUIRETLS"), std::string::npos);
}

TEST(ServerFsmTls, RequireTlsParameterNeedsTls) {
  Session clear(settings_with(conf::ListenerTls::offered));
  clear.send("EHLO c.test\r\n");
  const auto refused = clear.send("MAIL FROM:<a@remote.test> REQUIRETLS\r\n");
  EXPECT_NE(refused.find("530 5.7.10 REQUIRETLS needs an encrypted connection"), std::string::npos) << refused;
  EXPECT_EQ(clear.fsm().state(), ServerState::ready);

  Session s(settings_with(conf::ListenerTls::implicit));
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test> REQUIRETLS=YES\r\n")), (std::vector<int>{501}));
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test> REQUIRETLS REQUIRETLS\r\n")),
            (std::vector<int>{501}));
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test> requiretls\r\nRCPT TO:<u@example.com>\r\n"
                                             "DATA\r\n")),
            (std::vector<int>{250, 250, 354}));
  s.send("Subject: x\r\n\r\nhi\r\n.\r\n");
  ASSERT_EQ(s.committed().size(), 1u);
  EXPECT_EQ(s.committed()[0].mail_parameters, "requiretls");  // stored as received
}

TEST(ServerFsmTls, StartTlsDiscardsAPartialCommandLine) {
  Session s(settings_with(conf::ListenerTls::offered));
  s.send("EHLO c.test\r\n");
  s.send("STARTTLS\r\nMAIL FR");
  ASSERT_EQ(s.fsm().state(), ServerState::starting_tls);
  s.left().clear();
  s.fsm().tls_started();
  // Had "MAIL FR" been kept, this would complete a MAIL command.
  EXPECT_EQ(test_support::reply_codes(s.send("OM:<a@remote.test>\r\n")), (std::vector<int>{500}));
}

TEST(ServerFsmTls, SequenceAndSyntax) {
  struct Case {
    conf::ListenerTls tls;
    std::string setup;
    std::string command;
    int want;
    ServerState state;
  };
  using T = conf::ListenerTls;
  using S = ServerState;
  const std::vector<Case> cases = {
      {T::off, "EHLO c.test\r\n", "STARTTLS", 502, S::ready},
      {T::offered, "", "STARTTLS", 503, S::awaiting_helo},
      {T::offered, "EHLO c.test\r\n", "STARTTLS now", 501, S::ready},
      {T::offered, "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n", "STARTTLS", 503, S::in_transaction},
      {T::offered, "HELO c.test\r\n", "STARTTLS", 220, S::starting_tls},
      {T::offered, "EHLO c.test\r\n", "starttls", 220, S::starting_tls},
      {T::implicit, "EHLO c.test\r\n", "STARTTLS", 503, S::ready},
      // tls = required: no mail before TLS.
      {T::required, "EHLO c.test\r\n", "MAIL FROM:<a@remote.test>", 530, S::ready},
      {T::offered, "EHLO c.test\r\n", "MAIL FROM:<a@remote.test>", 250, S::in_transaction},
      {T::implicit, "EHLO c.test\r\n", "MAIL FROM:<a@remote.test>", 250, S::in_transaction},
  };
  for (const auto& c : cases) {
    Session s(settings_with(c.tls));
    s.send(c.setup);
    const auto out = s.send(c.command + "\r\n");
    EXPECT_EQ(test_support::reply_codes(out), std::vector<int>{c.want}) << c.command << " / " << c.setup << ": " << out;
    EXPECT_EQ(s.fsm().state(), c.state) << c.command;
  }
}

TEST(ServerFsmTls, RequiredAcceptsMailAfterHandshakeAndMarksReceived) {
  Session s(settings_with(conf::ListenerTls::required));
  s.send("EHLO c.test\r\nSTARTTLS\r\n");
  s.fsm().tls_started();
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nhi\r\n.\r\n")),
            (std::vector<int>{250, 250, 354, 250}));
  ASSERT_EQ(s.committed().size(), 1u);
  EXPECT_TRUE(s.committed()[0].tls);
  EXPECT_NE(s.committed()[0].body.find("with ESMTPS id t1"), std::string::npos) << s.committed()[0].body;
}

TEST(ServerFsmTls, FailedHandshakeCloses) {
  Session s(settings_with(conf::ListenerTls::offered));
  s.send("EHLO c.test\r\nSTARTTLS\r\n");
  s.fsm().tls_failed();
  EXPECT_TRUE(s.fsm().closed());
}

TEST(ServerFsmTls, EarlyTalkerGets554AndIsClosed) {
  const auto policy = test_support::example_policy();
  ServerFsm fsm(settings_with(conf::ListenerTls::off), policy, Session::peer(), "t1");
  std::string out;
  fsm.early_talker(out);
  EXPECT_EQ(out, "554 5.5.0 Protocol error: input before greeting\r\n");
  EXPECT_TRUE(fsm.closed());
}

// --- BDAT (RFC 3030) --------------------------------------------------------------------

std::string message_of(const relay::Transaction& t) {
  const auto end = t.body.find("\r\n\t");  // skip the folded Received: header
  const auto start = t.body.find("\r\n", t.body.find("; ", end)) + 2;
  return t.body.substr(start);
}

TEST(ServerFsmBdat, ChunksOfMixedSizesMakeOneMessage) {
  Session s(settings_with(conf::ListenerTls::off));
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
  EXPECT_EQ(s.send("BDAT 9\r\nSubject: "), "250 2.0.0 9 octets received\r\n");
  EXPECT_EQ(s.send("BDAT 0\r\n"), "250 2.0.0 0 octets received\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 12 LAST\r\nx\r\n\r\n.body\r\n")), (std::vector<int>{250}));
  ASSERT_EQ(s.committed().size(), 1u);
  EXPECT_TRUE(s.committed()[0].chunked);
  EXPECT_EQ(message_of(s.committed()[0]), "Subject: x\r\n\r\n.body\r\n");  // no dot-unstuffing in BDAT
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
}

TEST(ServerFsmBdat, PipelinedWithCommandsAndSplitAnywhere) {
  const std::string script =
      "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n"
      "BDAT 5\r\nab\r\nc"
      "BDAT 4 LAST\r\nde\r\n"
      "MAIL FROM:<b@remote.test>\r\nRCPT TO:<u@example.com>\r\nBDAT 3 LAST\r\nxyzQUIT\r\n";
  for (std::size_t piece : {script.size(), std::size_t{1}, std::size_t{7}}) {
    Session s(settings_with(conf::ListenerTls::off));
    std::string out;
    for (std::size_t i = 0; i < script.size(); i += piece) out += s.send(script.substr(i, piece));
    EXPECT_EQ(test_support::reply_codes(out), (std::vector<int>{250, 250, 250, 250, 250, 250, 250, 250, 221})) << piece << out;
    ASSERT_EQ(s.committed().size(), 2u);
    EXPECT_EQ(message_of(s.committed()[0]), "ab\r\ncde\r\n");
    EXPECT_EQ(message_of(s.committed()[1]), "xyz\r\n");  // CRLF added: relayed with DATA later
  }
}

TEST(ServerFsmBdat, RefusedChunksAreReadAndDropped) {
  Session s(settings_with(conf::ListenerTls::off));
  s.send("EHLO c.test\r\n");
  // No MAIL: 503, and the 10 octets (which look like a command) are not executed.
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 12\r\nQUIT\r\nQUIT\r\n")), (std::vector<int>{503}));
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
  s.send("MAIL FROM:<a@remote.test>\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 6 LAST\r\nQUIT\r\n")), (std::vector<int>{503}));  // need RCPT
  EXPECT_EQ(s.fsm().state(), ServerState::in_transaction);
  EXPECT_TRUE(s.committed().empty());
}

TEST(ServerFsmBdat, DataAndRcptAfterBdatAreBadSequence) {
  Session s(settings_with(conf::ListenerTls::off));
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nBDAT 2\r\nab");
  EXPECT_EQ(test_support::reply_codes(s.send("DATA\r\n")), (std::vector<int>{503}));
  EXPECT_EQ(test_support::reply_codes(s.send("RCPT TO:<v@example.com>\r\n")), (std::vector<int>{503}));
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 0 LAST\r\n")), (std::vector<int>{250}));
  ASSERT_EQ(s.committed().size(), 1u);
  EXPECT_EQ(s.committed()[0].recipients, std::vector<std::string>{"u@example.com"});
}

TEST(ServerFsmBdat, SizeLimitEnforcedWhileStreaming) {
  Session s(settings_with(conf::ListenerTls::off));  // max_message_size = 100
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 60\r\n" + std::string(60, 'a'))), (std::vector<int>{250}));
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 60\r\n" + std::string(60, 'b'))), (std::vector<int>{552}));
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
  // The transaction is gone: a follow-up chunk is refused and its octets dropped.
  EXPECT_EQ(test_support::reply_codes(s.send("BDAT 6 LAST\r\nNOOP\r\n")), (std::vector<int>{503}));
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
  EXPECT_EQ(test_support::reply_codes(s.send("NOOP\r\n")), (std::vector<int>{250}));
  EXPECT_TRUE(s.committed().empty());
  EXPECT_EQ(s.fsm().messages_refused(), 1u);
}

TEST(ServerFsmBdat, BareLineEndingsNormalizedOrRejected) {
  for (const bool reject : {false, true}) {
    auto settings = settings_with(conf::ListenerTls::off);
    settings.bare_line_endings = reject ? relay::BareLineEndings::reject : relay::BareLineEndings::normalize;
    Session s(settings);
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
    // A CR ends the first chunk; the LF that starts the second completes it (no bare CR).
    s.send("BDAT 3\r\na\nb");
    s.send("BDAT 2\r\nc\r");
    const auto out = s.send("BDAT 4 LAST\r\n\nd\re");
    if (reject) {
      EXPECT_EQ(test_support::reply_codes(out), (std::vector<int>{550})) << out;
      EXPECT_TRUE(s.committed().empty());
    } else {
      EXPECT_EQ(test_support::reply_codes(out), (std::vector<int>{250})) << out;
      ASSERT_EQ(s.committed().size(), 1u);
      EXPECT_EQ(message_of(s.committed()[0]), "a\r\nbc\r\nd\r\ne\r\n");
    }
  }
}

TEST(ServerFsmBdat, Syntax) {
  for (const char* bad : {"BDAT", "BDAT x", "BDAT 1 FIRST", "BDAT -1", "BDAT 1LAST", "BDAT 99999999999999999999999"}) {
    Session s(settings_with(conf::ListenerTls::off));
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
    EXPECT_EQ(test_support::reply_codes(s.send(std::string(bad) + "\r\n")), (std::vector<int>{501})) << bad;
    EXPECT_EQ(s.fsm().state(), ServerState::in_transaction) << bad;
  }
  Session s(settings_with(conf::ListenerTls::off));
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("bdat 1 last\r\nx")), (std::vector<int>{250}));
  EXPECT_EQ(s.committed().size(), 1u);
}

// --- max_header_size ------------------------------------------------------------------

TEST(ServerFsmLimits, HeaderSizeCapInDataAndBdat) {
  std::string big_header;  // 30 lines of 100 octets: over the 2048 cap, every line legal
  for (int i = 0; i < 30; ++i) big_header += "X-Big: " + std::string(91, 'h') + "\r\n";
  auto settings = settings_with(conf::ListenerTls::off);
  settings.max_message_size = 100'000;
  {
    Session s(settings);
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
    EXPECT_EQ(test_support::reply_codes(s.send(big_header + "\r\nbody\r\n.\r\n")), (std::vector<int>{552}));
    // The same octets in the body are fine.
    s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
    EXPECT_EQ(test_support::reply_codes(s.send("Subject: x\r\n\r\n" + big_header + ".\r\n")), (std::vector<int>{250}));
  }
  {
    Session s(settings);
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
    const std::string message = big_header + "\r\nbody\r\n";
    EXPECT_EQ(test_support::reply_codes(s.send("BDAT " + std::to_string(message.size()) + " LAST\r\n" + message)),
              (std::vector<int>{552}));
  }
}

}  // namespace
