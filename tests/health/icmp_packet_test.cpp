// tests/health/icmp_packet_test.cpp — the Internet checksum (RFC 1071 vectors), echo
// request bytes, echo reply recognition and the reply-count verdict.
#include "health/icmp_packet.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using health::ProbeStatus;
using Bytes = std::vector<std::uint8_t>;

TEST(IcmpPacket, Checksum) {
  struct Case {
    Bytes data;
    std::uint16_t want;
  };
  const Case cases[] = {
      {{}, 0xffff},
      {{0x00, 0x00, 0x00, 0x00}, 0xffff},
      {{0xab}, 0x54ff},                                              // odd length: padded with zero
      {{0xff, 0xff}, 0x0000},
      {{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 0x220d},    // RFC 1071 §3 example
      {{0xff, 0xff, 0xff, 0xff, 0x00, 0x02}, 0xfffd},                // carries folded twice
      {{0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01}, 0xe5ca},    // echo request id 0x1234 seq 1
      {{0x08, 0x00, 0xe5, 0xca, 0x12, 0x34, 0x00, 0x01}, 0x0000},    // ... with its checksum in place
  };
  for (const auto& c : cases) EXPECT_EQ(health::icmp_checksum(c.data), c.want) << c.data.size() << " bytes";
}

TEST(IcmpPacket, EchoRequest) {
  const auto out = health::echo_request(0x1234, 1);
  const Bytes want{0x08, 0x00, 0xe5, 0xca, 0x12, 0x34, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(Bytes(out.begin(), out.end()), want);
  EXPECT_EQ(health::icmp_checksum(health::echo_request(0xbeef, 0xffff)), 0);
}

TEST(IcmpPacket, EchoReply) {
  const Bytes reply{0x00, 0x00, 0xed, 0xca, 0x12, 0x34, 0x00, 0x02};
  Bytes raw(20, 0);
  raw[0] = 0x45;  // IPv4, IHL 5
  raw.insert(raw.end(), reply.begin(), reply.end());
  Bytes raw_options(24, 0);
  raw_options[0] = 0x46;  // IHL 6: one word of options
  raw_options.insert(raw_options.end(), reply.begin(), reply.end());
  Bytes request = reply;
  request[0] = 8;
  Bytes unreachable = reply;
  unreachable[0] = 3;

  struct Case {
    const char* name;
    Bytes packet;
    bool with_ip_header;
    bool found;
    std::uint16_t id, sequence;
  };
  const Case cases[] = {
      {"datagram reply", reply, false, true, 0x1234, 2},
      {"raw reply", raw, true, true, 0x1234, 2},
      {"raw reply after IP options", raw_options, true, true, 0x1234, 2},
      {"our own request on a raw socket", request, false, false, 0, 0},
      {"destination unreachable", unreachable, false, false, 0, 0},
      {"runt", Bytes(reply.begin(), reply.begin() + 7), false, false, 0, 0},
      {"header longer than the packet", Bytes{0x4f, 0, 0, 0}, true, false, 0, 0},
      {"empty", {}, true, false, 0, 0},
  };
  for (const auto& c : cases) {
    const auto got = health::parse_echo_reply(c.packet, c.with_ip_header);
    ASSERT_EQ(got.has_value(), c.found) << c.name;
    if (!got) continue;
    EXPECT_EQ(got->id, c.id) << c.name;
    EXPECT_EQ(got->sequence, c.sequence) << c.name;
  }
}

TEST(IcmpPacket, Verdict) {
  struct Case {
    std::uint32_t replies, needed;
    ProbeStatus want;
  };
  const Case cases[] = {
      {0, 1, ProbeStatus::icmp_no_reply},  {1, 1, ProbeStatus::icmp_ok},
      {3, 1, ProbeStatus::icmp_ok},        {1, 2, ProbeStatus::icmp_too_few_replies},
      {2, 2, ProbeStatus::icmp_ok},        {0, 0, ProbeStatus::icmp_ok},
  };
  for (const auto& c : cases) EXPECT_EQ(health::icmp_verdict(c.replies, c.needed), c.want) << c.replies << "/" << c.needed;
}

}  // namespace
