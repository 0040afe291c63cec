// tests/relay/server/sasl_test.cpp — SASL PLAIN and LOGIN exchanges (relay/server/sasl),
// table-driven: a mechanism, an optional initial response and the client's lines, and
// the outcome of every step.
#include "relay/server/sasl.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "policy/base64.hpp"

namespace {

using relay::SaslExchange;
using relay::SaslMechanism;
using relay::SaslOutcome;

std::string b64(std::string_view s) { return policy::base64_encode(s); }

struct Want {
  SaslOutcome outcome;
  std::string challenge = {};  // for challenge
  std::string user = {};       // for credentials
  std::string password = {};
};

struct Case {
  const char* name;
  SaslMechanism mechanism;
  std::optional<std::string> initial;
  std::vector<std::string> lines;  // client lines after the start
  std::vector<Want> want;          // one per step: the start, then each line
};

TEST(Sasl, Exchanges) {
  using O = SaslOutcome;
  const std::string plain_alice = b64(std::string("\0alice\0pw", 9));
  const std::vector<Case> cases = {
      {"plain initial", SaslMechanism::plain, plain_alice, {}, {{O::credentials, "", "alice", "pw"}}},
      {"plain continuation", SaslMechanism::plain, std::nullopt, {plain_alice},
       {{O::challenge, ""}, {O::credentials, "", "alice", "pw"}}},
      {"plain authzid equal", SaslMechanism::plain, b64(std::string("alice\0alice\0pw", 14)), {},
       {{O::credentials, "", "alice", "pw"}}},
      {"plain authzid other", SaslMechanism::plain, b64(std::string("root\0alice\0pw", 13)), {}, {{O::refused}}},
      {"plain empty authcid", SaslMechanism::plain, b64(std::string("\0\0pw", 4)), {}, {{O::refused}}},
      {"plain empty password", SaslMechanism::plain, b64(std::string("\0alice\0", 7)), {},
       {{O::credentials, "", "alice", ""}}},
      {"plain one nul", SaslMechanism::plain, b64(std::string("alice\0pw", 8)), {}, {{O::malformed}}},
      {"plain three nuls", SaslMechanism::plain, b64(std::string("\0a\0b\0c", 6)), {}, {{O::malformed}}},
      {"plain not base64", SaslMechanism::plain, "!!!!", {}, {{O::malformed}}},
      {"plain empty response", SaslMechanism::plain, std::nullopt, {"="}, {{O::challenge, ""}, {O::malformed}}},
      {"plain cancelled", SaslMechanism::plain, std::nullopt, {"*"}, {{O::challenge, ""}, {O::cancelled}}},
      {"login", SaslMechanism::login, std::nullopt, {b64("alice"), b64("secret")},
       {{O::challenge, "VXNlcm5hbWU6"}, {O::challenge, "UGFzc3dvcmQ6"}, {O::credentials, "", "alice", "secret"}}},
      {"login initial user", SaslMechanism::login, b64("bob"), {b64("pw")},
       {{O::challenge, "UGFzc3dvcmQ6"}, {O::credentials, "", "bob", "pw"}}},
      {"login empty password", SaslMechanism::login, b64("bob"), {"="},
       {{O::challenge, "UGFzc3dvcmQ6"}, {O::credentials, "", "bob", ""}}},
      {"login empty user", SaslMechanism::login, "=", {}, {{O::malformed}}},
      {"login user with nul", SaslMechanism::login, b64(std::string("a\0b", 3)), {}, {{O::malformed}}},
      {"login cancelled at password", SaslMechanism::login, std::nullopt, {b64("alice"), "*"},
       {{O::challenge, "VXNlcm5hbWU6"}, {O::challenge, "UGFzc3dvcmQ6"}, {O::cancelled}}},
      {"login bad password encoding", SaslMechanism::login, b64("bob"), {"a"},
       {{O::challenge, "UGFzc3dvcmQ6"}, {O::malformed}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ASSERT_EQ(c.want.size(), c.lines.size() + 1);
    SaslExchange exchange;
    auto step = exchange.start(c.mechanism, c.initial ? std::optional<std::string_view>(*c.initial) : std::nullopt);
    for (std::size_t i = 0; i < c.want.size(); ++i) {
      const Want& want = c.want[i];
      EXPECT_EQ(step.outcome, want.outcome) << "step " << i;
      EXPECT_EQ(step.challenge, want.challenge) << "step " << i;
      EXPECT_EQ(step.user, want.user) << "step " << i;
      EXPECT_EQ(step.password, want.password) << "step " << i;
      // Only a challenge keeps the exchange open; every other outcome ends it.
      EXPECT_EQ(exchange.active(), want.outcome == SaslOutcome::challenge) << "step " << i;
      if (i < c.lines.size()) step = exchange.respond(c.lines[i]);
    }
  }
}

TEST(Sasl, MechanismNames) {
  EXPECT_EQ(relay::parse_sasl_mechanism("PLAIN"), SaslMechanism::plain);
  EXPECT_EQ(relay::parse_sasl_mechanism("login"), SaslMechanism::login);
  EXPECT_EQ(relay::parse_sasl_mechanism("Plain"), SaslMechanism::plain);
  EXPECT_EQ(relay::parse_sasl_mechanism("CRAM-MD5"), std::nullopt);
  EXPECT_EQ(relay::parse_sasl_mechanism(""), std::nullopt);
}

TEST(Sasl, AbandonForgetsTheUserName) {
  SaslExchange exchange;
  exchange.start(SaslMechanism::login, std::nullopt);
  exchange.respond(b64("alice"));
  ASSERT_TRUE(exchange.active());
  exchange.abandon();
  EXPECT_FALSE(exchange.active());
  // A new LOGIN starts from the user name again.
  EXPECT_EQ(exchange.start(SaslMechanism::login, std::nullopt).challenge, "VXNlcm5hbWU6");
  const auto done = [&] {
    exchange.respond(b64("bob"));
    return exchange.respond(b64("pw"));
  }();
  EXPECT_EQ(done.user, "bob");
}

}  // namespace
