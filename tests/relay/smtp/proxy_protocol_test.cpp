// tests/relay/smtp/proxy_protocol_test.cpp — PROXY protocol v1/v2 parse tables.
#include "relay/smtp/proxy_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::ProxyStatus;
using namespace std::string_literals;

const std::string sig = "\r\n\r\n\0\r\nQUIT\n"s;

std::string v2(unsigned char ver_cmd, unsigned char family, const std::string& block) {
  std::string h = sig;
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(family);
  h += static_cast<char>(block.size() >> 8);
  h += static_cast<char>(block.size() & 0xff);
  return h + block;
}

const std::string ipv4_block = "\xc0\x00\x02\x01\xc6\x33\x64\x02\xc7\x38\x00\x19"s;  // 192.0.2.1:51000 → 198.51.100.2:25

TEST(ProxyProtocol, ParseTable) {
  struct Case {
    std::string input;
    ProxyStatus status;
    std::size_t consumed;
    std::string source;
    std::uint16_t port;
    bool local;
  };
  const std::string ipv6_block =
      "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02\xc7\x38\x00\x19"s;
  const std::vector<Case> cases = {
      {"PROXY TCP4 192.0.2.1 198.51.100.2 51000 25\r\nEHLO", ProxyStatus::ok, 44, "192.0.2.1", 51000, false},
      {"PROXY TCP6 2001:db8::1 2001:db8::2 51000 25\r\n", ProxyStatus::ok, 45, "2001:db8::1", 51000, false},
      {"PROXY TCP6 2001:DB8:0::1 ::2 1 2\r\n", ProxyStatus::ok, 34, "2001:db8::1", 1, false},  // canonical form
      {"PROXY UNKNOWN\r\n", ProxyStatus::ok, 15, "", 0, true},
      {"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", ProxyStatus::ok, 35, "", 0, true},
      {"PROXY TCP4 192.0.2.1 198.51.100.2 51000 25", ProxyStatus::need_more, 0, "", 0, false},
      {"PRO", ProxyStatus::need_more, 0, "", 0, false},
      {"", ProxyStatus::need_more, 0, "", 0, false},
      {"PROXY TCP4 192.0.2.1 198.51.100.2 51000 25\n", ProxyStatus::invalid, 0, "", 0, false},   // bare LF
      {"PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n", ProxyStatus::invalid, 0, "", 0, false},      // family mismatch
      {"PROXY TCP4 192.0.2.1 198.51.100.2 051000 25\r\n", ProxyStatus::invalid, 0, "", 0, false},  // leading zero
      {"PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n", ProxyStatus::invalid, 0, "", 0, false},
      {"PROXY TCP4 192.0.2.1  198.51.100.2 1 25\r\n", ProxyStatus::invalid, 0, "", 0, false},   // double space
      {"PROXY TCP4 192.0.2.1 198.51.100.2 1 25 x\r\n", ProxyStatus::invalid, 0, "", 0, false},
      {"PROXY UDP4 192.0.2.1 198.51.100.2 1 25\r\n", ProxyStatus::invalid, 0, "", 0, false},
      {"PROXY TCP4 " + std::string(120, '1') + "\r\n", ProxyStatus::invalid, 0, "", 0, false},  // over 107
      {"EHLO client.test\r\n", ProxyStatus::invalid, 0, "", 0, false},
      {"GET / HTTP/1.0\r\n", ProxyStatus::invalid, 0, "", 0, false},
      // v2
      {v2(0x21, 0x11, ipv4_block) + "EHLO", ProxyStatus::ok, 28, "192.0.2.1", 51000, false},
      {v2(0x21, 0x21, ipv6_block), ProxyStatus::ok, 52, "2001:db8::1", 51000, false},
      {v2(0x21, 0x11, ipv4_block + "\x03\x00\x04" "abcd"s), ProxyStatus::ok, 35, "192.0.2.1", 51000, false},  // TLV skipped
      {v2(0x20, 0x00, ""), ProxyStatus::ok, 16, "", 0, true},           // LOCAL (balancer health check)
      {v2(0x21, 0x00, "xyz"), ProxyStatus::ok, 19, "", 0, true},        // UNSPEC
      {v2(0x21, 0x11, ipv4_block).substr(0, 20), ProxyStatus::need_more, 0, "", 0, false},
      {sig.substr(0, 7), ProxyStatus::need_more, 0, "", 0, false},
      {v2(0x11, 0x11, ipv4_block), ProxyStatus::invalid, 0, "", 0, false},  // version 1 in v2 form
      {v2(0x22, 0x11, ipv4_block), ProxyStatus::invalid, 0, "", 0, false},  // command 2
      {v2(0x21, 0x11, ipv4_block.substr(0, 8)), ProxyStatus::invalid, 0, "", 0, false},  // short block
      {v2(0x21, 0x12, ipv4_block), ProxyStatus::invalid, 0, "", 0, false},  // DGRAM
      {v2(0x21, 0x41, ipv4_block), ProxyStatus::invalid, 0, "", 0, false},  // family 4
      {v2(0x21, 0x11, std::string(2000, 'x')), ProxyStatus::invalid, 0, "", 0, false},  // too long
  };
  for (const auto& c : cases) {
    const auto parsed = relay::parse_proxy_header(c.input);
    EXPECT_EQ(parsed.status, c.status) << testing::PrintToString(c.input) << " " << parsed.error;
    if (c.status != ProxyStatus::ok) continue;
    EXPECT_EQ(parsed.consumed, c.consumed) << testing::PrintToString(c.input);
    EXPECT_EQ(parsed.header.source_address, c.source);
    EXPECT_EQ(parsed.header.source_port, c.port);
    EXPECT_EQ(parsed.header.local, c.local);
  }
}

TEST(ProxyProtocol, NeededTellsTheV2Length) {
  const std::string header = v2(0x21, 0x11, ipv4_block);
  std::size_t needed = 0;
  EXPECT_EQ(relay::parse_proxy_header(header.substr(0, 5), &needed).status, ProxyStatus::need_more);
  EXPECT_EQ(needed, 16u);
  EXPECT_EQ(relay::parse_proxy_header(header.substr(0, 16), &needed).status, ProxyStatus::need_more);
  EXPECT_EQ(needed, 28u);
  EXPECT_EQ(relay::parse_proxy_header("PROXY TCP4 1.2", &needed).status, ProxyStatus::need_more);
  EXPECT_EQ(needed, 0u);  // v1: read on to the LF
}

}  // namespace
