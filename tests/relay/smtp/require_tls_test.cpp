// tests/relay/smtp/require_tls_test.cpp — REQUIRETLS and "TLS-Required: No" as values:
// the stored flags, the header field, and whether a delivery session may carry a message.
#include "relay/smtp/require_tls.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::RequireTlsVerdict;

TEST(RequireTls, StoredParameters) {
  EXPECT_TRUE(relay::wants_requiretls("REQUIRETLS"));
  EXPECT_TRUE(relay::wants_requiretls("BODY=8BITMIME requiretls RET=HDRS"));
  EXPECT_FALSE(relay::wants_requiretls("BODY=8BITMIME"));
  EXPECT_FALSE(relay::wants_requiretls("TLS-REQUIRED=NO"));
  EXPECT_TRUE(relay::tls_optional("TLS-REQUIRED=NO"));
  EXPECT_TRUE(relay::tls_optional("BODY=8BITMIME TLS-REQUIRED=NO"));
  EXPECT_FALSE(relay::tls_optional(""));
  // RFC 8689 §4.1: with REQUIRETLS the header field is ignored.
  EXPECT_FALSE(relay::tls_optional("REQUIRETLS TLS-REQUIRED=NO"));
}

TEST(RequireTls, HeaderField) {
  struct Case {
    std::string message;
    bool no;
  };
  const std::vector<Case> cases = {
      {"Subject: x\r\nTLS-Required: No\r\n\r\nbody\r\n", true},
      {"tls-required:no\r\n\r\n", true},
      {"TLS-Required:\r\n  NO \r\n\r\n", true},              // folded value
      {"TLS-Required : No\r\n\r\n", true},                   // white space before the colon (obsolete syntax)
      {"Received: by x\r\nTLS-Required: No\n\n", true},      // bare LF line ends
      {"TLS-Required: Yes\r\n\r\n", false},                  // only "No" is defined
      {"TLS-Required: No thanks\r\n\r\n", false},
      {"X-TLS-Required: No\r\n\r\n", false},
      {"Subject: TLS-Required: No\r\n\r\n", false},
      {"Subject: x\r\n\r\nTLS-Required: No\r\n", false},     // in the body
      {"", false},
  };
  for (const auto& c : cases) EXPECT_EQ(relay::says_tls_not_required(c.message), c.no) << c.message;
  // Only the first limits::max_tls_required_scan octets are read.
  const std::string deep = "X: " + std::string(relay::limits::max_tls_required_scan, 'a') + "\r\nTLS-Required: No\r\n\r\n";
  EXPECT_FALSE(relay::says_tls_not_required(deep));
}

TEST(RequireTls, OneRequestPerMessage) {
  EXPECT_EQ(relay::tls_request(""), relay::TlsRequest::hop_policy);
  EXPECT_EQ(relay::tls_request("BODY=8BITMIME"), relay::TlsRequest::hop_policy);
  EXPECT_EQ(relay::tls_request("REQUIRETLS"), relay::TlsRequest::required);
  EXPECT_EQ(relay::tls_request("BODY=8BITMIME TLS-REQUIRED=NO"), relay::TlsRequest::waived);
  EXPECT_EQ(relay::tls_request("REQUIRETLS TLS-REQUIRED=NO"), relay::TlsRequest::required);  // RFC 8689 §4.1
}

TEST(RequireTls, SessionDecision) {
  using relay::TlsKind;
  struct Case {
    bool requiretls;
    TlsKind session;
    bool offered;
    RequireTlsVerdict want;
  };
  const std::vector<Case> cases = {
      {false, TlsKind::none, false, RequireTlsVerdict::not_required},
      {false, TlsKind::opportunistic, true, RequireTlsVerdict::not_required},
      {true, TlsKind::none, true, RequireTlsVerdict::unverified},
      {true, TlsKind::opportunistic, true, RequireTlsVerdict::unverified},
      {true, TlsKind::verified, false, RequireTlsVerdict::not_offered},
      {true, TlsKind::dane, false, RequireTlsVerdict::not_offered},
      {true, TlsKind::verified, true, RequireTlsVerdict::send},
      {true, TlsKind::dane, true, RequireTlsVerdict::send},
      // Any other record of authenticated TLS counts as verified (MTA-STS, for one).
      {true, TlsKind::mta_sts, true, RequireTlsVerdict::send},
  };
  for (const auto& c : cases)
    EXPECT_EQ(relay::check_requiretls(c.requiretls, c.session, c.offered), c.want)
        << relay::to_string(c.session) << c.offered;
}

}  // namespace
