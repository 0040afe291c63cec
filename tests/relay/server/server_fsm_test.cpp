// tests/relay/server/server_fsm_test.cpp — scenario tests of the SMTP server session.
//
// A Script drives one ServerFsm through tests/support/fsm_driver (as the Asio driver
// does): start(), feed bytes, commit when the FSM stops in awaiting_commit, feed the rest. Assertions look at the
// reply codes and enhanced codes (as smtpscript does) and at the state.
#include "relay/server/server_fsm.hpp"
#include "tests/support/fsm_driver.hpp"
#include "tests/support/fsm_fixture.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using relay::BareLineEndings;
using relay::CommitStatus;
using relay::ServerFsm;
using relay::ServerState;
using namespace std::chrono;
using namespace std::string_literals;

const system_clock::time_point fixed_time = sys_days{year{2025} / July / 1} + hours{10} + minutes{52} + seconds{37};
constexpr const char* untrusted_ip = "198.51.100.7";
constexpr const char* trusted_ip = "192.0.2.10";

relay::ServerSettings test_settings() {
  relay::ServerSettings s;
  s.hostname = "mx.test";
  s.listener = "inbound";
  s.max_message_size = 10'000;
  s.max_recipients = 3;
  s.max_errors = 5;
  return s;
}

policy::ListenerPolicy make_policy(bool require_trusted = false) {
  conf::PolicyConfig config;
  config.name = "test";
  config.trusted_networks = {"192.0.2.0/24"};
  config.accepted_domains = {"example.com"};
  config.require_trusted = require_trusted;
  return test_support::compile_policy(config);
}

using Code = test_support::ReplyCode;
using test_support::reply_code_pairs;

class Script {
 public:
  explicit Script(relay::ServerSettings settings = test_settings(), const char* ip = untrusted_ip,
                  bool require_trusted = false)
      : policy_(make_policy(require_trusted)), fsm_(settings, policy_, test_support::peer_at(ip, 40000), "s1"), driver_(fsm_, fixed_time) {}

  std::string start() { return driver_.start(); }

  /// Feeds bytes; when the FSM stops for a commit, keeps the rest pending. With
  /// auto_commit set, commits with that status and continues, as the driver does.
  std::string send(std::string_view bytes, test_support::Feed feed = test_support::Feed::by_line) {
    driver_.auto_commit = auto_commit;
    std::string out = driver_.send(bytes, feed);
    EXPECT_FALSE(driver_.stalled()) << "consume() made no progress in state " << relay::to_string(fsm_.state());
    return out;
  }

  std::string commit(CommitStatus status = CommitStatus::committed, std::string_view id = "Q1") {
    EXPECT_EQ(fsm_.state(), ServerState::awaiting_commit);
    driver_.auto_commit = auto_commit;
    return driver_.commit(status, std::string(id));
  }

  ServerFsm& fsm() { return fsm_; }
  ServerState state() const { return fsm_.state(); }
  const std::string& pending() { return driver_.pending(); }
  std::vector<relay::Transaction>& committed() { return driver_.committed(); }
  std::optional<CommitStatus> auto_commit;

 private:
  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
  test_support::FsmDriver driver_;
};

#define EXPECT_CODES(out, ...) EXPECT_EQ(reply_code_pairs(out), (std::vector<Code>{__VA_ARGS__})) << (out)

TEST(ServerFsm, BannerIsTerse) {
  Script s;
  EXPECT_EQ(s.state(), ServerState::greeting);
  EXPECT_EQ(s.start(), "220 mx.test ESMTP\r\n");
  EXPECT_EQ(s.state(), ServerState::awaiting_helo);
}

TEST(ServerFsm, EhloAdvertisesExtensions) {
  Script s;
  s.start();
  EXPECT_EQ(s.send("EHLO client.test\r\n"),
            "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-CHUNKING\r\n"
            "250-DSN\r\n250 SMTPUTF8\r\n");
  EXPECT_EQ(s.state(), ServerState::ready);
  EXPECT_EQ(s.send("HELO client.test\r\n"), "250 mx.test\r\n");
  EXPECT_EQ(s.state(), ServerState::ready);
}

TEST(ServerFsm, CompleteSession) {
  Script s;
  s.start();
  EXPECT_CODES(s.send("EHLO client.test\r\n"), {250, ""});
  EXPECT_CODES(s.send("MAIL FROM:<sender@remote.test> BODY=8BITMIME SIZE=100\r\n"), {250, "2.1.0"});
  EXPECT_EQ(s.state(), ServerState::in_transaction);
  EXPECT_CODES(s.send("RCPT TO:<user@example.com>\r\n"), {250, "2.1.5"});
  EXPECT_CODES(s.send("DATA\r\n"), {354, ""});
  EXPECT_EQ(s.state(), ServerState::receiving_data);
  EXPECT_EQ(s.send("Subject: hi\r\n\r\n..dot\r\ncaf\xc3\xa9\r\n.\r\n"), "");
  EXPECT_EQ(s.state(), ServerState::awaiting_commit);
  EXPECT_EQ(s.commit(CommitStatus::committed, "0A1B"), "250 2.0.0 Ok: queued as 0A1B\r\n");
  EXPECT_EQ(s.state(), ServerState::ready);
  EXPECT_EQ(s.fsm().messages_accepted(), 1u);

  ASSERT_EQ(s.committed().size(), 1u);
  const auto& t = s.committed().front();
  EXPECT_EQ(t.helo, "client.test");
  EXPECT_EQ(t.sender, "sender@remote.test");
  EXPECT_EQ(t.mail_parameters, "BODY=8BITMIME SIZE=100");
  EXPECT_TRUE(t.eight_bit);
  EXPECT_EQ(t.recipients, std::vector<std::string>{"user@example.com"});
  EXPECT_EQ(t.body,
            "Received: from client.test ([198.51.100.7])\r\n"
            "\tby mx.test (hubrelay) with ESMTP id s1\r\n"
            "\tfor <user@example.com>; Tue, 1 Jul 2025 10:52:37 +0000\r\n"
            "Subject: hi\r\n\r\n.dot\r\ncaf\xc3\xa9\r\n");

  EXPECT_CODES(s.send("QUIT\r\n"), {221, "2.0.0"});
  EXPECT_TRUE(s.fsm().closed());
}

// The Received: id is the queue id reserved at MAIL: an administrator holding the header
// runs `hubrelay queue show ID`. Each transaction takes its own; RSET wastes one (a gap).
TEST(ServerFsm, ReceivedNamesTheQueueIdReservedAtMail) {
  Script s;
  std::int64_t next = 0x4D2;
  s.fsm().set_queue_id_source([&next]() -> std::optional<relay::ReservedQueueId> {
    const std::int64_t n = next++;
    std::array<char, 17> text{};
    std::snprintf(text.data(), text.size(), "%010llX", static_cast<unsigned long long>(n));
    return relay::ReservedQueueId{n, text.data()};
  });
  s.start();
  s.send("EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRSET\r\n");
  s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<user@example.com>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(s.state(), ServerState::awaiting_commit);
  s.commit(CommitStatus::committed, "00000004D3");
  ASSERT_EQ(s.committed().size(), 1u);
  const auto& t = s.committed().front();
  EXPECT_EQ(t.queue_id.number, 0x4D3);
  EXPECT_EQ(t.queue_id.text, "00000004D3");
  EXPECT_TRUE(t.body.starts_with("Received: from client.test ([198.51.100.7])\r\n"
                                 "\tby mx.test (hubrelay) with ESMTP id 00000004D3\r\n"))
      << t.body;
}

TEST(ServerFsm, MailWithoutAQueueIdIsDeferred) {
  Script s;
  bool available = false;
  s.fsm().set_queue_id_source([&available]() -> std::optional<relay::ReservedQueueId> {
    if (!available) return std::nullopt;
    return relay::ReservedQueueId{7, "0000000007"};
  });
  s.start();
  s.send("EHLO client.test\r\n");
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test>\r\n"), {451, "4.3.0"});
  EXPECT_EQ(s.state(), ServerState::ready);
  available = true;
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test>\r\n"), {250, "2.1.0"});
}

TEST(ServerFsm, HeloSessionSaysSmtpInReceived) {
  Script s;
  s.start();
  s.send("HELO old.test\r\nMAIL FROM:<>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n");
  ASSERT_EQ(s.state(), ServerState::awaiting_commit);
  s.commit();
  const auto& t = s.committed().front();
  EXPECT_EQ(t.sender, "");
  EXPECT_TRUE(t.body.starts_with("Received: from old.test ([198.51.100.7])\r\n\tby mx.test (hubrelay) with SMTP id s1;\r\n"))
      << t.body;
  EXPECT_TRUE(t.body.ends_with("+0000\r\nx\r\n"));
}

// Every command in every command state: reply and resulting state.
TEST(ServerFsm, CommandStateMatrix) {
  enum class Setup { awaiting_helo, ready, in_transaction, with_recipient };
  const auto prepare = [](Script& s, Setup setup) {
    s.start();
    if (setup != Setup::awaiting_helo) s.send("EHLO c.test\r\n");
    if (setup == Setup::in_transaction || setup == Setup::with_recipient) s.send("MAIL FROM:<a@remote.test>\r\n");
    if (setup == Setup::with_recipient) s.send("RCPT TO:<u@example.com>\r\n");
  };
  struct Case {
    Setup setup;
    std::string command;
    Code want;
    ServerState state;
    std::string text;  // a fragment of the reply
  };
  using S = ServerState;
  const auto A = Setup::awaiting_helo, R = Setup::ready, T = Setup::in_transaction, W = Setup::with_recipient;
  const std::vector<Case> cases = {
      {A, "EHLO c.test", {250, ""}, S::ready, "250 SMTPUTF8"},
      {A, "HELO c.test", {250, ""}, S::ready, "250 mx.test"},
      {A, "MAIL FROM:<a@remote.test>", {503, "5.5.1"}, S::awaiting_helo, "send HELO/EHLO first"},
      {A, "RCPT TO:<u@example.com>", {503, "5.5.1"}, S::awaiting_helo, "need MAIL"},
      {A, "DATA", {503, "5.5.1"}, S::awaiting_helo, "need MAIL"},
      {A, "RSET", {250, "2.0.0"}, S::awaiting_helo, "Ok"},
      {A, "NOOP", {250, "2.0.0"}, S::awaiting_helo, "Ok"},
      {A, "QUIT", {221, "2.0.0"}, S::closed, "Bye"},
      {A, "VRFY someone", {252, "2.5.0"}, S::awaiting_helo, "Cannot VRFY user"},
      {A, "HELP", {214, "2.0.0"}, S::awaiting_helo, "EHLO HELO MAIL"},
      {A, "STARTTLS", {502, "5.5.1"}, S::awaiting_helo, "not implemented"},
      {A, "FOO", {500, "5.5.1"}, S::awaiting_helo, "not recognized"},

      {R, "EHLO c.test", {250, ""}, S::ready, "250-PIPELINING"},
      {R, "HELO c.test", {250, ""}, S::ready, "mx.test"},
      {R, "MAIL FROM:<a@remote.test>", {250, "2.1.0"}, S::in_transaction, ""},
      {R, "MAIL FROM:<>", {250, "2.1.0"}, S::in_transaction, ""},
      {R, "RCPT TO:<u@example.com>", {503, "5.5.1"}, S::ready, "need MAIL"},
      {R, "DATA", {503, "5.5.1"}, S::ready, "need MAIL"},
      {R, "RSET", {250, "2.0.0"}, S::ready, ""},
      {R, "NOOP anything at all", {250, "2.0.0"}, S::ready, ""},
      {R, "QUIT", {221, "2.0.0"}, S::closed, ""},
      {R, "VRFY postmaster", {252, "2.5.0"}, S::ready, ""},
      {R, "HELP MAIL", {214, "2.0.0"}, S::ready, ""},
      {R, "STARTTLS", {502, "5.5.1"}, S::ready, ""},
      {R, "AUTH PLAIN dGVzdA==", {502, "5.5.1"}, S::ready, ""},
      {R, "BDAT 0 LAST", {503, "5.5.1"}, S::ready, "need MAIL"},
      {R, "EXPN staff", {502, "5.5.1"}, S::ready, ""},
      {R, "XYZZY", {500, "5.5.1"}, S::ready, ""},

      {T, "EHLO c.test", {250, ""}, S::ready, ""},  // resets the transaction
      {T, "HELO c.test", {250, ""}, S::ready, ""},
      {T, "MAIL FROM:<b@remote.test>", {503, "5.5.1"}, S::in_transaction, "nested MAIL"},
      {T, "RCPT TO:<u@example.com>", {250, "2.1.5"}, S::in_transaction, ""},
      {T, "RCPT TO:<Postmaster>", {550, "5.7.1"}, S::in_transaction, "Relay access denied"},
      {T, "DATA", {503, "5.5.1"}, S::in_transaction, "need RCPT"},
      {T, "RSET", {250, "2.0.0"}, S::ready, ""},
      {T, "NOOP", {250, "2.0.0"}, S::in_transaction, ""},
      {T, "QUIT", {221, "2.0.0"}, S::closed, ""},
      {T, "VRFY x", {252, "2.5.0"}, S::in_transaction, ""},
      {T, "HELP", {214, "2.0.0"}, S::in_transaction, ""},
      {T, "BDAT 0 LAST", {503, "5.5.1"}, S::in_transaction, "need RCPT"},
      {T, "FOO", {500, "5.5.1"}, S::in_transaction, ""},

      {W, "DATA", {354, ""}, S::receiving_data, "End data with <CR><LF>.<CR><LF>"},
      {W, "RCPT TO:<v@example.com>", {250, "2.1.5"}, S::in_transaction, ""},
      {W, "RCPT TO:<u@example.com>", {250, "2.1.5"}, S::in_transaction, ""},  // duplicate
      {W, "MAIL FROM:<b@remote.test>", {503, "5.5.1"}, S::in_transaction, ""},
      {W, "RSET", {250, "2.0.0"}, S::ready, ""},
      {W, "EHLO c.test", {250, ""}, S::ready, ""},
      {W, "QUIT", {221, "2.0.0"}, S::closed, ""},
  };
  for (const auto& c : cases) {
    Script s;
    prepare(s, c.setup);
    const auto out = s.send(c.command + "\r\n");
    EXPECT_EQ(reply_code_pairs(out), std::vector<Code>{c.want}) << c.command << " in setup " << static_cast<int>(c.setup);
    EXPECT_EQ(s.state(), c.state) << c.command << " in setup " << static_cast<int>(c.setup);
    EXPECT_NE(out.find(c.text), std::string::npos) << c.command << ": " << out;
  }
}

TEST(ServerFsm, ResetForgetsTheTransaction) {
  for (const char* reset : {"RSET\r\n", "EHLO again.test\r\n", "HELO again.test\r\n"}) {
    Script s;
    s.start();
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
    s.send(reset);
    EXPECT_CODES(s.send("RCPT TO:<u@example.com>\r\n"), {503, "5.5.1"});
    EXPECT_CODES(s.send("DATA\r\n"), {503, "5.5.1"});
    EXPECT_CODES(s.send("MAIL FROM:<a@remote.test>\r\n"), {250, "2.1.0"});
  }
}

TEST(ServerFsm, SyntaxErrors) {
  struct Case {
    std::string command;
    Code want;
  };
  const std::vector<Case> cases = {
      {"MAIL", {501, "5.5.4"}},
      {"MAIL FROM:", {501, "5.5.4"}},
      {"MAIL TO:<a@remote.test>", {501, "5.5.4"}},
      {"MAIL FROM:a@remote.test", {501, "5.1.7"}},
      {"MAIL FROM:<a b@remote.test>", {501, "5.1.7"}},
      {"MAIL FROM:<Postmaster>", {501, "5.1.7"}},
      {"MAIL FROM:<j\xc3\xbcrgen@remote.test>", {553, "5.6.7"}},
      {"MAIL FROM:<a@remote.test> FOO=1", {555, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> SMTPUTF8=yes", {501, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> RET=ALL", {501, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> BODY=BINARYMIME", {504, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> BODY=9BIT", {501, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> SIZE=x", {501, "5.5.4"}},
      {"MAIL FROM:<a@remote.test> =", {501, "5.5.4"}},
      {"EHLO", {501, "5.5.4"}},
      {"HELO", {501, "5.5.4"}},
      {"EHLO bad\x01name", {501, "5.5.4"}},
      {"EHLO n\xc3\xa4me", {501, "5.5.4"}},
      {"RSET now", {501, "5.5.4"}},
      {"QUIT now", {501, "5.5.4"}},
      {"VRFY", {501, "5.5.4"}},
      {"", {500, "5.5.1"}},
      {"MAILFROM:<a@remote.test>", {500, "5.5.1"}},
  };
  for (const auto& c : cases) {
    Script s;
    s.start();
    s.send("EHLO c.test\r\n");
    const auto state_before = s.state();
    const auto out = s.send(c.command + "\r\n");
    EXPECT_EQ(reply_code_pairs(out), std::vector<Code>{c.want}) << c.command << ": " << out;
    EXPECT_EQ(s.state(), state_before) << c.command;
    EXPECT_EQ(s.fsm().errors(), 1u) << c.command;
  }
}

TEST(ServerFsm, RcptSyntaxErrors) {
  struct Case {
    std::string command;
    Code want;
  };
  const std::vector<Case> cases = {
      {"RCPT", {501, "5.5.4"}},
      {"RCPT TO:", {501, "5.5.4"}},
      {"RCPT FROM:<u@example.com>", {501, "5.5.4"}},
      {"RCPT TO:<>", {501, "5.1.3"}},
      {"RCPT TO:<u@@example.com>", {501, "5.1.3"}},
      {"RCPT TO:<\xfcser@example.com>", {553, "5.6.7"}},
      {"RCPT TO:<u@example.com> NOTIFY=NEVER,DELAY", {501, "5.5.4"}},
      {"RCPT TO:<u@example.com> X-FOO=1", {555, "5.5.4"}},
      {"RCPT TO:<u@example.com> ===", {501, "5.5.4"}},
  };
  for (const auto& c : cases) {
    Script s;
    s.start();
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n");
    const auto out = s.send(c.command + "\r\n");
    EXPECT_EQ(reply_code_pairs(out), std::vector<Code>{c.want}) << c.command << ": " << out;
    EXPECT_EQ(s.state(), ServerState::in_transaction) << c.command;
    // A refused RCPT counts as tried: DATA now says "no valid recipients".
    EXPECT_CODES(s.send("DATA\r\n"), {554, "5.5.1"});
  }
}

TEST(ServerFsm, CommandLineLimitIs512OctetsWithCrlf) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\n");
  const std::string ok_line = "NOOP " + std::string(505, 'x');  // 510 + CRLF = 512
  ASSERT_EQ(ok_line.size() + 2, 512u);
  EXPECT_CODES(s.send(ok_line + "\r\n"), {250, "2.0.0"});
  EXPECT_CODES(s.send(ok_line + "x\r\n"), {500, "5.5.2"});
  EXPECT_CODES(s.send("NOOP\r\n"), {250, "2.0.0"});

  // Delivered in small pieces, a huge line is discarded without buffering and
  // answered once; the session goes on.
  std::string out;
  for (int i = 0; i < 100; ++i) out += s.send(std::string(97, 'y'));
  out += s.send("\r\nNOOP\r\n");
  EXPECT_CODES(out, {500, "5.5.2"}, {250, "2.0.0"});
  EXPECT_EQ(s.state(), ServerState::ready);
  EXPECT_EQ(s.fsm().errors(), 2u);

  // Split exactly around the CR: 510 octets + CR in one piece, LF in the next.
  out = s.send(ok_line + "\r");
  out += s.send("\n");
  EXPECT_CODES(out, {250, "2.0.0"});
}

TEST(ServerFsm, BareLfEndsACommandLine) {
  Script s;
  s.start();
  EXPECT_CODES(s.send("EHLO c.test\nNOOP\n"), {250, ""}, {250, "2.0.0"});
}

TEST(ServerFsm, RecipientLimit) {
  Script s;
  s.start();
  const auto out = s.send(
      "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n"
      "RCPT TO:<u1@example.com>\r\nRCPT TO:<u2@example.com>\r\nRCPT TO:<u3@example.com>\r\n"
      "RCPT TO:<u4@example.com>\r\nRCPT TO:<u1@example.com>\r\nDATA\r\nbody\r\n.\r\n");
  EXPECT_CODES(out, {250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {250, "2.1.5"}, {250, "2.1.5"}, {452, "4.5.3"},
               {250, "2.1.5"}, {354, ""});
  ASSERT_EQ(s.state(), ServerState::awaiting_commit);
  s.commit();
  EXPECT_EQ(s.committed().front().recipients,
            (std::vector<std::string>{"u1@example.com", "u2@example.com", "u3@example.com"}));
  EXPECT_EQ(s.fsm().errors(), 0u) << "452 is a limit, not a client error";
}

TEST(ServerFsm, DeclaredSizeIsCheckedAtMail) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\n");
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test> SIZE=10001\r\n"), {552, "5.3.4"});
  EXPECT_EQ(s.state(), ServerState::ready);
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test> SIZE=99999999999999999999\r\n"), {552, "5.3.4"});
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test> SIZE=10000\r\n"), {250, "2.1.0"});
}

TEST(ServerFsm, StreamedSizeIsCheckedAtTheEnd) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
  std::string out;
  const std::string line = std::string(98, 'z') + "\r\n";
  for (int i = 0; i < 101; ++i) out += s.send(line);  // 10100 octets > 10000
  EXPECT_EQ(out, "");
  EXPECT_EQ(s.state(), ServerState::receiving_data);
  EXPECT_CODES(s.send(".\r\nNOOP\r\n"), {552, "5.3.4"}, {250, "2.0.0"});
  EXPECT_EQ(s.state(), ServerState::ready);
  EXPECT_TRUE(s.committed().empty());
  EXPECT_EQ(s.fsm().messages_refused(), 1u);
  // The transaction is gone.
  EXPECT_CODES(s.send("RCPT TO:<u@example.com>\r\n"), {503, "5.5.1"});
}

TEST(ServerFsm, TooManyErrorsCloses) {
  Script s;
  s.start();
  const auto out = s.send("FOO\r\nBAR\r\nMAIL FROM:<a@b.test>\r\nBAZ\r\nQUX\r\nNOOP\r\nNOOP\r\n");
  EXPECT_CODES(out, {500, "5.5.1"}, {500, "5.5.1"}, {503, "5.5.1"}, {500, "5.5.1"}, {500, "5.5.1"}, {421, "4.7.0"});
  EXPECT_NE(out.find("421 4.7.0 mx.test "), std::string::npos);
  EXPECT_TRUE(s.fsm().closed());
  EXPECT_EQ(s.pending(), "NOOP\r\nNOOP\r\n") << "nothing after the close is consumed";
}

TEST(ServerFsm, PipelinedTransaction) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\n");
  EXPECT_CODES(s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n"),
               {250, "2.1.0"}, {250, "2.1.5"}, {250, "2.1.5"}, {354, ""});
  EXPECT_EQ(s.state(), ServerState::receiving_data);

  std::string out;
  const std::string rest = "Subject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n";
  const std::size_t used = s.fsm().consume(rest, fixed_time, out);
  EXPECT_EQ(used, rest.size() - 6) << "stops right after the terminator";
  EXPECT_EQ(out, "");
  EXPECT_EQ(s.state(), ServerState::awaiting_commit);
  EXPECT_EQ(s.fsm().consume("QUIT\r\n", fixed_time, out), 0u) << "nothing is consumed while committing";
  auto t = s.fsm().take_transaction();
  EXPECT_EQ(t.recipients.size(), 2u);
  s.fsm().commit_done(CommitStatus::committed, "ID9", out);
  EXPECT_EQ(s.fsm().consume("QUIT\r\n", fixed_time, out), 6u);
  EXPECT_CODES(out, {250, "2.0.0"}, {221, "2.0.0"});
  EXPECT_TRUE(s.fsm().closed());
}

// --- Pipelining: DATA ends a group ----------------------------------------------------

// Banner, EHLO, MAIL and one accepted RCPT: ready for DATA or BDAT.
void open_transaction(Script& s) {
  s.auto_commit = CommitStatus::committed;
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\n");
}

// RFC 2920 §3.1: DATA ends a pipelined group; the client must wait for the 354. Bytes
// already buffered behind the DATA line were sent before it: 554 5.5.0 and close (Postfix
// smtpd_forbid_unauth_pipelining), so neither message nor the commands after it count.
TEST(ServerFsm, MessageSentBeforeThe354IsRefusedAndTheSessionClosed) {
  using test_support::Feed;
  Script s;
  open_transaction(s);
  const auto out = s.send("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", Feed::as_written);
  EXPECT_EQ(out, "554 5.5.0 Error: SMTP protocol synchronization\r\n");
  EXPECT_TRUE(s.fsm().closed());
  EXPECT_TRUE(s.committed().empty());
  EXPECT_EQ(s.pending(), "Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n") << "nothing after DATA is read";
  EXPECT_EQ(s.fsm().last_reply(), relay::ReplyId::pipelining_violation);
}

TEST(ServerFsm, DataSplitAcrossReadsIsStillCaughtWhenDataFollows) {
  Script s;
  open_transaction(s);
  s.send("DA", test_support::Feed::as_written);
  EXPECT_CODES(s.send("TA\r\nx", test_support::Feed::as_written), {554, "5.5.0"});
  EXPECT_TRUE(s.fsm().closed());
}

TEST(ServerFsm, GroupEndingInDataThenTheMessageIsAccepted) {
  using test_support::Feed;
  Script s;
  s.auto_commit = CommitStatus::committed;
  s.start();
  EXPECT_CODES(s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n",
                      Feed::as_written),
               {250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {354, ""});
  // After the 354 the message and the next commands may come in one write.
  EXPECT_CODES(s.send("Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<b@remote.test>\r\nQUIT\r\n", Feed::as_written),
               {250, "2.0.0"}, {250, "2.1.0"}, {221, "2.0.0"});
  EXPECT_EQ(s.committed().size(), 1u);
}

TEST(ServerFsm, RefusedDataWithPipelinedBytesAlsoCloses) {
  // Even a DATA that would be refused (no recipient yet) ends a group: what follows it
  // was meant as message content and must not be read as commands.
  Script s;
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n");
  EXPECT_CODES(s.send("DATA\r\nRCPT TO:<u@example.com>\r\n", test_support::Feed::as_written), {554, "5.5.0"});
  EXPECT_TRUE(s.fsm().closed());
}

TEST(ServerFsm, BdatMayBePipelinedInOneWrite) {
  Script s;
  open_transaction(s);
  EXPECT_CODES(s.send("BDAT 3 LAST\r\nxyzQUIT\r\n", test_support::Feed::as_written), {250, "2.0.0"},
               {221, "2.0.0"});
  EXPECT_EQ(s.committed().size(), 1u);
}

// The strong property: however the client's bytes are split into reads, the FSM
// produces the same replies and the same committed messages.
TEST(ServerFsm, EverySplitPointGivesIdenticalOutput) {
  const std::string session =
      "EHLO c.test\r\nMAIL FROM:<a@remote.test> SIZE=50\r\nRCPT TO:<u@example.com>\r\nRCPT TO:<x@other.test>\r\n"
      "DATA\r\nA: b\r\n\r\n..x\ny\rz\r\n.\r\r\n\xff\r\n.\r\nNOOP\r\nBOGUS\r\n"
      "MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<v@example.com>\r\nDATA\r\n.\r\nRSET\r\nQUIT\r\n";

  const auto run = [&](const std::vector<std::size_t>& cuts) {
    Script s;
    s.auto_commit = CommitStatus::committed;
    std::string out = s.start();
    std::size_t from = 0;
    for (std::size_t cut : cuts) {
      out += s.send(std::string_view(session).substr(from, cut - from));
      from = cut;
    }
    out += s.send(std::string_view(session).substr(from));
    std::string bodies;
    for (const auto& t : s.committed()) bodies += t.sender + "|" + t.body + "|";
    EXPECT_TRUE(s.fsm().closed());
    return std::pair{out, bodies};
  };

  const auto whole = run({});
  EXPECT_CODES(whole.first, {220, ""}, {250, ""}, {250, "2.1.0"}, {250, "2.1.5"}, {550, "5.7.1"}, {354, ""},
               {250, "2.0.0"}, {250, "2.0.0"}, {500, "5.5.1"}, {250, "2.1.0"}, {550, "5.7.1"}, {250, "2.1.5"},
               {354, ""}, {250, "2.0.0"}, {250, "2.0.0"}, {221, "2.0.0"});
  EXPECT_NE(whole.second.find("\r\n.x\r\ny\r\nz\r\n\r\n\r\n\xff\r\n|"), std::string::npos) << whole.second;

  for (std::size_t cut = 1; cut < session.size(); ++cut) {
    const auto split = run({cut});
    ASSERT_EQ(split.first, whole.first) << "cut at " << cut;
    ASSERT_EQ(split.second, whole.second) << "cut at " << cut;
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < session.size(); ++i) every_byte.push_back(i);
  const auto bytewise = run(every_byte);
  EXPECT_EQ(bytewise.first, whole.first);
  EXPECT_EQ(bytewise.second, whole.second);
}

TEST(ServerFsm, DotUnstuffingAndEightBitBody) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test> BODY=8BITMIME\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
  s.send("..\r\n...two\r\n.x\r\nGr\xc3\xbc\xc3\x9f" "e\r\n\x80\xff\r\n.\r\n");
  ASSERT_EQ(s.state(), ServerState::awaiting_commit);
  s.commit();
  const auto& body = s.committed().front().body;
  const auto header_end = body.find("+0000\r\n") + 7;
  EXPECT_EQ(body.substr(header_end), ".\r\n..two\r\nx\r\nGr\xc3\xbc\xc3\x9f" "e\r\n\x80\xff\r\n");
}

// SMTP smuggling: none of these may end DATA, so the "smuggled" commands after them
// are message text and get no reply.
TEST(ServerFsm, SmugglingSequencesDoNotEndData) {
  const std::vector<std::string> sequences = {
      "\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r", "\n.\r", "\r\n.\r\r\n",
  };
  for (auto mode : {BareLineEndings::normalize, BareLineEndings::reject}) {
    for (const auto& seq : sequences) {
      auto settings = test_settings();
      settings.bare_line_endings = mode;
      Script s(settings);
      s.start();
      s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
      const auto out = s.send("text" + seq + "MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n");
      EXPECT_EQ(out, "") << "sequence " << testing::PrintToString(seq);
      EXPECT_EQ(s.state(), ServerState::receiving_data) << testing::PrintToString(seq);
      const auto end = s.send("evil body\r\n.\r\n");
      if (mode == BareLineEndings::normalize) {
        ASSERT_EQ(s.state(), ServerState::awaiting_commit) << testing::PrintToString(seq);
        s.commit();
        const auto& body = s.committed().front().body;
        EXPECT_NE(body.find("MAIL FROM:<evil@attacker.test>\r\n"), std::string::npos) << body;
        // Canonical output: no bare CR or LF left.
        for (std::size_t i = 0; i < body.size(); ++i) {
          if (body[i] == '\n') {
            EXPECT_TRUE(i > 0 && body[i - 1] == '\r') << testing::PrintToString(seq);
          }
          if (body[i] == '\r') {
            EXPECT_TRUE(i + 1 < body.size() && body[i + 1] == '\n') << testing::PrintToString(seq);
          }
        }
      } else {
        EXPECT_CODES(end, {550, "5.5.2"});
        EXPECT_EQ(s.state(), ServerState::ready);
        EXPECT_TRUE(s.committed().empty());
      }
    }
  }
}

TEST(ServerFsm, LongTextLineIsRefused) {
  Script s;
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n");
  EXPECT_CODES(s.send(std::string(999, 'a') + "\r\n.\r\n"), {554, "5.6.0"});
  EXPECT_EQ(s.state(), ServerState::ready);
}

TEST(ServerFsm, CommitResults) {
  struct Case {
    CommitStatus status;
    Code want;
  };
  for (const auto& c : {Case{CommitStatus::committed, {250, "2.0.0"}}, Case{CommitStatus::temporary_failure, {451, "4.3.0"}},
                        Case{CommitStatus::storage_full, {452, "4.3.1"}}}) {
    Script s;
    s.start();
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\nx\r\n.\r\n");
    ASSERT_EQ(s.state(), ServerState::awaiting_commit);
    EXPECT_CODES(s.commit(c.status, "QID"), c.want);
    EXPECT_EQ(s.state(), ServerState::ready);
    EXPECT_EQ(s.fsm().messages_accepted(), c.status == CommitStatus::committed ? 1u : 0u);
    EXPECT_CODES(s.send("RCPT TO:<u@example.com>\r\n"), {503, "5.5.1"});
    // A second transaction works on the same session.
    s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\ny\r\n.\r\n");
    EXPECT_CODES(s.commit(), {250, "2.0.0"});
    EXPECT_TRUE(s.committed().back().body.ends_with("\r\ny\r\n"));
  }
}

TEST(ServerFsm, CommitDoneOutsideAwaitingCommitIsIgnored) {
  Script s;
  s.start();
  std::string out;
  s.fsm().commit_done(CommitStatus::committed, "X", out);
  EXPECT_EQ(out, "");
  EXPECT_EQ(s.state(), ServerState::awaiting_helo);
}

TEST(ServerFsm, TimeoutsAndShutdown) {
  conf::ServerTimeouts timeouts;
  timeouts.command = seconds{300};
  timeouts.data_block = seconds{180};
  {
    Script s;
    s.start();
    EXPECT_EQ(s.fsm().read_timeout(timeouts), seconds{300});
    std::string out;
    s.fsm().timed_out(out);
    EXPECT_EQ(out, "421 4.4.2 mx.test Error: timeout exceeded, closing connection\r\n");
    EXPECT_TRUE(s.fsm().closed());
    out.clear();
    s.fsm().timed_out(out);
    s.fsm().shutting_down(out);
    EXPECT_EQ(out, "") << "nothing more once closed";
    EXPECT_EQ(s.fsm().consume("NOOP\r\n", fixed_time, out), 0u);
  }
  {
    Script s;
    s.start();
    s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\npartial");
    EXPECT_EQ(s.fsm().read_timeout(timeouts), seconds{180});
    std::string out;
    s.fsm().timed_out(out);
    EXPECT_CODES(out, {421, "4.4.2"});
    EXPECT_TRUE(s.fsm().closed());
  }
  {
    Script s;
    s.start();
    s.send("EHLO c.test\r\n");
    std::string out;
    s.fsm().shutting_down(out);
    EXPECT_EQ(out, "421 4.3.2 mx.test Service shutting down, closing connection\r\n");
    EXPECT_TRUE(s.fsm().closed());
  }
}

TEST(ServerFsm, RelayPolicy) {
  {
    Script s;  // untrusted client: only accepted domains
    s.start();
    EXPECT_CODES(s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@elsewhere.test>\r\n"
                        "RCPT TO:<u@EXAMPLE.com>\r\nRCPT TO:<u%x@example.com>\r\n"),
                 {250, ""}, {250, "2.1.0"}, {550, "5.7.1"}, {250, "2.1.5"}, {550, "5.7.1"});
    EXPECT_EQ(s.fsm().errors(), 2u) << "5xx policy refusals count";
  }
  {
    Script s(test_settings(), trusted_ip);
    s.start();
    EXPECT_CODES(s.send("EHLO hub.test\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<x@elsewhere.test>\r\n"),
                 {250, ""}, {250, "2.1.0"}, {250, "2.1.5"});
  }
  {
    Script s(test_settings(), untrusted_ip, /*require_trusted=*/true);
    s.start();
    EXPECT_CODES(s.send("EHLO c.test\r\nMAIL FROM:<a@example.com>\r\n"), {250, ""}, {550, "5.7.1"});
    EXPECT_EQ(s.state(), ServerState::ready);
    EXPECT_NE(s.send("MAIL FROM:<a@example.com>\r\n").find("Client host not trusted"), std::string::npos);
  }
  {
    Script s;  // all recipients refused → DATA gets 554 "no valid recipients"
    s.start();
    EXPECT_CODES(s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<x@elsewhere.test>\r\nDATA\r\n"),
                 {250, ""}, {250, "2.1.0"}, {550, "5.7.1"}, {554, "5.5.1"});
  }
}

TEST(ServerFsm, TransitionObserverSeesEveryChange) {
  Script s;
  std::vector<std::pair<ServerState, ServerState>> seen;
  s.fsm().set_transition_observer([&](ServerState from, ServerState to) { seen.emplace_back(from, to); });
  s.start();
  s.send("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n.\r\n");
  s.commit();
  s.send("QUIT\r\n");
  using S = ServerState;
  const std::vector<std::pair<S, S>> want = {
      {S::greeting, S::awaiting_helo},       {S::awaiting_helo, S::ready},        {S::ready, S::in_transaction},
      {S::in_transaction, S::receiving_data}, {S::receiving_data, S::awaiting_commit}, {S::awaiting_commit, S::ready},
      {S::ready, S::closed},
  };
  EXPECT_EQ(seen, want);
}

TEST(ServerFsm, StateNames) {
  EXPECT_EQ(relay::to_string(ServerState::greeting), "greeting");
  EXPECT_EQ(relay::to_string(ServerState::awaiting_commit), "awaiting_commit");
  EXPECT_EQ(relay::to_string(ServerState::closed), "closed");
}

}  // namespace
