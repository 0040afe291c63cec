// tests/relay/smtp/command_parser_test.cpp — verbs, RFC 5321 paths, esmtp-params, MAIL params,
// the BDAT argument.
#include "relay/smtp/command_parser.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace {

using relay::BodyType;
using relay::EnvelopeError;
using relay::ParameterError;
using relay::Verb;

TEST(ParseCommand, VerbsAreCaseInsensitiveAndSplitArgument) {
  struct Case {
    std::string line;
    Verb verb;
    std::string argument;
  };
  const std::vector<Case> cases = {
      {"EHLO client.example", Verb::ehlo, "client.example"},
      {"ehlo client.example", Verb::ehlo, "client.example"},
      {"HeLo x", Verb::helo, "x"},
      {"MAIL FROM:<a@b.example>", Verb::mail, "FROM:<a@b.example>"},
      {"rcpt TO:<a@b.example>", Verb::rcpt, "TO:<a@b.example>"},
      {"DATA", Verb::data, ""},
      {"RSET", Verb::rset, ""},
      {"NOOP hello there", Verb::noop, "hello there"},
      {"QUIT", Verb::quit, ""},
      {"VRFY postmaster", Verb::vrfy, "postmaster"},
      {"HELP", Verb::help, ""},
      {"STARTTLS", Verb::starttls, ""},
      {"AUTH PLAIN", Verb::auth, "PLAIN"},
      {"BDAT 100 LAST", Verb::bdat, "100 LAST"},
      {"EXPN list", Verb::expn, "list"},
      {"MAIL  FROM:<a@b>  ", Verb::mail, "FROM:<a@b>"},
      {"DATA ", Verb::data, ""},
      {"", Verb::unknown, ""},
      {"MAILFROM:<a@b>", Verb::unknown, ""},
      {"XYZZY", Verb::unknown, ""},
      {"EHL", Verb::unknown, ""},
      {"EHLOX y", Verb::unknown, "y"},
      {" EHLO x", Verb::unknown, "EHLO x"},
  };
  for (const auto& c : cases) {
    const auto got = relay::parse_command(c.line);
    EXPECT_EQ(got.verb, c.verb) << c.line;
    EXPECT_EQ(got.argument, c.argument) << c.line;
  }
}

TEST(ParseMailFrom, AcceptsValidPaths) {
  struct Case {
    std::string argument;
    std::string sender;
    std::string parameters;
  };
  const std::vector<Case> cases = {
      {"FROM:<user@example.com>", "user@example.com", ""},
      {"from:<user@example.com>", "user@example.com", ""},
      {"FROM: <user@example.com>", "user@example.com", ""},   // common, tolerated
      {"FROM:  <user@example.com>", "user@example.com", ""},
      {"FROM:<>", "", ""},                                      // null reverse-path
      {"FROM:<> SIZE=100", "", "SIZE=100"},
      {"FROM:<first.last+tag@sub.example.com>", "first.last+tag@sub.example.com", ""},
      {"FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~@example.com", ""},
      {"FROM:<\"john doe\"@example.com>", "\"john doe\"@example.com", ""},
      {"FROM:<\"a\\\"b\"@example.com>", "\"a\\\"b\"@example.com", ""},
      {"FROM:<\"\"@example.com>", "\"\"@example.com", ""},
      {"FROM:<\"a>b\"@example.com>", "\"a>b\"@example.com", ""},
      {"FROM:<@relay.example:user@example.com>", "user@example.com", ""},      // source route dropped
      {"FROM:<@a.example,@b.example:user@example.com>", "user@example.com", ""},
      {"FROM:<user@[192.0.2.1]>", "user@[192.0.2.1]", ""},
      {"FROM:<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]", ""},
      {"FROM:<user@[IPv6:2001:db8:1:2:3:4:5:6]>", "user@[IPv6:2001:db8:1:2:3:4:5:6]", ""},
      {"FROM:<user@[IPv6:::]>", "user@[IPv6:::]", ""},
      {"FROM:<user@[IPv6:::ffff:192.0.2.1]>", "user@[IPv6:::ffff:192.0.2.1]", ""},
      {"FROM:<user@[IPv6:1:2:3:4:5:6:192.0.2.1]>", "user@[IPv6:1:2:3:4:5:6:192.0.2.1]", ""},
      {"FROM:<user@example.com> SIZE=1000 BODY=8BITMIME", "user@example.com", "SIZE=1000 BODY=8BITMIME"},
      {"FROM:<user@example.com>  SIZE=1000", "user@example.com", "SIZE=1000"},
      {"FROM:<user@xn--bcher-kva.example>", "user@xn--bcher-kva.example", ""},
      {"FROM:<u@1example.com>", "u@1example.com", ""},
  };
  for (const auto& c : cases) {
    const auto got = relay::parse_mail_from(c.argument);
    ASSERT_TRUE(got.has_value()) << c.argument << " error=" << relay::to_string(got.error());
    EXPECT_EQ(got->sender, c.sender) << c.argument;
    EXPECT_EQ(got->parameter_text, c.parameters) << c.argument;
  }
}

TEST(ParseMailFrom, RejectsInvalidPaths) {
  struct Case {
    std::string argument;
    EnvelopeError want;
  };
  const std::string local64(64, 'a');
  const std::string local65(65, 'a');
  const std::string label63(63, 'b');
  const std::string label64(64, 'b');
  const std::vector<Case> cases = {
      {"", EnvelopeError::syntax},
      {"FROM", EnvelopeError::syntax},
      {"FROM:", EnvelopeError::syntax},
      {"TO:<a@b.example>", EnvelopeError::syntax},
      {"FRM:<a@b.example>", EnvelopeError::syntax},
      {"FROM:a@b.example", EnvelopeError::bad_address},          // brackets are required
      {"FROM:<a@b.example", EnvelopeError::bad_address},
      {"FROM:<a>", EnvelopeError::bad_address},                   // no domain
      {"FROM:<Postmaster>", EnvelopeError::bad_address},          // only RCPT may
      {"FROM:<@b.example>", EnvelopeError::bad_address},
      {"FROM:<a@>", EnvelopeError::bad_address},
      {"FROM:<a@@b.example>", EnvelopeError::bad_address},
      {"FROM:<a@b@c.example>", EnvelopeError::bad_address},
      {"FROM:<a..b@c.example>", EnvelopeError::bad_address},
      {"FROM:<.a@c.example>", EnvelopeError::bad_address},
      {"FROM:<a.@c.example>", EnvelopeError::bad_address},
      {"FROM:<a b@c.example>", EnvelopeError::bad_address},
      {"FROM:<a@-b.example>", EnvelopeError::bad_address},
      {"FROM:<a@b-.example>", EnvelopeError::bad_address},
      {"FROM:<a@b..example>", EnvelopeError::bad_address},
      {"FROM:<a@b.example.>", EnvelopeError::bad_address},
      {"FROM:<a@b_c.example>", EnvelopeError::bad_address},
      {"FROM:<\"unterminated@b.example>", EnvelopeError::bad_address},
      {"FROM:<\"a\tb\"@b.example>", EnvelopeError::bad_address},
      {"FROM:<a@[192.0.2.256]>", EnvelopeError::bad_address},
      {"FROM:<a@[192.0.2]>", EnvelopeError::bad_address},
      {"FROM:<a@[192.0.2.1.5]>", EnvelopeError::bad_address},
      {"FROM:<a@[1234.0.2.1]>", EnvelopeError::bad_address},
      {"FROM:<a@[IPv6:2001:db8::1::2]>", EnvelopeError::bad_address},
      {"FROM:<a@[IPv6:1:2:3:4:5:6:7]>", EnvelopeError::bad_address},
      {"FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", EnvelopeError::bad_address},
      {"FROM:<a@[IPv6:1:2:3:4::5:6:7]>", EnvelopeError::bad_address},     // :: must stand for ≥ 2 groups
      {"FROM:<a@[IPv6:12345::1]>", EnvelopeError::bad_address},
      {"FROM:<a@[IPv6:1.2.3.4::1]>", EnvelopeError::bad_address},
      {"FROM:<a@[x-tag:foo]>", EnvelopeError::bad_address},              // no other tag is registered
      {"FROM:<a@[192.0.2.1>", EnvelopeError::bad_address},
      {"FROM:<@relay.example user@example.com>", EnvelopeError::bad_address},
      {"FROM:<@relay.example,user@example.com>", EnvelopeError::bad_address},
      {"FROM:<a@b.example>x", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> =x", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> SIZE=", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> -X", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> X=a=b", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> X=\x01", EnvelopeError::bad_parameters},
      {"FROM:<a@b.example> X=\xc3\xa9", EnvelopeError::bad_parameters},
      {"FROM:<" + local65 + "@b.example>", EnvelopeError::bad_address},
      {"FROM:<a@" + label64 + ".example>", EnvelopeError::bad_address},
      // 8-bit octets: SMTPUTF8 is not offered, so they get their own reply.
      {"FROM:<j\xc3\xbcrgen@example.com>", EnvelopeError::non_ascii_address},
      {"FROM:<juergen@b\xc3\xbc.example>", EnvelopeError::non_ascii_address},
      {"FROM:<\"j\xc3\xbc\"@example.com>", EnvelopeError::non_ascii_address},
      {"FROM:<a@[192.0.2.\xc3\xbc]>", EnvelopeError::non_ascii_address},
      {"FROM:<\xff@example.com>", EnvelopeError::non_ascii_address},
  };
  for (const auto& c : cases) {
    const auto got = relay::parse_mail_from(c.argument);
    ASSERT_FALSE(got.has_value()) << c.argument;
    EXPECT_EQ(got.error(), c.want) << c.argument << " got " << relay::to_string(got.error());
  }
  // The limits themselves are allowed.
  EXPECT_TRUE(relay::parse_mail_from("FROM:<" + local64 + "@b.example>").has_value());
  EXPECT_TRUE(relay::parse_mail_from("FROM:<a@" + label63 + ".example>").has_value());
}

TEST(ParseMailFrom, PathLengthLimitIs256OctetsIncludingBrackets) {
  // <local@domain>: 2 brackets + 64 local + 1 "@" → domain may have 189 octets.
  const std::string local(64, 'l');
  auto domain_of_length = [](std::size_t n) {
    std::string d;
    while (d.size() < n) {
      if (!d.empty()) d.push_back('.');
      d.append(std::min<std::size_t>(60, n - d.size()), 'd');
    }
    if (d.back() == '.') d.back() = 'x';
    return d;
  };
  const std::string ok_domain = domain_of_length(189);
  const std::string long_domain = domain_of_length(190);
  ASSERT_EQ(ok_domain.size(), 189u);
  ASSERT_EQ(long_domain.size(), 190u);
  EXPECT_TRUE(relay::parse_mail_from("FROM:<" + local + "@" + ok_domain + ">").has_value());
  const auto too_long = relay::parse_mail_from("FROM:<" + local + "@" + long_domain + ">");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error(), EnvelopeError::bad_address);
}

TEST(ParseRcptTo, AcceptsPostmasterAndPaths) {
  struct Case {
    std::string argument;
    std::string recipient;
    bool postmaster;
  };
  const std::vector<Case> cases = {
      {"TO:<user@example.com>", "user@example.com", false},
      {"to: <user@example.com>", "user@example.com", false},
      {"TO:<Postmaster>", "Postmaster", true},
      {"TO:<postmaster>", "postmaster", true},
      {"TO:<POSTMASTER>", "POSTMASTER", true},
      {"TO:<Postmaster@example.com>", "Postmaster@example.com", false},
      {"TO:<@hop.example:user@example.com>", "user@example.com", false},
  };
  for (const auto& c : cases) {
    const auto got = relay::parse_rcpt_to(c.argument);
    ASSERT_TRUE(got.has_value()) << c.argument << " error=" << relay::to_string(got.error());
    EXPECT_EQ(got->recipient, c.recipient) << c.argument;
    EXPECT_EQ(got->postmaster, c.postmaster) << c.argument;
  }
}

TEST(ParseRcptTo, RejectsNullAndBadPaths) {
  struct Case {
    std::string argument;
    EnvelopeError want;
  };
  const std::vector<Case> cases = {
      {"TO:<>", EnvelopeError::bad_address},
      {"TO:<user>", EnvelopeError::bad_address},
      {"TO:<\"Postmaster\">", EnvelopeError::bad_address},
      {"TO:<@hop.example:Postmaster>", EnvelopeError::bad_address},
      {"FROM:<user@example.com>", EnvelopeError::syntax},
      {"TO:", EnvelopeError::syntax},
      {"TO:user@example.com", EnvelopeError::bad_address},
      {"TO:<us\xe9r@example.com>", EnvelopeError::non_ascii_address},
  };
  for (const auto& c : cases) {
    const auto got = relay::parse_rcpt_to(c.argument);
    ASSERT_FALSE(got.has_value()) << c.argument;
    EXPECT_EQ(got.error(), c.want) << c.argument;
  }
}

TEST(ParseRcptTo, KeepsParameters) {
  const auto got = relay::parse_rcpt_to("TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.example");
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->parameters.size(), 2u);
  EXPECT_EQ(got->parameters[0], (relay::EsmtpParameter{"NOTIFY", "SUCCESS,FAILURE"}));
  EXPECT_EQ(got->parameters[1], (relay::EsmtpParameter{"ORCPT", "rfc822;a@b.example"}));
}

TEST(EsmtpParameters, KeywordsAndValues) {
  const auto got = relay::parse_esmtp_parameters("SIZE=10  BODY=8BITMIME SMTPUTF8 X-FOO=bar");
  ASSERT_TRUE(got.has_value());
  const std::vector<relay::EsmtpParameter> want = {
      {"SIZE", "10"}, {"BODY", "8BITMIME"}, {"SMTPUTF8", ""}, {"X-FOO", "bar"}};
  EXPECT_EQ(*got, want);
  EXPECT_TRUE(relay::parse_esmtp_parameters("")->empty());
}

TEST(InterpretMailParameters, SizeAndBody) {
  struct Case {
    std::string text;
    std::optional<std::uint64_t> size;
    BodyType body;
  };
  const std::vector<Case> cases = {
      {"", std::nullopt, BodyType::unspecified},
      {"SIZE=0", 0, BodyType::unspecified},
      {"size=12345", 12345, BodyType::unspecified},
      {"SIZE=99999999999999999999", std::numeric_limits<std::uint64_t>::max(), BodyType::unspecified},
      {"BODY=7BIT", std::nullopt, BodyType::seven_bit},
      {"body=8bitmime SIZE=5", 5, BodyType::eight_bit_mime},
  };
  for (const auto& c : cases) {
    const auto parameters = relay::parse_esmtp_parameters(c.text);
    ASSERT_TRUE(parameters.has_value()) << c.text;
    const auto got = relay::interpret_mail_parameters(*parameters);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(got->size, c.size) << c.text;
    EXPECT_EQ(got->body, c.body) << c.text;
  }
}

TEST(InterpretMailParameters, Errors) {
  struct Case {
    std::string text;
    ParameterError want;
  };
  const std::vector<Case> cases = {
      {"SIZE", ParameterError::bad_value},
      {"SIZE=abc", ParameterError::bad_value},
      {"SIZE=-1", ParameterError::bad_value},
      {"SIZE=123456789012345678901", ParameterError::bad_value},  // 21 digits
      {"SIZE=1 SIZE=2", ParameterError::bad_value},
      {"BODY=9BIT", ParameterError::bad_value},
      {"BODY", ParameterError::bad_value},
      {"BODY=7BIT BODY=7BIT", ParameterError::bad_value},
      {"BODY=BINARYMIME", ParameterError::unsupported_value},
      {"AUTH=<>", ParameterError::unknown_keyword},
      {"SMTPUTF8", ParameterError::unknown_keyword},
      {"RET=HDRS", ParameterError::unknown_keyword},
  };
  for (const auto& c : cases) {
    const auto parameters = relay::parse_esmtp_parameters(c.text);
    ASSERT_TRUE(parameters.has_value()) << c.text;
    const auto got = relay::interpret_mail_parameters(*parameters);
    ASSERT_FALSE(got.has_value()) << c.text;
    EXPECT_EQ(got.error(), c.want) << c.text;
  }
}

TEST(IsValidMailbox, BareMailboxes) {
  EXPECT_TRUE(relay::is_valid_mailbox("a@b.example"));
  EXPECT_TRUE(relay::is_valid_mailbox("\"x y\"@b.example"));
  EXPECT_FALSE(relay::is_valid_mailbox(""));
  EXPECT_FALSE(relay::is_valid_mailbox("a"));
  EXPECT_FALSE(relay::is_valid_mailbox("<a@b.example>"));
  EXPECT_FALSE(relay::is_valid_mailbox("@x.example:a@b.example"));
  EXPECT_FALSE(relay::is_valid_mailbox("a@b.example>"));
}

TEST(ParseBdatArgument, SizeAndLast) {
  using relay::BdatArgument;
  struct Case {
    std::string argument;
    std::optional<BdatArgument> want;
  };
  const std::vector<Case> cases = {
      {"0", BdatArgument{0, false}},
      {"12", BdatArgument{12, false}},
      {"12 LAST", BdatArgument{12, true}},
      {"1 last", BdatArgument{1, true}},
      {"7   LaSt", BdatArgument{7, true}},
      {"18446744073709551615", BdatArgument{18446744073709551615u, false}},
      {"", std::nullopt},
      {"x", std::nullopt},
      {"-1", std::nullopt},
      {"1 FIRST", std::nullopt},
      {"1LAST", std::nullopt},
      {"1 LAST x", std::nullopt},
      {"1 LASTS", std::nullopt},
      {"18446744073709551616", std::nullopt},  // over 2^64-1
      {"99999999999999999999999", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(relay::parse_bdat_argument(c.argument), c.want) << c.argument;
}

}  // namespace
