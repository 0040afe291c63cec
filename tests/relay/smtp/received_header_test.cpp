// tests/relay/smtp/received_header_test.cpp — golden Received: headers with a fixed time.
#include "relay/smtp/received_header.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono;

// Tue, 1 Jul 2025 10:52:37 UTC
const system_clock::time_point fixed_time = sys_days{year{2025} / July / 1} + hours{10} + minutes{52} + seconds{37};

std::vector<std::string> lines_of(const std::string& header) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < header.size()) {
    const auto end = header.find("\r\n", start);
    EXPECT_NE(end, std::string::npos) << "header must end in CRLF";
    if (end == std::string::npos) break;
    lines.push_back(header.substr(start, end - start));
    start = end + 2;
  }
  return lines;
}

TEST(ReceivedHeader, GoldenOneRecipient) {
  const std::vector<std::string> recipients = {"user@example.com"};
  const auto got = relay::build_received_header({
      .helo = "client.example.org",
      .peer_address = "192.0.2.10",
      .hostname = "mx.example.com",
      .esmtp = true,
      .id = "1a2b",
      .recipients = recipients,
      .when = fixed_time,
  });
  EXPECT_EQ(got,
            "Received: from client.example.org ([192.0.2.10])\r\n"
            "\tby mx.example.com (hubrelay) with ESMTP id 1a2b\r\n"
            "\tfor <user@example.com>; Tue, 1 Jul 2025 10:52:37 +0000\r\n");
}

TEST(ReceivedHeader, GoldenSeveralRecipientsHeloIpv6) {
  const std::vector<std::string> recipients = {"a@example.com", "b@example.com"};
  const auto got = relay::build_received_header({
      .helo = "old.example",
      .peer_address = "2001:db8::25",
      .hostname = "mx.example.com",
      .esmtp = false,
      .id = "ff",
      .recipients = recipients,
      .when = fixed_time,
  });
  EXPECT_EQ(got,
            "Received: from old.example ([IPv6:2001:db8::25])\r\n"
            "\tby mx.example.com (hubrelay) with SMTP id ff;\r\n"
            "\tTue, 1 Jul 2025 10:52:37 +0000\r\n");
  EXPECT_EQ(got.find("a@example.com"), std::string::npos) << "recipients must not be disclosed";
}

TEST(ReceivedHeader, HostileHeloIsSanitizedAndFolded) {
  const std::vector<std::string> recipients = {"\"john doe\"@example.com"};
  const std::string helo = "evil\r\nX-Injected: yes (comment); " + std::string(200, 'a');
  const auto got = relay::build_received_header({
      .helo = helo,
      .peer_address = "2001:db8:1234:5678:9abc:def0:1234:5678",
      .hostname = "mx.example.com",
      .recipients = recipients,
      .when = fixed_time,
  });
  const auto lines = lines_of(got);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_TRUE(lines[0].starts_with("Received: from"));
  EXPECT_NE(got.find("evil??X-Injected:?yes??comment???aaa"), std::string::npos) << got;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_LE(lines[i].size(), 78u) << lines[i];
    if (i > 0) {
      EXPECT_EQ(lines[i].front(), '\t') << "continuation lines are folded with a tab";
    }
  }
  // The quoted recipient is not split at its space.
  EXPECT_NE(got.find("for <\"john doe\"@example.com>;"), std::string::npos);
  EXPECT_EQ(got.find("X-Injected: yes"), std::string::npos);
  EXPECT_NE(got.find("with ESMTP\r\n"), std::string::npos) << "no id, no \"id\" keyword";
}

TEST(Rfc5322Date, Formats) {
  EXPECT_EQ(relay::format_rfc5322_date(fixed_time), "Tue, 1 Jul 2025 10:52:37 +0000");
  EXPECT_EQ(relay::format_rfc5322_date(sys_days{year{2024} / February / 29} + hours{23} + minutes{59} + seconds{59} +
                                       milliseconds{999}),
            "Thu, 29 Feb 2024 23:59:59 +0000");
  EXPECT_EQ(relay::format_rfc5322_date(system_clock::time_point{}), "Thu, 1 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(relay::format_rfc5322_date(sys_days{year{2000} / December / 31}), "Sun, 31 Dec 2000 00:00:00 +0000");
}

TEST(SanitizeHelo, Cases) {
  EXPECT_EQ(relay::sanitize_helo("mail.example.com"), "mail.example.com");
  EXPECT_EQ(relay::sanitize_helo("[192.0.2.1]"), "[192.0.2.1]");
  EXPECT_EQ(relay::sanitize_helo(""), "unknown");
  EXPECT_EQ(relay::sanitize_helo("a b;c(d)\xff"), "a?b?c?d??");
  EXPECT_EQ(relay::sanitize_helo(std::string(100, 'x')).size(), relay::limits::max_received_helo);
}

TEST(AddressLiteral, Forms) {
  EXPECT_EQ(relay::address_literal("192.0.2.1"), "[192.0.2.1]");
  EXPECT_EQ(relay::address_literal("::1"), "[IPv6:::1]");
  EXPECT_EQ(relay::address_literal(""), "[unknown]");
}

}  // namespace
