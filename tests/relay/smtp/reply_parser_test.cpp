// tests/relay/smtp/reply_parser_test.cpp — incremental reply parsing, limits, malformed input.
#include "relay/smtp/reply_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::Reply;
using relay::ReplyError;
using relay::ReplyParser;

// Parses all replies in `input`, feeding `chunk` octets at a time (0: all at once).
std::expected<std::vector<Reply>, ReplyError> parse_all(std::string_view input, std::size_t chunk = 0) {
  ReplyParser parser;
  std::vector<Reply> replies;
  std::size_t offset = 0;
  while (offset < input.size()) {
    const std::size_t n = chunk == 0 ? input.size() - offset : std::min(chunk, input.size() - offset);
    std::string_view piece = input.substr(offset, n);
    offset += n;
    while (!piece.empty()) {
      auto step = parser.feed(piece);
      if (!step) return std::unexpected(step.error());
      if (step->reply) replies.push_back(std::move(*step->reply));
      piece.remove_prefix(step->consumed);
      if (step->consumed == 0) break;
    }
  }
  return replies;
}

TEST(ReplyParser, SingleAndMultiLine) {
  const std::string input =
      "220 mx.example.com ESMTP\r\n"
      "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 ENHANCEDSTATUSCODES\r\n"
      "250 2.1.0 Sender ok\r\n"
      "550-5.7.1 Relay access\r\n550 5.7.1 denied\r\n"
      "354\r\n"
      "421 4.4.2 mx closing\n";  // bare LF tolerated
  for (std::size_t chunk : {0u, 1u, 2u, 3u, 5u, 17u}) {
    const auto got = parse_all(input, chunk);
    ASSERT_TRUE(got.has_value()) << chunk;
    ASSERT_EQ(got->size(), 6u) << chunk;
    const auto& r = *got;
    EXPECT_EQ(r[0].code, 220);
    EXPECT_FALSE(r[0].enhanced);
    EXPECT_EQ(r[0].lines, std::vector<std::string>{"mx.example.com ESMTP"});
    EXPECT_EQ(r[1].code, 250);
    EXPECT_EQ(r[1].lines, (std::vector<std::string>{"mx.example.com", "PIPELINING", "SIZE 1000", "ENHANCEDSTATUSCODES"}));
    EXPECT_EQ(r[2].enhanced, (relay::EnhancedStatus{2, 1, 0}));
    EXPECT_EQ(r[2].lines, std::vector<std::string>{"Sender ok"});
    EXPECT_EQ(r[3].code, 550);
    EXPECT_EQ(r[3].enhanced->to_string(), "5.7.1");
    EXPECT_EQ(r[3].lines, (std::vector<std::string>{"Relay access", "denied"}));
    EXPECT_EQ(r[3].text(), "Relay access denied");
    EXPECT_TRUE(r[3].permanent());
    EXPECT_EQ(r[4].code, 354);
    EXPECT_EQ(r[4].lines, std::vector<std::string>{""});
    EXPECT_EQ(r[5].code, 421);
    EXPECT_TRUE(r[5].transient());
    EXPECT_EQ(r[5].lines, std::vector<std::string>{"mx closing"});
  }
}

TEST(ReplyParser, StopsAfterEachReply) {
  ReplyParser parser;
  const std::string input = "250 ok\r\n251 also\r\n";
  auto first = parser.feed(input);
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(first->reply.has_value());
  EXPECT_EQ(first->consumed, 8u);
  auto second = parser.feed(std::string_view(input).substr(first->consumed));
  ASSERT_TRUE(second->reply.has_value());
  EXPECT_EQ(second->reply->code, 251);
  EXPECT_FALSE(parser.in_progress());
}

TEST(ReplyParser, EnhancedStatusOnlyWhenClassMatches) {
  const auto got = parse_all("250 5.1.1 looks like status\r\n250 1.2.3.4 is your address\r\n550 no status here\r\n");
  ASSERT_TRUE(got.has_value());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_FALSE((*got)[0].enhanced);
  EXPECT_EQ((*got)[0].lines[0], "5.1.1 looks like status");
  EXPECT_FALSE((*got)[1].enhanced);
  EXPECT_FALSE((*got)[2].enhanced);
}

TEST(ReplyParser, Malformed) {
  const std::vector<std::string> cases = {
      "25 short\r\n",
      "abc text\r\n",
      "150 one-digit class 1\r\n",
      "650 class 6\r\n",
      "260 second digit 6\r\n",
      "250x no separator\r\n",
      "250-first\r\n251 different code\r\n",
      "\r\n",
      "250\t tab separator\r\n",
  };
  for (const auto& c : cases) {
    const auto got = parse_all(c);
    ASSERT_FALSE(got.has_value()) << c;
    EXPECT_EQ(got.error(), ReplyError::malformed) << c;
  }
}

TEST(ReplyParser, Limits) {
  const std::string long_line = "250 " + std::string(995, 'x') + "\r\n";  // 1001 octets
  auto got = parse_all(long_line);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), ReplyError::line_too_long);
  // Detected before the LF arrives: nothing unbounded is buffered.
  ReplyParser parser;
  auto partial = parser.feed("250 " + std::string(2000, 'x'));
  ASSERT_FALSE(partial.has_value());
  EXPECT_EQ(partial.error(), ReplyError::line_too_long);
  // Once failed, the parser stays failed.
  EXPECT_FALSE(parser.feed("250 ok\r\n").has_value());
  parser.reset();
  EXPECT_TRUE(parser.feed("250 ok\r\n").has_value());

  const std::string at_limit = "250 " + std::string(994, 'x') + "\r\n";  // 1000 octets
  EXPECT_TRUE(parse_all(at_limit).has_value());

  std::string many;
  for (int i = 0; i < 100; ++i) many += "250-line\r\n";
  many += "250 last\r\n";
  got = parse_all(many);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error(), ReplyError::too_many_lines);

  std::string hundred;
  for (int i = 0; i < 99; ++i) hundred += "250-line\r\n";
  hundred += "250 last\r\n";
  got = parse_all(hundred);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->front().lines.size(), 100u);
}

TEST(EnhancedStatus, Parse) {
  EXPECT_EQ(relay::parse_enhanced_status("2.0.0"), (relay::EnhancedStatus{2, 0, 0}));
  EXPECT_EQ(relay::parse_enhanced_status("5.7.123"), (relay::EnhancedStatus{5, 7, 123}));
  EXPECT_EQ(relay::parse_enhanced_status("4.123.1"), (relay::EnhancedStatus{4, 123, 1}));
  for (const char* bad : {"", "2.0", "3.0.0", "2.0.0.", "2..0", "2.0.1234", "2.a.0", "20.0.0", "2.0.0 "}) {
    EXPECT_FALSE(relay::parse_enhanced_status(bad)) << bad;
  }
}

}  // namespace

namespace {

TEST(ReplyParser, BufferConvenience) {
  relay::ReplyParser parser;
  std::string buffer = "250-mx\r\n250-PIPE";
  auto parsed = parser.parse(buffer);
  EXPECT_EQ(parsed.status, relay::ReplyParser::Status::incomplete);
  EXPECT_TRUE(buffer.empty()) << "partial lines are kept inside the parser";
  buffer += "LINING\r\n250 8BITMIME\r\n550 5.7.1 no\r\n";
  parsed = parser.parse(buffer);
  ASSERT_EQ(parsed.status, relay::ReplyParser::Status::complete);
  EXPECT_EQ(parsed.reply.lines, (std::vector<std::string>{"mx", "PIPELINING", "8BITMIME"}));
  EXPECT_EQ(buffer, "550 5.7.1 no\r\n");
  parsed = parser.parse(buffer);
  ASSERT_EQ(parsed.status, relay::ReplyParser::Status::complete);
  EXPECT_EQ(parsed.reply.to_string(), "550 5.7.1 no");
  buffer = "xyz\r\n";
  parsed = parser.parse(buffer);
  EXPECT_EQ(parsed.status, relay::ReplyParser::Status::malformed);
  EXPECT_EQ(parsed.error, "malformed");
}

TEST(Reply, ToString) {
  relay::Reply r;
  r.code = 250;
  r.lines = {"mx.example.com", "PIPELINING"};
  EXPECT_EQ(r.to_string(), "250 mx.example.com PIPELINING");
  r.code = 354;
  r.lines = {""};
  EXPECT_EQ(r.to_string(), "354");
  r.code = 451;
  r.enhanced = relay::EnhancedStatus{4, 3, 0};
  r.lines = {"try later"};
  EXPECT_EQ(r.to_string(), "451 4.3.0 try later");
}

}  // namespace
