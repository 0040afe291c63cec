// tests/relay/server/server_fsm_body_output_test.cpp — the FSM's body output is bounded
// when its driver drains it (relay/server/body_spooler does, into a spool file):
// a 5 MiB message in 64 KiB reads never makes the FSM's buffer grow past one drain
// threshold plus one read; what was drained plus the tail the commit takes is the whole
// message; the header limit holds although the header was drained long before the end;
// open_body() names each message body and goes to 0 when it ends (committed or refused).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/fsm_fixture.hpp"

namespace {

using relay::ServerFsm;
using relay::ServerState;

constexpr std::size_t read_size = 64 * 1024;   // the session's read chunk
constexpr std::size_t threshold = 64 * 1024;   // [queue] inline_body_max

relay::ServerSettings settings() {
  relay::ServerSettings s;
  s.hostname = "mx.test";
  s.listener = "inbound";
  s.max_message_size = 10 * 1024 * 1024;
  s.max_header_size = 4096;
  return s;
}

struct Drained {
  std::string replies;
  std::string spooled;          // what the driver took out during the message
  std::size_t high_water = 0;   // the largest capacity of the FSM's output seen
};

// Feeds `bytes` in reads of `read_size` as the session does, draining the FSM's output
// after each consume() once it is over `threshold`.
Drained feed(ServerFsm& fsm, const std::string& bytes) {
  Drained d;
  const auto now = std::chrono::system_clock::time_point{};
  for (std::size_t at = 0; at < bytes.size();) {
    std::string_view read(bytes.data() + at, std::min(read_size, bytes.size() - at));
    while (!read.empty() && fsm.state() != ServerState::awaiting_commit) {
      const std::size_t used = fsm.consume(read, now, d.replies);
      read.remove_prefix(used);
      at += used;
      std::string& output = fsm.body_output();
      d.high_water = std::max(d.high_water, output.capacity());
      if (output.size() > threshold || !d.spooled.empty()) {
        d.spooled += output;
        output.clear();
      }
    }
    if (fsm.state() == ServerState::awaiting_commit) break;
  }
  return d;
}

std::string message_of(std::size_t size) {
  std::string body = "Subject: big\r\n\r\n";
  for (int i = 0; body.size() < size; ++i) body += (i % 9 == 0 ? ".." : "") + std::string(70, 'a' + i % 26) + "\r\n";
  return body;
}

// ".." at a line start is the stuffed form of "."; the FSM stores the unstuffed text.
std::string unstuffed(std::string text) {
  std::string out;
  for (std::size_t begin = 0; begin < text.size();) {
    const std::size_t end = text.find("\r\n", begin) + 2;
    std::string_view line(text.data() + begin, end - begin);
    if (line.starts_with('.')) line.remove_prefix(1);
    out += line;
    begin = end;
  }
  return out;
}

class BodyOutput : public ::testing::Test {
 protected:
  BodyOutput() : policy_(test_support::example_policy()), fsm_(settings(), policy_, test_support::peer_at("198.51.100.7"), "t1") {
    std::string out;
    fsm_.start(out);
  }
  void open_data() {
    std::string out;
    fsm_.consume("EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<u@example.com>\r\nDATA\r\n", {}, out);
    ASSERT_EQ(fsm_.state(), ServerState::receiving_data) << out;
  }
  policy::ListenerPolicy policy_;
  ServerFsm fsm_;
};

TEST_F(BodyOutput, FiveMebibytesStayWithinOneDrainAndOneRead) {
  open_data();
  const std::uint64_t body = fsm_.open_body();
  EXPECT_NE(body, 0u);
  const std::string message = message_of(5 * 1024 * 1024);
  Drained d = feed(fsm_, message + ".\r\n");
  ASSERT_EQ(fsm_.state(), ServerState::awaiting_commit) << d.replies;
  EXPECT_EQ(fsm_.open_body(), body);
  // Bound: what was left below the threshold plus one read, with std::string's doubling.
  EXPECT_LE(d.high_water, 2 * (threshold + read_size)) << "the FSM's output grew with the message";
  const relay::Transaction tx = fsm_.take_transaction();
  const std::string whole = d.spooled + tx.body;
  EXPECT_TRUE(whole.starts_with("Received: ")) << "the trace header is the first octets drained";
  EXPECT_TRUE(whole.ends_with(unstuffed(message))) << "drained + tail is the whole message";
  std::string out;
  fsm_.commit_done(relay::CommitStatus::committed, "Q1", out);
  EXPECT_EQ(fsm_.open_body(), 0u);
}

TEST_F(BodyOutput, HeaderLimitHoldsWhenTheHeaderWasDrainedEarly) {
  open_data();
  std::string header;
  for (int i = 0; i < 60; ++i) header += "X-Big: " + std::string(91, 'h') + "\r\n";  // 6000 > 4096
  Drained d = feed(fsm_, header + "\r\n" + message_of(300 * 1024) + ".\r\n");
  EXPECT_EQ(test_support::reply_codes(d.replies), (std::vector<int>{552})) << d.replies;
  EXPECT_FALSE(d.spooled.empty()) << "the header was drained long before the end";
  EXPECT_EQ(fsm_.open_body(), 0u) << "a refused body is closed: its driver drops the file";
}

TEST_F(BodyOutput, EachBodyHasItsOwnNumber) {
  open_data();
  const std::uint64_t first = fsm_.open_body();
  std::string out;
  fsm_.consume("x\r\n.\r\n", {}, out);
  fsm_.take_transaction();
  fsm_.commit_done(relay::CommitStatus::committed, "Q1", out);
  open_data();
  EXPECT_GT(fsm_.open_body(), first);
  fsm_.consume("partial line\r\n", {}, out);
  EXPECT_NE(fsm_.open_body(), 0u);
}

}  // namespace
