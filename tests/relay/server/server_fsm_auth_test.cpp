// tests/relay/server/server_fsm_auth_test.cpp — AUTH PLAIN / LOGIN in the server FSM.
//
// The FSM collects credentials and stops in `authenticating`; the test plays the driver
// and answers with the verdict it wants, so the rules are checked without PBKDF2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/base64.hpp"
#include "relay/server/server_fsm.hpp"
#include "tests/support/fsm_driver.hpp"
#include "tests/support/fsm_fixture.hpp"

namespace {

using relay::AuthResult;
using relay::ServerFsm;
using relay::ServerState;
using namespace std::chrono;

relay::ServerSettings auth_settings(conf::ListenerTls tls = conf::ListenerTls::implicit) {
  relay::ServerSettings s;
  s.hostname = "mx.test";
  s.tls = tls;
  s.auth = true;
  s.max_errors = 20;
  return s;
}

std::string b64(std::string_view s) { return policy::base64_encode(s); }

class Session {
 public:
  explicit Session(relay::ServerSettings settings = auth_settings(), const char* ip = "198.51.100.7")
      : policy_(test_support::example_policy()), fsm_(settings, policy_, test_support::peer_at(ip), "a1"), driver_(fsm_) {
    driver_.start();
  }

  std::string send(std::string_view bytes) {
    std::string out = driver_.send(bytes);
    EXPECT_TRUE(driver_.pending().empty()) << "stopped in " << relay::to_string(fsm_.state());
    return out;
  }

  std::string verdict(AuthResult r) {
    std::string out;
    fsm_.auth_done(r, out);
    return out;
  }

  ServerFsm& fsm() { return fsm_; }

 private:
  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
  test_support::FsmDriver driver_;
};

TEST(ServerFsmAuth, AdvertisedOnlyUnderTlsOrToTrustedPlaintextWhenAllowed) {
  struct Case {
    conf::ListenerTls tls;
    bool auth;
    bool plaintext_trusted;
    const char* ip;
    bool advertised;
  };
  using T = conf::ListenerTls;
  const std::vector<Case> cases = {
      {T::implicit, true, false, "198.51.100.7", true},
      {T::implicit, false, false, "198.51.100.7", false},
      {T::offered, true, false, "198.51.100.7", false},  // not before STARTTLS
      {T::off, true, false, "192.0.2.10", false},
      {T::off, true, true, "192.0.2.10", true},           // trusted network, explicitly allowed
      {T::off, true, true, "198.51.100.7", false},        // allowed only for trusted networks
  };
  for (const auto& c : cases) {
    auto settings = auth_settings(c.tls);
    settings.auth = c.auth;
    settings.auth_plaintext_trusted = c.plaintext_trusted;
    Session s(settings, c.ip);
    const auto out = s.send("EHLO c.test\r\n");
    EXPECT_EQ(out.find("AUTH PLAIN LOGIN") != std::string::npos, c.advertised) << c.ip << out;
  }
}

TEST(ServerFsmAuth, PlainWithInitialResponse) {
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(s.send("AUTH PLAIN " + b64(std::string("\0alice\0pw", 9)) + "\r\n"), "");
  ASSERT_EQ(s.fsm().state(), ServerState::authenticating);
  const auto request = s.fsm().take_auth_request();
  EXPECT_EQ(request.user, "alice");
  EXPECT_EQ(request.password, "pw");
  EXPECT_EQ(s.verdict(AuthResult::success), "235 2.7.0 Authentication successful\r\n");
  EXPECT_TRUE(s.fsm().authenticated());
  EXPECT_EQ(s.fsm().auth_user(), "alice");
  EXPECT_EQ(test_support::reply_codes(s.send("AUTH PLAIN " + b64(std::string("\0alice\0pw", 9)) + "\r\n")), (std::vector<int>{503}));
  // Authenticated: relaying to any domain is allowed (policy::Client::authenticated).
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<alice@example.com>\r\nRCPT TO:<x@elsewhere.test>\r\n")),
            (std::vector<int>{250, 250}));
  // The EHLO after AUTH no longer offers it.
  EXPECT_EQ(s.send("RSET\r\nEHLO c.test\r\n").find("AUTH"), std::string::npos);
}

TEST(ServerFsmAuth, PlainWithContinuationAndAuthzid) {
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(s.send("AUTH PLAIN\r\n"), "334 \r\n");
  s.send(b64(std::string("alice\0alice\0pw", 14)) + "\r\n");
  ASSERT_EQ(s.fsm().state(), ServerState::authenticating);
  EXPECT_EQ(s.fsm().take_auth_request().user, "alice");
  EXPECT_EQ(test_support::reply_codes(s.verdict(AuthResult::failure)), (std::vector<int>{535}));
  EXPECT_FALSE(s.fsm().authenticated());
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
  // Acting for someone else (authzid != authcid) is refused without asking the driver.
  EXPECT_EQ(test_support::reply_codes(s.send("AUTH PLAIN " + b64(std::string("root\0alice\0pw", 13)) + "\r\n")), (std::vector<int>{535}));
  // Without relaying rights, a foreign recipient is still refused.
  EXPECT_EQ(test_support::reply_codes(s.send("MAIL FROM:<a@remote.test>\r\nRCPT TO:<x@elsewhere.test>\r\n")), (std::vector<int>{250, 550}));
}

TEST(ServerFsmAuth, LoginContinuationAndCancel) {
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(s.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(s.send(b64("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  s.send(b64("secret") + "\r\n");
  ASSERT_EQ(s.fsm().state(), ServerState::authenticating);
  const auto request = s.fsm().take_auth_request();
  EXPECT_EQ(request.user, "alice");
  EXPECT_EQ(request.password, "secret");
  EXPECT_EQ(test_support::reply_codes(s.verdict(AuthResult::locked_out)), (std::vector<int>{454}));

  // Initial response carries the user name.
  EXPECT_EQ(s.send("AUTH LOGIN " + b64("bob") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  // "*" cancels at any step.
  EXPECT_EQ(s.send("*\r\n"), "501 5.0.0 Authentication cancelled\r\n");
  EXPECT_EQ(s.fsm().state(), ServerState::ready);
  EXPECT_EQ(s.send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("*\r\n")), (std::vector<int>{501}));
  // After a cancel, lines are commands again.
  EXPECT_EQ(test_support::reply_codes(s.send("NOOP\r\n")), (std::vector<int>{250}));
}

TEST(ServerFsmAuth, SequenceAndSyntax) {
  struct Case {
    relay::ServerSettings settings;
    std::string setup;
    std::string command;
    int want;
  };
  auto no_auth = auth_settings();
  no_auth.auth = false;
  const std::vector<Case> cases = {
      {no_auth, "EHLO c.test\r\n", "AUTH PLAIN", 502},
      {auth_settings(), "", "AUTH PLAIN", 503},                                        // before EHLO
      {auth_settings(), "EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n", "AUTH PLAIN", 503},  // in a transaction
      {auth_settings(conf::ListenerTls::offered), "EHLO c.test\r\n", "AUTH PLAIN", 538},  // needs TLS first
      {auth_settings(), "EHLO c.test\r\n", "AUTH CRAM-MD5", 504},
      {auth_settings(), "EHLO c.test\r\n", "AUTH PLAIN !!!!", 501},                    // not base64
      {auth_settings(), "EHLO c.test\r\n", "AUTH PLAIN " + b64("no-nuls"), 501},
      {auth_settings(), "EHLO c.test\r\n", "AUTH PLAIN " + b64(std::string("\0\0pw", 4)), 535},  // empty user
      {auth_settings(), "EHLO c.test\r\n", "AUTH LOGIN =", 501},                       // empty user name
  };
  for (const auto& c : cases) {
    Session s(c.settings);
    s.send(c.setup);
    EXPECT_EQ(test_support::reply_codes(s.send(c.command + "\r\n")), std::vector<int>{c.want}) << c.command << " after " << c.setup;
    EXPECT_NE(s.fsm().state(), ServerState::authenticating);
  }
}

TEST(ServerFsmAuth, OverlongResponseEndsTheExchange) {
  Session s;
  s.send("EHLO c.test\r\n");
  EXPECT_EQ(test_support::reply_codes(s.send("AUTH LOGIN\r\n")), (std::vector<int>{334}));
  // RFC 4954 §4: AUTH lines may be 12288 octets with CRLF; one octet more is too long.
  EXPECT_EQ(test_support::reply_codes(s.send(std::string(12287, 'A') + "\r\n")), (std::vector<int>{500}));
  EXPECT_EQ(test_support::reply_codes(s.send("NOOP\r\n")), (std::vector<int>{250}));  // a command again, not a user name
}

TEST(ServerFsmAuth, LongAuthLinesUpTo12288OctetsAreAccepted) {
  // A big initial response (long password or token) is within RFC 4954 §4's limit.
  Session s;
  s.send("EHLO c.test\r\n");
  const std::string password(6000, 'p');
  const std::string line = "AUTH PLAIN " + b64(std::string("\0user\0", 6) + password) + "\r\n";
  ASSERT_GT(line.size(), 512u);
  ASSERT_LE(line.size(), 12288u);
  EXPECT_EQ(test_support::reply_codes(s.send(line)), (std::vector<int>{}));
  EXPECT_EQ(s.fsm().state(), relay::ServerState::authenticating);
  EXPECT_EQ(s.fsm().take_auth_request().password, password);
  // Only AUTH lines get the larger limit: any other command stays at 512.
  Session t;
  t.send("EHLO c.test\r\n");
  EXPECT_EQ(test_support::reply_codes(t.send("NOOP " + std::string(600, 'x') + "\r\n")), (std::vector<int>{500}));
  EXPECT_EQ(test_support::reply_codes(t.send("AUTH PLAIN " + std::string(12280, 'A') + "\r\n")), (std::vector<int>{500}));
}

TEST(ServerFsmAuth, StartTlsForgetsAuthentication) {
  auto settings = auth_settings(conf::ListenerTls::offered);
  settings.auth_plaintext_trusted = true;
  Session s(settings, "192.0.2.10");
  s.send("EHLO c.test\r\nAUTH PLAIN " + b64(std::string("\0alice\0pw", 9)) + "\r\n");
  s.fsm().take_auth_request();
  s.verdict(AuthResult::success);
  ASSERT_TRUE(s.fsm().authenticated());
  s.send("STARTTLS\r\n");
  s.fsm().tls_started();
  EXPECT_FALSE(s.fsm().authenticated());
}

}  // namespace
