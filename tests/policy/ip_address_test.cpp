// tests/policy/ip_address_test.cpp — IpAddress and Cidr parsing, canonical form,
// containment.
#include "policy/ip_address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using policy::Cidr;
using policy::IpAddress;

TEST(IpAddressParse, Valid) {
  struct Case {
    const char* text;
    bool want_v4;
    const char* want_string;
  };
  const Case cases[] = {
      {"1.2.3.4", true, "1.2.3.4"},
      {"0.0.0.0", true, "0.0.0.0"},
      {"255.255.255.255", true, "255.255.255.255"},
      {"10.0.0.10", true, "10.0.0.10"},
      {"::1", false, "::1"},
      {"::", false, "::"},
      {"2001:DB8::1", false, "2001:db8::1"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", false, "2001:db8::1"},
      {"fe80::1:2:3:4", false, "fe80::1:2:3:4"},
      {"::ffff:192.0.2.1", false, "::ffff:192.0.2.1"},
      {"::ffff:c000:0201", false, "::ffff:192.0.2.1"},
  };
  for (const auto& c : cases) {
    auto got = IpAddress::parse(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(got->v4, c.want_v4) << c.text;
    EXPECT_EQ(got->to_string(), c.want_string) << c.text;
  }
}

TEST(IpAddressParse, V4StoredInLastFourBytes) {
  auto got = IpAddress::parse("192.0.2.1");
  ASSERT_TRUE(got.has_value());
  const std::array<std::uint8_t, 16> want{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
  EXPECT_EQ(got->bytes, want);
}

TEST(IpAddressParse, Invalid) {
  const std::string cases[] = {
      "",
      " 1.2.3.4",
      "1.2.3.4 ",
      "1.2.3",
      "1.2.3.4.5",
      "256.1.1.1",
      "01.2.3.4",      // leading zero: octal ambiguity
      "1.2.3.04",
      "0x1.2.3.4",
      "16909060",      // inet_aton would take this; we do not
      "1.2.3.4/32",
      "[::1]",
      "fe80::1%eth0",
      "2001:db8::1::2",
      "12345::",
      "gggg::1",
      "localhost",
      std::string("1.2.3.4\0", 8),
      std::string(80, '1'),
  };
  for (const auto& text : cases) {
    EXPECT_FALSE(IpAddress::parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(IpAddressCanonical, MapsOnlyV4Mapped) {
  struct Case {
    const char* text;
    const char* want;
    bool want_v4;
  };
  const Case cases[] = {
      {"::ffff:10.1.2.3", "10.1.2.3", true},
      {"::FFFF:7f00:1", "127.0.0.1", true},
      {"10.1.2.3", "10.1.2.3", true},
      {"::1", "::1", false},
      {"::10.1.2.3", "::10.1.2.3", false},           // deprecated v4-compatible: not mapped
      {"64:ff9b::10.1.2.3", "64:ff9b::a01:203", false},  // NAT64: not mapped
      {"::fffe:10.1.2.3", "::fffe:a01:203", false},
  };
  for (const auto& c : cases) {
    auto address = IpAddress::parse(c.text);
    ASSERT_TRUE(address.has_value()) << c.text;
    const IpAddress got = address->canonical();
    EXPECT_EQ(got.to_string(), c.want) << c.text;
    EXPECT_EQ(got.v4, c.want_v4) << c.text;
  }
  EXPECT_EQ(IpAddress::parse("::ffff:10.1.2.3")->canonical(), *IpAddress::parse("10.1.2.3"));
}

TEST(CidrParse, Table) {
  struct Case {
    const char* text;
    bool ok;
    const char* want_network;
    int want_prefix;
  };
  const Case cases[] = {
      {"10.0.0.0/8", true, "10.0.0.0", 8},
      {"10.1.2.3/8", true, "10.0.0.0", 8},  // host bits cleared
      {"192.168.1.77/28", true, "192.168.1.64", 28},
      {"1.2.3.4", true, "1.2.3.4", 32},
      {"0.0.0.0/0", true, "0.0.0.0", 0},
      {"1.2.3.4/32", true, "1.2.3.4", 32},
      {"2001:db8::/32", true, "2001:db8::", 32},
      {"2001:db8:ffff::1/33", true, "2001:db8:8000::", 33},
      {"::1", true, "::1", 128},
      {"::/0", true, "::", 0},
      {"::ffff:10.0.0.0/104", true, "10.0.0.0", 8},  // mapped network becomes IPv4
      {"::ffff:10.1.2.3", true, "10.1.2.3", 32},
      {"1.2.3.4/33", false, "", 0},
      {"::1/129", false, "", 0},
      {"1.2.3.4/", false, "", 0},
      {"1.2.3.4/-1", false, "", 0},
      {"1.2.3.4/+8", false, "", 0},
      {"1.2.3.4/8/8", false, "", 0},
      {"1.2.3.4/ 8", false, "", 0},
      {"1.2.3.4/0008", false, "", 0},
      {"/8", false, "", 0},
      {"", false, "", 0},
      {"example.com/8", false, "", 0},
  };
  for (const auto& c : cases) {
    auto got = Cidr::parse(c.text);
    ASSERT_EQ(got.has_value(), c.ok) << c.text;
    if (!got) continue;
    EXPECT_EQ(got->network.to_string(), c.want_network) << c.text;
    EXPECT_EQ(got->prefix, c.want_prefix) << c.text;
  }
}

TEST(CidrContains, Table) {
  struct Case {
    const char* network;
    const char* address;
    bool want;
  };
  const Case cases[] = {
      {"10.0.0.0/8", "10.255.1.2", true},
      {"10.0.0.0/8", "11.0.0.0", false},
      {"10.0.0.0/8", "9.255.255.255", false},
      {"192.168.1.64/28", "192.168.1.79", true},
      {"192.168.1.64/28", "192.168.1.80", false},
      {"192.168.1.64/28", "192.168.1.63", false},
      {"1.2.3.4", "1.2.3.4", true},
      {"1.2.3.4", "1.2.3.5", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"10.0.0.0/8", "::ffff:10.1.2.3", true},    // dual-stack listener view of a v4 client
      {"10.0.0.0/8", "::ffff:11.1.2.3", false},
      {"10.0.0.0/8", "::10.1.2.3", false},         // not mapped: a real IPv6 address
      {"0.0.0.0/0", "::1", false},                 // IPv4 network, IPv6 address
      {"0.0.0.0/0", "2001:db8::1", false},
      {"2001:db8::/32", "2001:db8:1234::9", true},
      {"2001:db8::/32", "2001:db9::", false},
      {"2001:db8::/33", "2001:db8:7fff::1", true},
      {"2001:db8::/33", "2001:db8:8000::1", false},
      {"::1", "::1", true},
      {"::1/128", "::2", false},
      {"::/0", "2001:db8::1", true},
      {"::/0", "10.1.2.3", false},                 // IPv6 network never trusts IPv4 clients
      {"::/0", "::ffff:10.1.2.3", false},
      {"::ffff:10.0.0.0/104", "10.9.9.9", true},
      {"::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true},
      {"::ffff:10.0.0.0/104", "11.0.0.1", false},
  };
  for (const auto& c : cases) {
    auto network = Cidr::parse(c.network);
    auto address = IpAddress::parse(c.address);
    ASSERT_TRUE(network.has_value()) << c.network;
    ASSERT_TRUE(address.has_value()) << c.address;
    EXPECT_EQ(network->contains(*address), c.want) << c.network << " contains " << c.address;
  }
}

}  // namespace
