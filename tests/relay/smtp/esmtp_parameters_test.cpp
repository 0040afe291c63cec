// tests/relay/smtp/esmtp_parameters_test.cpp — DSN (RFC 3461) and SMTPUTF8 (RFC 6531)
// parameter meaning, xtext, UTF-8 and UTF-8 paths; table-driven.
#include "relay/smtp/esmtp_parameters.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::DsnReturn;
using relay::ParameterError;

struct MailCase {
  std::string text;
  bool ok;
  ParameterError error = ParameterError::bad_value;
};

TEST(EsmtpParameters, MailParameters) {
  const std::string envid_100(100, 'e');
  const std::string envid_101(101, 'e');
  const std::vector<MailCase> cases = {
      {"", true},
      {"RET=FULL", true},
      {"ret=hdrs", true},
      {"RET=HDRS ENVID=abc+2Bdef", true},
      {"ENVID=" + envid_100, true},
      {"ENVID=" + envid_101, false},
      {"ENVID=+20" + std::string(99, 'x'), true},        // decoded length counts: 100
      {"ENVID=+20" + std::string(100, 'x'), false},
      {"ENVID=a+0Ab", false},                              // decodes to a control character
      {"ENVID=a+7Fb", false},                              // DEL is not printable
      {"ENVID=a+C3b", false},                              // 8-bit after decoding
      {"ENVID=a+2", false},                                // truncated hexchar
      {"ENVID=a+ZZ", false},                               // not hex
      {"ENVID=a+2b", true},                                // lower-case hex accepted
      {"RET=FULL RET=FULL", false},                        // duplicate
      {"RET=FULL RET=HDRS", false},
      {"ENVID=a ENVID=b", false},
      {"RET=ALL", false},
      {"RET", false},
      {"SMTPUTF8", true},
      {"smtputf8 BODY=8BITMIME SIZE=10 RET=FULL ENVID=x", true},
      {"SMTPUTF8=yes", false},
      {"SMTPUTF8 SMTPUTF8", false},
      {"SIZE=10 SIZE=11", false},
      {"REQUIRETLS", true},                                // RFC 8689 §3: no value
      {"requiretls SMTPUTF8 RET=HDRS", true},
      {"REQUIRETLS=YES", false},
      {"REQUIRETLS REQUIRETLS", false},
      // The flag the listener stores for "TLS-Required: No" cannot come from a client.
      {"TLS-REQUIRED=NO", false, ParameterError::unknown_keyword},
      {"X-UNKNOWN=1", false, ParameterError::unknown_keyword},
      {"BODY=BINARYMIME", false, ParameterError::unsupported_value},
  };
  for (const auto& c : cases) {
    auto parsed = relay::parse_esmtp_parameters(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    const auto got = relay::interpret_mail_extensions(*parsed);
    EXPECT_EQ(got.has_value(), c.ok) << c.text;
    if (!c.ok && !got) {
      EXPECT_EQ(got.error(), c.error) << c.text;
    }
  }
  auto parsed = relay::parse_esmtp_parameters("RET=hdrs ENVID=q+2Bx SMTPUTF8 SIZE=7");
  const auto got = relay::interpret_mail_extensions(*parsed);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->ret, DsnReturn::headers);
  EXPECT_EQ(got->envid, "q+2Bx");
  EXPECT_TRUE(got->smtputf8);
  EXPECT_FALSE(got->requiretls);
  EXPECT_EQ(got->basic.size, 7u);
  parsed = relay::parse_esmtp_parameters("REQUIRETLS");
  const auto required = relay::interpret_mail_extensions(*parsed);
  ASSERT_TRUE(required);
  EXPECT_TRUE(required->requiretls);
}

TEST(EsmtpParameters, RcptParameters) {
  const std::vector<MailCase> cases = {
      {"", true},
      {"NOTIFY=NEVER", true},
      {"NOTIFY=never", true},
      {"NOTIFY=SUCCESS", true},
      {"NOTIFY=SUCCESS,FAILURE", true},
      {"NOTIFY=DELAY,FAILURE,SUCCESS", true},
      {"NOTIFY=NEVER,SUCCESS", false},      // NEVER stands alone
      {"NOTIFY=FAILURE,NEVER", false},
      {"NOTIFY=SUCCESS,SUCCESS", false},    // repeated value
      {"NOTIFY=SUCCESS,", false},
      {"NOTIFY=,SUCCESS", false},
      {"NOTIFY=SUCCESS,,DELAY", false},
      {"NOTIFY=ALWAYS", false},
      {"NOTIFY", false},
      {"NOTIFY=NEVER NOTIFY=NEVER", false},  // duplicate parameter
      {"ORCPT=rfc822;a@b.example", true},
      {"ORCPT=RFC822;a+2Bb@b.example", true},
      {"ORCPT=utf-8;j\\x{FC}rgen@b.example", true},
      {"ORCPT=x-local;anything", true},
      {"ORCPT=rfc822;", false},              // empty address
      {"ORCPT=;a@b", false},                 // empty addr-type
      {"ORCPT=rfc822", false},               // no ";"
      {"ORCPT=rf(c;a@b", false},             // addr-type is an atom
      {"ORCPT=rfc822;a+4", false},           // bad xtext
      {"ORCPT=rfc822;" + std::string(501, 'a'), false},
      {"ORCPT=rfc822;" + std::string(500, 'a'), true},
      {"ORCPT=rfc822;a@b ORCPT=rfc822;c@d", false},
      {"NOTIFY=FAILURE ORCPT=rfc822;a@b", true},
      {"SIZE=10", false, ParameterError::unknown_keyword},
      {"X-FOO", false, ParameterError::unknown_keyword},
  };
  for (const auto& c : cases) {
    auto parsed = relay::parse_esmtp_parameters(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    const auto got = relay::interpret_rcpt_parameters(*parsed);
    EXPECT_EQ(got.has_value(), c.ok) << c.text;
    if (!c.ok && !got) {
      EXPECT_EQ(got.error(), c.error) << c.text;
    }
  }
  auto parsed = relay::parse_esmtp_parameters("NOTIFY=success,delay ORCPT=rfc822;a@b");
  const auto got = relay::interpret_rcpt_parameters(*parsed);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->notify, relay::notify_success | relay::notify_delay);
  EXPECT_EQ(got->orcpt_type, "rfc822");
  EXPECT_EQ(got->orcpt_value, "a@b");
}

TEST(EsmtpParameters, Xtext) {
  struct Case {
    std::string text;
    bool valid;
    std::string decoded;
  };
  const std::vector<Case> cases = {
      {"", true, ""},
      {"abc", true, "abc"},
      {"a+2Bb", true, "a+b"},
      {"+3D", true, "="},
      {"a=b", false, ""},
      {"a b", false, ""},
      {"a+", false, ""},
      {"a+4", false, ""},
      {"a+4G", false, ""},
      {"\xc3\xa9", false, ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(relay::is_valid_xtext(c.text), c.valid) << c.text;
    const auto decoded = relay::decode_xtext(c.text);
    EXPECT_EQ(decoded.has_value(), c.valid) << c.text;
    if (decoded) {
      EXPECT_EQ(*decoded, c.decoded);
    }
  }
  EXPECT_EQ(relay::encode_xtext("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(relay::decode_xtext(relay::encode_xtext("x\x01+=\xff")), std::string("x\x01+=\xff"));
}

TEST(EsmtpParameters, Utf8) {
  struct Case {
    std::string text;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"", true},
      {"ascii", true},
      {"j\xc3\xbcrgen", true},                // ü
      {"\xe4\xbe\x8b\xe3\x81\x88", true},      // 例え
      {"\xf0\x9f\x93\xa7", true},              // U+1F4E7
      {"\xc3", false},                         // truncated
      {"\xc0\xaf", false},                     // overlong "/"
      {"\xe0\x80\xaf", false},                 // overlong
      {"\xed\xa0\x80", false},                 // surrogate
      {"\xf4\x90\x80\x80", false},             // beyond U+10FFFF
      {"\xff", false},
      {"\x80", false},                         // lone continuation
      {"a\xc3\x28", false},                    // bad continuation
  };
  for (const auto& c : cases) EXPECT_EQ(relay::is_valid_utf8(c.text), c.valid) << c.text;
}

TEST(EsmtpParameters, Utf8PathsOnlyWhenAllowed) {
  struct Case {
    std::string argument;
    bool strict_ok;
    bool utf8_ok;
  };
  const std::vector<Case> cases = {
      {"TO:<j\xc3\xbcrgen@example.com>", false, true},
      {"TO:<user@b\xc3\xbc\x63her.example>", false, true},          // U-label domain
      {"TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>", false, true},
      {"TO:<\"j\xc3\xbc rgen\"@example.com>", false, true},        // quoted local part
      {"TO:<j\xc3rgen@example.com>", false, false},                 // invalid UTF-8
      {"TO:<j\xc0\xafrgen@example.com>", false, false},             // overlong
      {"TO:<user@[1.2.3.\xc3\xa4]>", false, false},                 // literals stay ASCII
      {"TO:<user@example.com>", true, true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(relay::parse_rcpt_to(c.argument).has_value(), c.strict_ok) << c.argument;
    EXPECT_EQ(relay::parse_rcpt_to(c.argument, relay::PathOptions{.allow_utf8 = true}).has_value(), c.utf8_ok)
        << c.argument;
  }
  const auto strict = relay::parse_rcpt_to("TO:<j\xc3\xbcrgen@example.com>");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error(), relay::EnvelopeError::non_ascii_address);
  const auto got = relay::parse_mail_from("FROM:<j\xc3\xbcrgen@example.com> SMTPUTF8", relay::PathOptions{true});
  ASSERT_TRUE(got);
  EXPECT_EQ(got->sender, "j\xc3\xbcrgen@example.com");
}

TEST(EsmtpParameters, DsnParametersForTheNextHop) {
  EXPECT_EQ(relay::dsn_mail_parameters(""), "");
  EXPECT_EQ(relay::dsn_mail_parameters("BODY=8BITMIME SIZE=10"), "");
  EXPECT_EQ(relay::dsn_mail_parameters("ret=hdrs ENVID=id+2B1 SMTPUTF8"), " RET=HDRS ENVID=id+2B1");
  EXPECT_EQ(relay::dsn_rcpt_parameters("", ""), "");
  EXPECT_EQ(relay::dsn_rcpt_parameters("", "a@b.example"), " ORCPT=rfc822;a@b.example");
  EXPECT_EQ(relay::dsn_rcpt_parameters("", "a+x@b.example"), " ORCPT=rfc822;a+2Bx@b.example");
  EXPECT_EQ(relay::dsn_rcpt_parameters("", "j\xc3\xbcrgen@b.example"), " ORCPT=utf-8;j\\x{FC}rgen@b.example");
  EXPECT_EQ(relay::dsn_rcpt_parameters("notify=success,failure ORCPT=rfc822;x@y", "a@b"),
            " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x@y");
  EXPECT_EQ(relay::dsn_rcpt_parameters("NOTIFY=NEVER", "a@b"), " NOTIFY=NEVER ORCPT=rfc822;a@b");
}

TEST(EsmtpParameters, OriginalRecipientAndFlags) {
  EXPECT_EQ(relay::original_recipient_of(""), "");
  EXPECT_EQ(relay::original_recipient_of("NOTIFY=NEVER"), "");
  EXPECT_EQ(relay::original_recipient_of("ORCPT=rfc822;a+2Bb@c.example NOTIFY=FAILURE"), "rfc822;a+b@c.example");
  EXPECT_EQ(relay::original_recipient_of("ORCPT=broken"), "");
  EXPECT_TRUE(relay::wants_smtputf8("BODY=8BITMIME SMTPUTF8"));
  EXPECT_TRUE(relay::wants_smtputf8("smtputf8"));
  EXPECT_FALSE(relay::wants_smtputf8("BODY=8BITMIME"));
  EXPECT_FALSE(relay::wants_smtputf8("X-SMTPUTF8"));
  EXPECT_EQ(relay::find_parameter("A=1 B C=3", "b"), std::optional<std::string_view>(""));
  EXPECT_EQ(relay::find_parameter("A=1 B C=3", "c"), std::optional<std::string_view>("3"));
  EXPECT_FALSE(relay::find_parameter("A=1", "AB").has_value());
}

}  // namespace
