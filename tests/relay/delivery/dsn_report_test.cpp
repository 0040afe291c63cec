// tests/relay/delivery/dsn_report_test.cpp — RFC 3464 reports: structure parsed back, fields, RET.
#include "relay/delivery/dsn_report.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using relay::DsnAction;
using relay::DsnInput;
using relay::DsnRecipient;

const std::string original =
    "Received: from hub1 by relay.test\r\n"
    "From: carol@example.com\r\n"
    "To: x@remote.example\r\n"
    "Subject: quarterly figures\r\n"
    "Message-ID: <orig-1@example.com>\r\n"
    "\r\n"
    "Body line one\r\n"
    "SECRET-BODY-MARKER\r\n";

DsnInput sample() {
  DsnInput in;
  in.reporting_mta = "relay.test";
  in.from = "MAILER-DAEMON@relay.test";
  in.to = "carol@example.com";
  in.arrival_ms = 1'700'000'000'000;
  in.now_ms = 1'700'000'360'000;
  in.recipients.push_back(DsnRecipient{.final_recipient = "x@remote.example",
                                       .original_recipient = "rfc822;X@remote.example",
                                       .action = DsnAction::failed,
                                       .status = {},
                                       .remote_mta = "smarthost-a.example",
                                       .diagnostic = "550 5.1.1 sink: mailbox unavailable",
                                       .last_attempt_ms = 1'700'000'350'000});
  in.recipients.push_back(DsnRecipient{.final_recipient = "y@remote.example",
                                       .action = DsnAction::failed,
                                       .diagnostic = "451 4.4.1 Connection to next hop failed"});
  in.original = original;
  in.boundary = "=_b_123";
  in.message_id = "<dsn.1@relay.test>";
  return in;
}

// A small MIME reader: top headers, then the parts between boundary lines.
struct Parsed {
  std::map<std::string, std::string> headers;  // first occurrence, unfolded
  std::vector<std::string> parts;              // raw part text (headers + body)
  bool closed = false;                         // the closing boundary was seen
};

Parsed parse(const std::string& message, const std::string& boundary) {
  Parsed p;
  const std::size_t header_end = message.find("\r\n\r\n");
  EXPECT_NE(header_end, std::string::npos);
  std::string last;
  for (std::size_t pos = 0; pos < header_end;) {
    const std::size_t end = message.find("\r\n", pos);
    std::string line = message.substr(pos, end - pos);
    pos = end + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      p.headers[last] += " " + line.substr(1);
      continue;
    }
    const std::size_t colon = line.find(':');
    last = line.substr(0, colon);
    if (!p.headers.contains(last)) p.headers[last] = line.substr(colon + 2);
  }
  const std::string delimiter = "\r\n--" + boundary;
  std::size_t pos = message.find(delimiter, header_end);
  while (pos != std::string::npos) {
    const std::size_t after = pos + delimiter.size();
    if (message.compare(after, 2, "--") == 0) {
      p.closed = true;
      break;
    }
    const std::size_t next = message.find(delimiter, after);
    p.parts.push_back(message.substr(after + 2, next == std::string::npos ? std::string::npos : next - after - 2));
    pos = next;
  }
  return p;
}

TEST(DsnReport, IsAMultipartReportWithThreeParts) {
  const std::string dsn = relay::build_dsn(sample());
  const Parsed p = parse(dsn, "=_b_123");
  EXPECT_EQ(p.headers.at("To"), "<carol@example.com>");
  EXPECT_NE(p.headers.at("Content-Type").find("multipart/report; report-type=delivery-status"), std::string::npos);
  EXPECT_NE(p.headers.at("Content-Type").find("boundary=\"=_b_123\""), std::string::npos);
  EXPECT_EQ(p.headers.at("Auto-Submitted"), "auto-replied");
  EXPECT_EQ(p.headers.at("Date"), "Tue, 14 Nov 2023 22:19:20 +0000");
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_TRUE(p.closed);
  EXPECT_TRUE(p.parts[0].starts_with("Content-Type: text/plain"));
  EXPECT_TRUE(p.parts[1].starts_with("Content-Type: message/delivery-status\r\n\r\n"));
  EXPECT_TRUE(p.parts[2].starts_with("Content-Type: text/rfc822-headers\r\n\r\n"));
}

TEST(DsnReport, DeliveryStatusFieldsPerMessageAndPerRecipient) {
  const Parsed p = parse(relay::build_dsn(sample()), "=_b_123");
  const std::string& status = p.parts.at(1);
  EXPECT_NE(status.find("Reporting-MTA: dns; relay.test\r\n"), std::string::npos);
  EXPECT_NE(status.find("Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  // Per-recipient blocks are separated by blank lines (RFC 3464 §2.1).
  const std::string first =
      "\r\n\r\nOriginal-Recipient: rfc822;X@remote.example\r\n"
      "Final-Recipient: rfc822; x@remote.example\r\n"
      "Action: failed\r\n"
      "Status: 5.1.1\r\n"
      "Remote-MTA: dns; smarthost-a.example\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 sink: mailbox unavailable\r\n"
      "Last-Attempt-Date: Tue, 14 Nov 2023 22:19:10 +0000\r\n";
  EXPECT_NE(status.find(first), std::string::npos) << status;
  EXPECT_NE(status.find("\r\n\r\nFinal-Recipient: rfc822; y@remote.example\r\nAction: failed\r\nStatus: 4.4.1\r\n"),
            std::string::npos)
      << status;
}

TEST(DsnReport, HeadersOnlyUnlessRetFull) {
  auto in = sample();
  std::string dsn = relay::build_dsn(in);
  EXPECT_NE(dsn.find("Subject: quarterly figures"), std::string::npos);
  EXPECT_EQ(dsn.find("SECRET-BODY-MARKER"), std::string::npos);

  in.return_full = true;
  dsn = relay::build_dsn(in);
  const Parsed p = parse(dsn, "=_b_123");
  ASSERT_EQ(p.parts.size(), 3u);
  EXPECT_TRUE(p.parts[2].starts_with("Content-Type: message/rfc822\r\n\r\n"));
  EXPECT_NE(p.parts[2].find("SECRET-BODY-MARKER"), std::string::npos);
}

TEST(DsnReport, DelayedNoticeAndConfigurableText) {
  auto in = sample();
  in.recipients.resize(1);
  in.recipients[0].action = DsnAction::delayed;
  in.recipients[0].diagnostic = "451 4.4.1 Connection to next hop failed";
  in.text = "Hello from the postmaster.\nStill trying.";
  in.envelope_id = "QQ314159";
  const std::string dsn = relay::build_dsn(in);
  EXPECT_NE(dsn.find("Subject: Delayed Mail"), std::string::npos);
  EXPECT_NE(dsn.find("Hello from the postmaster.\r\nStill trying.\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Original-Envelope-Id: QQ314159\r\n"), std::string::npos);
}

TEST(DsnReport, HopTextCannotInjectFields) {
  auto in = sample();
  in.recipients.resize(1);
  in.recipients[0].diagnostic = "550 5.7.1 bad\r\nAction: delivered";
  const std::string dsn = relay::build_dsn(in);
  EXPECT_EQ(dsn.find("\r\nAction: delivered"), std::string::npos);
}

TEST(DsnReport, StatusFromReplyTable) {
  struct Case {
    const char* reply;
    bool permanent;
    const char* want;
  };
  const Case cases[] = {
      {"550 5.1.1 no such user", true, "5.1.1"},  {"550-5.7.1 denied", true, "5.7.1"},
      {"554 rejected", true, "5.0.0"},            {"451 try later", false, "4.0.0"},
      {"451 4.4.2 Lost connection", false, "4.4.2"}, {"", true, "5.0.0"},
      {"garbage", false, "4.0.0"},                {"550 5.1 not a status", true, "5.0.0"},
  };
  for (const auto& c : cases) EXPECT_EQ(relay::status_of_reply(c.reply, c.permanent), c.want) << c.reply;
}

TEST(DsnReport, Rfc3461Parameters) {
  EXPECT_TRUE(relay::wants_full_return("BODY=8BITMIME RET=FULL"));
  EXPECT_TRUE(relay::wants_full_return("ret=full"));
  EXPECT_FALSE(relay::wants_full_return("RET=HDRS"));
  EXPECT_FALSE(relay::wants_full_return(""));
  EXPECT_EQ(relay::envelope_id_of("RET=HDRS ENVID=abc+2Bdef"), "abc+def");
  EXPECT_EQ(relay::envelope_id_of("RET=HDRS"), "");
  EXPECT_TRUE(relay::notify_allows("", DsnAction::failed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=NEVER", DsnAction::failed));
  EXPECT_TRUE(relay::notify_allows("NOTIFY=SUCCESS,FAILURE", DsnAction::failed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=SUCCESS,FAILURE", DsnAction::delayed));
  EXPECT_TRUE(relay::notify_allows("ORCPT=rfc822;a@b NOTIFY=DELAY", DsnAction::delayed));
  // "relayed" (RFC 3461 §4.1) only when SUCCESS was asked for.
  EXPECT_FALSE(relay::notify_allows("", DsnAction::relayed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=FAILURE,DELAY", DsnAction::relayed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=NEVER", DsnAction::relayed));
  EXPECT_TRUE(relay::notify_allows("NOTIFY=success", DsnAction::relayed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=NEVER", DsnAction::delayed));
  EXPECT_FALSE(relay::notify_allows("NOTIFY=SUCCESS", DsnAction::failed));
}

TEST(DsnReport, RelayedNoticeWithOriginalRecipient) {
  DsnInput in = sample();
  in.recipients.resize(1);
  in.recipients[0].action = DsnAction::relayed;
  in.recipients[0].status = "2.0.0";
  in.recipients[0].original_recipient = "rfc822;orig@example.com";
  in.recipients[0].diagnostic = "250 2.0.0 Ok: queued";
  const std::string report = relay::build_dsn(in);
  EXPECT_NE(report.find("Subject: Relayed Mail Delivery Report\r\n"), std::string::npos) << report;
  EXPECT_NE(report.find("Action: relayed\r\n"), std::string::npos);
  EXPECT_NE(report.find("Status: 2.0.0\r\n"), std::string::npos);
  EXPECT_NE(report.find("Original-Recipient: rfc822;orig@example.com\r\n"), std::string::npos);
}

}  // namespace
