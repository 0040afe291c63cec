// tests/relay/milter/reply_test.cpp — every filter reply parsed, and every check that keeps
// what a filter says from breaking the message: header injection, size caps, reply codes.
#include "relay/milter/reply.hpp"

#include <gtest/gtest.h>

namespace relay::milter {
namespace {

using namespace std::string_literals;

std::expected<Reply, std::string> parse(char code, std::string data) { return parse_reply(Packet{code, std::move(data)}); }

TEST(MilterReply, VerdictsWithoutData) {
  const std::pair<char, ReplyKind> cases[] = {
      {'c', ReplyKind::continue_}, {'a', ReplyKind::accept},   {'r', ReplyKind::reject},
      {'t', ReplyKind::tempfail},  {'d', ReplyKind::discard},  {'s', ReplyKind::skip},
      {'p', ReplyKind::progress},  {'4', ReplyKind::shutdown}, {'f', ReplyKind::connection_fail}};
  for (const auto& [code, kind] : cases) {
    auto reply = parse(code, "");
    ASSERT_TRUE(reply) << code;
    EXPECT_EQ(reply->kind, kind);
    EXPECT_EQ(is_verdict(kind), kind != ReplyKind::progress);
  }
  EXPECT_FALSE(parse('c', "junk"));
  EXPECT_FALSE(parse('Z', ""));
}

TEST(MilterReply, ReplyCodeSingleAndMultiLine) {
  auto one = parse('y', "550 5.7.1 Spam\0"s);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->kind, ReplyKind::reply_code);
  EXPECT_EQ(one->text, "550 5.7.1 Spam\r\n");
  auto many = parse('y', "451-4.7.1 first\r\n451-4.7.1 second\r\n451 4.7.1 last\0"s);
  ASSERT_TRUE(many);
  EXPECT_EQ(many->text, "451-4.7.1 first\r\n451-4.7.1 second\r\n451 4.7.1 last\r\n");
  EXPECT_EQ(parse('y', "550-a\n550 b\0"s)->text, "550-a\r\n550 b\r\n");
}

TEST(MilterReply, ReplyCodeMustBeAValid4xxOr5xx) {
  for (const std::string& bad : {"250 ok\0"s, "221 bye\0"s, "55 short\0"s, "5x0 nope\0"s, "550-a\r\n551 b\0"s,
                                "550 a\r\n550 b\0"s, "550-a\0"s, "550 a\rb\0"s, "550 no terminator"s, "\0"s,
                                "550 tab\x01\0"s}) {
    EXPECT_FALSE(parse('y', bad)) << bad;
  }
  EXPECT_FALSE(parse('y', std::string(5000, '5') + '\0'));
}

TEST(MilterReply, HeaderModifications) {
  auto add = parse('h', "X-Spam\0yes\0"s);
  ASSERT_TRUE(add);
  EXPECT_EQ(add->name, "X-Spam");
  EXPECT_EQ(add->text, "yes");
  auto ins = parse('i', "\0\0\0\2X-Ins\0folded\n\tline\0"s);
  ASSERT_TRUE(ins);
  EXPECT_EQ(ins->index, 2u);
  EXPECT_EQ(ins->text, "folded\r\n\tline");
  auto change = parse('m', "\0\0\0\1Subject\0\0"s);  // empty value: delete
  ASSERT_TRUE(change);
  EXPECT_EQ(change->kind, ReplyKind::change_header);
  EXPECT_TRUE(change->text.empty());
}

TEST(MilterReply, HeaderInjectionIsRefused) {
  for (const std::string& bad : {"X-A\0one\r\nBcc: evil@example.com\0"s, "X-A\0one\nBcc: x\0"s, "X-A\0one\rBcc: x\0"s,
                                "X-A\0trailing\r\n\0"s, "X A\0v\0"s, "X:A\0v\0"s, "\0v\0"s, "X-A\0v"s,
                                "X-A\0v\0extra"s}) {
    EXPECT_FALSE(parse('h', bad)) << bad;
  }
  EXPECT_FALSE(parse('h', std::string(300, 'X') + "\0v\0"s));
  EXPECT_FALSE(parse('h', "X-A\0"s + std::string(limits::header_value_max + 1, 'v') + '\0'));
  EXPECT_FALSE(parse('i', "\0\0"s));
}

TEST(MilterReply, EnvelopeModifications) {
  auto from = parse('e', "<new@example.com>\0SIZE=10  BODY=8BITMIME\0"s);
  ASSERT_TRUE(from);
  EXPECT_EQ(from->text, "new@example.com");
  EXPECT_EQ(from->arguments, "SIZE=10 BODY=8BITMIME");
  EXPECT_EQ(parse('e', "<>\0"s)->text, "");
  EXPECT_EQ(parse('+', "<a@b>\0"s)->text, "a@b");
  EXPECT_EQ(parse('2', "b@c\0NOTIFY=NEVER\0"s)->arguments, "NOTIFY=NEVER");
  EXPECT_EQ(parse('-', "<a@b>\0"s)->kind, ReplyKind::del_rcpt);
  EXPECT_FALSE(parse('+', "<>\0"s));
  EXPECT_FALSE(parse('+', "<a@b>\0X=1\0"s));
  EXPECT_FALSE(parse('+', "a b@c\0"s));
  EXPECT_FALSE(parse('e', "<a@b>\0X=1\r\nRCPT TO:<x>\0"s));
  EXPECT_FALSE(parse('-', "a@b\r\n\0"s));
}

TEST(MilterReply, QuarantineAndBody) {
  EXPECT_EQ(parse('q', "virus found\0"s)->text, "virus found");
  EXPECT_FALSE(parse('q', "bad\nreason\0"s));
  EXPECT_EQ(parse('b', "raw\nbody"s)->text, "raw\nbody");
}

}  // namespace
}  // namespace relay::milter
