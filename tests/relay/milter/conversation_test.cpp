// tests/relay/milter/conversation_test.cpp — the per-filter conversation: negotiation,
// skipped and unanswered steps, verdict scope per stage, modifications only at end of
// message and only as negotiated, abort and quit, failures.
#include "relay/milter/conversation.hpp"

#include <gtest/gtest.h>

namespace relay::milter {
namespace {

using namespace std::string_literals;

Packet optneg(std::uint32_t actions, std::uint32_t steps, std::string extra = {}) {
  std::string data;
  append_u32(data, 6);
  append_u32(data, actions);
  append_u32(data, steps);
  return Packet{'O', data + extra};
}

std::vector<Packet> packets(std::string_view bytes) {
  PacketReader reader;
  reader.feed(bytes);
  std::vector<Packet> out;
  while (auto next = reader.next()) {
    if (!*next) break;
    out.push_back(std::move(**next));
  }
  return out;
}

Conversation negotiated(std::uint32_t actions = action_bit::all, std::uint32_t steps = 0) {
  Conversation c(default_macro_lists());
  auto request = c.negotiate();
  EXPECT_TRUE(request.await_reply);
  EXPECT_EQ(c.receive(optneg(actions, steps)).status, Outcome::Status::decided);
  return c;
}

Outcome answer(Conversation& c, char code, std::string data = {}) { return c.receive(Packet{code, std::move(data)}); }

TEST(MilterConversation, NegotiationOffersVersion6EveryActionAndTheHonouredSteps) {
  auto sent = packets(negotiation_packet());
  ASSERT_EQ(sent.size(), 1u);
  DataCursor cursor(sent[0].data);
  EXPECT_EQ(cursor.u32(), 6u);
  EXPECT_EQ(cursor.u32(), action_bit::all);
  EXPECT_EQ(cursor.u32(), step_bit::offered);
}

TEST(MilterConversation, NegotiationRefusesWhatWasNotOffered) {
  EXPECT_FALSE(parse_negotiation(optneg(0x200, 0)));
  EXPECT_FALSE(parse_negotiation(optneg(0, step_bit::rcpt_rejected)));
  EXPECT_FALSE(parse_negotiation(Packet{'O', "\0\0\0\6"s}));
  std::string bad_version;
  append_u32(bad_version, 7);
  append_u32(bad_version, 0);
  append_u32(bad_version, 0);
  EXPECT_FALSE(parse_negotiation(Packet{'O', bad_version}));
  EXPECT_FALSE(parse_negotiation(Packet{'c', ""}));
  EXPECT_TRUE(parse_negotiation(optneg(0, 0x30000000)));  // larger data sizes: harmless
}

TEST(MilterConversation, SymbolListReplacesTheConfiguredMacros) {
  std::string extra;
  append_u32(extra, 0);  // connect
  append_cstring(extra, "{client_addr} j");
  Conversation c(default_macro_lists());
  c.negotiate();
  ASSERT_EQ(c.receive(optneg(action_bit::set_symbol_list, 0, extra)).status, Outcome::Status::decided);
  auto request = c.connect({"[192.0.2.1]", "192.0.2.1", 2525, false},
                           {{"j", "relay.example"}, {"{client_addr}", "192.0.2.1"}, {"_", "x"}});
  auto sent = packets(request.bytes);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].code, 'D');
  EXPECT_EQ(sent[0].data, "C{client_addr}\0" "192.0.2.1\0j\0relay.example\0"s);
  EXPECT_EQ(sent[1].code, 'C');
  EXPECT_EQ(sent[1].data, "[192.0.2.1]\0" "4\x09\xdd" "192.0.2.1\0"s);
  EXPECT_FALSE(parse_negotiation(optneg(0, 0, extra)));  // a list without asking for it
}

TEST(MilterConversation, SkippedStepsAreNotSentAndUnansweredStepsNotAwaited) {
  auto c = negotiated(0, step_bit::no_connect | step_bit::no_helo | step_bit::no_body | step_bit::nr_rcpt |
                             step_bit::nr_header);
  EXPECT_TRUE(c.connect({"[::1]", "::1", 1, true}, {}).bytes.empty());
  EXPECT_TRUE(c.helo("client", {}).bytes.empty());
  auto mail = c.mail("a@b", std::vector<std::string>{"SIZE=10"}, {{"{mail_addr}", "a@b"}});
  auto sent = packets(mail.bytes);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].data, "<a@b>\0SIZE=10\0"s);
  EXPECT_TRUE(mail.await_reply);
  EXPECT_EQ(answer(c, 'c').status, Outcome::Status::decided);
  auto rcpt = c.rcpt("r@x", {}, {});
  EXPECT_FALSE(rcpt.await_reply);
  EXPECT_FALSE(c.awaiting());
  auto header = c.header("Subject", "hi");
  EXPECT_FALSE(header.await_reply);
  EXPECT_FALSE(c.wants_body());
  EXPECT_TRUE(c.body("text").bytes.empty());
  auto eom = c.end_of_message({});
  EXPECT_TRUE(eom.await_reply);
}

TEST(MilterConversation, RejectAtRcptIsTheRecipientsAtMailTheMessagesAtConnectTheSessions) {
  auto c = negotiated();
  c.connect({"[192.0.2.1]", "192.0.2.1", 1, false}, {});
  EXPECT_EQ(answer(c, 'c').verdict, ReplyKind::continue_);
  c.mail("a@b", {}, {});
  answer(c, 'c');
  c.rcpt("r1@x", {}, {});
  EXPECT_EQ(answer(c, 'r').verdict, ReplyKind::reject);
  EXPECT_FALSE(c.message_done());
  EXPECT_FALSE(c.rcpt("r2@x", {}, {}).bytes.empty());
  auto coded = answer(c, 'y', "450 4.2.0 later\0"s);
  EXPECT_EQ(coded.verdict, ReplyKind::reply_code);
  EXPECT_EQ(coded.reply, "450 4.2.0 later\r\n");
  c.data({});
  EXPECT_EQ(answer(c, 't').verdict, ReplyKind::tempfail);
  EXPECT_TRUE(c.message_done());
  EXPECT_TRUE(c.header("a", "b").bytes.empty());
  EXPECT_EQ(packets(c.abort()).at(0).code, 'A');
  EXPECT_FALSE(c.mail("next@b", {}, {}).bytes.empty());  // the next transaction is filtered again
  answer(c, 'c');

  auto d = negotiated();
  d.connect({"[192.0.2.1]", "192.0.2.1", 1, false}, {});
  EXPECT_EQ(answer(d, 'r').verdict, ReplyKind::reject);
  EXPECT_TRUE(d.session_done());
  EXPECT_TRUE(d.mail("a@b", {}, {}).bytes.empty());
}

TEST(MilterConversation, AcceptEndsTheFiltersInterest) {
  auto c = negotiated();
  c.helo("client", {});
  answer(c, 'c');
  c.mail("a@b", {}, {});
  EXPECT_EQ(answer(c, 'a').verdict, ReplyKind::accept);
  EXPECT_TRUE(c.rcpt("r@x", {}, {}).bytes.empty());
  EXPECT_TRUE(c.end_of_message({}).bytes.empty());
  EXPECT_FALSE(c.abort().empty());
  auto s = negotiated();
  s.connect({"[192.0.2.1]", "192.0.2.1", 1, false}, {});
  answer(s, 'a');
  EXPECT_TRUE(s.session_done());
  EXPECT_TRUE(s.abort().empty());
}

TEST(MilterConversation, SkipEndsTheBodyOnlyWhenNegotiated) {
  auto c = negotiated(action_bit::all, step_bit::skip);
  c.mail("a@b", {}, {});
  answer(c, 'c');
  c.body("chunk one");
  EXPECT_EQ(answer(c, 's').verdict, ReplyKind::skip);
  EXPECT_FALSE(c.wants_body());
  EXPECT_TRUE(c.body("chunk two").bytes.empty());
  EXPECT_FALSE(c.end_of_message({}).bytes.empty());

  auto strict = negotiated();
  strict.mail("a@b", {}, {});
  answer(strict, 'c');
  strict.body("x");
  EXPECT_EQ(answer(strict, 's').status, Outcome::Status::failed);
}

TEST(MilterConversation, ProgressKeepsWaiting) {
  auto c = negotiated();
  c.mail("a@b", {}, {});
  answer(c, 'c');
  c.end_of_message({});
  auto progress = answer(c, 'p');
  EXPECT_EQ(progress.status, Outcome::Status::waiting);
  EXPECT_TRUE(progress.progress);
  EXPECT_TRUE(c.awaiting());
  EXPECT_EQ(answer(c, 'c').status, Outcome::Status::decided);
  EXPECT_TRUE(c.abort().empty());  // end of message answered: no abort due
}

TEST(MilterConversation, ModificationsOnlyAtEndOfMessageAndOnlyAsNegotiated) {
  auto c = negotiated(action_bit::add_headers | action_bit::quarantine);
  c.mail("a@b", {}, {});
  EXPECT_EQ(answer(c, 'h', "X-A\0v\0"s).status, Outcome::Status::failed);  // before end of message
  EXPECT_TRUE(c.failed());

  auto d = negotiated(action_bit::add_headers | action_bit::quarantine);
  d.mail("a@b", {}, {});
  answer(d, 'c');
  d.end_of_message({});
  EXPECT_EQ(answer(d, 'h', "X-A\0v\0"s).status, Outcome::Status::waiting);
  EXPECT_EQ(answer(d, 'q', "held\0"s).status, Outcome::Status::waiting);
  EXPECT_EQ(answer(d, 'c').status, Outcome::Status::decided);
  ASSERT_EQ(d.modifications().size(), 2u);
  EXPECT_EQ(d.modifications()[1].kind, ReplyKind::quarantine);

  auto e = negotiated(action_bit::add_headers);
  e.mail("a@b", {}, {});
  answer(e, 'c');
  e.end_of_message({});
  EXPECT_EQ(answer(e, 'b', "new body").status, Outcome::Status::failed);  // replbody not negotiated
}

TEST(MilterConversation, FailuresStopTheConversation) {
  auto c = negotiated();
  EXPECT_EQ(answer(c, 'c').status, Outcome::Status::failed);  // nothing was asked
  EXPECT_TRUE(c.quit().empty());
  auto d = negotiated();
  d.mail("a@b", {}, {});
  EXPECT_EQ(answer(d, 'y', "250 fine\0"s).status, Outcome::Status::failed);
  auto e = negotiated();
  e.helo("x", {});
  EXPECT_EQ(answer(e, 'd').status, Outcome::Status::failed);  // discard needs a message
  auto f = negotiated();
  f.fail();
  EXPECT_TRUE(f.mail("a@b", {}, {}).bytes.empty());
  EXPECT_EQ(packets(negotiated().quit()).at(0).code, 'Q');
}

TEST(MilterConversation, BodyChunksAreCappedAndEveryStageCarriesItsMacros) {
  auto c = negotiated();
  c.mail("a@b", {}, {{"i", "QID"}, {"{mail_addr}", "a@b"}});
  answer(c, 'c');
  auto big = c.body(std::string(body_chunk_max + 10, 'x'));
  auto sent = packets(big.bytes);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].data.size(), body_chunk_max);
  answer(c, 'c');
  auto eom = packets(c.end_of_message({{"i", "QID"}}).bytes);
  ASSERT_EQ(eom.size(), 2u);
  EXPECT_EQ(eom[0].data, "Ei\0QID\0"s);
  EXPECT_EQ(eom[1].code, 'E');
}

}  // namespace
}  // namespace relay::milter
