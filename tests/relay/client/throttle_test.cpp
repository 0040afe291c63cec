// tests/relay/client/throttle_test.cpp — which replies throttle us, and where in a transcript.
#include "relay/client/throttle.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

Reply reply(int code, std::optional<EnhancedStatus> enhanced, std::string text) {
  Reply r;
  r.code = code;
  r.enhanced = enhanced;
  r.lines = {std::move(text)};
  return r;
}

TEST(Throttle, WhichRepliesThrottle) {
  struct Case {
    Reply r;
    bool throttle;
  };
  const Case cases[] = {
      {reply(421, EnhancedStatus{4, 7, 0}, "Too many connections"), true},
      {reply(451, EnhancedStatus{4, 7, 1}, "rate limited"), true},
      {reply(452, EnhancedStatus{4, 5, 3}, "Too many recipients"), true},
      {reply(421, EnhancedStatus{4, 3, 2}, "Service not available"), false},  // shutting down: a hop failure
      {reply(421, std::nullopt, "Too many connections"), false},             // no enhanced status: as judged
      {reply(550, EnhancedStatus{5, 7, 1}, "Relay denied"), false},          // permanent
      {reply(450, EnhancedStatus{4, 2, 1}, "Mailbox busy"), false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_throttle(c.r), c.throttle) << c.r.to_string();
}

TEST(Throttle, FindsTheReplyInTheTranscript) {
  Transcript banner;
  banner.refusal = StagedReply{Stage::banner, reply(421, EnhancedStatus{4, 7, 0}, "Too many connections")};
  EXPECT_EQ(throttle_reply(banner), "421 4.7.0 Too many connections");

  Transcript rate;
  rate.mail = reply(250, EnhancedStatus{2, 1, 0}, "OK");
  rate.rcpt = {reply(250, EnhancedStatus{2, 1, 5}, "OK"), reply(451, EnhancedStatus{4, 7, 1}, "rate limited")};
  EXPECT_EQ(throttle_reply(rate), "451 4.7.1 rate limited");
  EXPECT_EQ(refusing_reply(rate), "451 4.7.1 rate limited");

  Transcript fine;
  fine.mail = reply(250, std::nullopt, "OK");
  fine.rcpt = {reply(550, EnhancedStatus{5, 1, 1}, "unknown")};
  EXPECT_FALSE(throttle_reply(fine));
  EXPECT_EQ(refusing_reply(fine), "550 5.1.1 unknown");
  EXPECT_FALSE(refusing_reply(Transcript{}));
}

}  // namespace
}  // namespace relay
