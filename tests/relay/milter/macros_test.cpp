// tests/relay/milter/macros_test.cpp — macro names per stage and their packets.
#include "relay/milter/macros.hpp"

#include <algorithm>

#include <gtest/gtest.h>

namespace relay::milter {
namespace {

using namespace std::string_literals;

TEST(MilterMacros, DefaultsArePostfixLike) {
  const auto lists = default_macro_lists();
  const auto& connect = lists[static_cast<std::size_t>(MacroStage::connect)];
  EXPECT_NE(std::ranges::find(connect, "{client_addr}"), connect.end());
  EXPECT_NE(std::ranges::find(connect, "j"), connect.end());
  EXPECT_EQ(lists[static_cast<std::size_t>(MacroStage::rcpt)], std::vector<std::string>{"{rcpt_addr}"});
}

TEST(MilterMacros, ParsesOverrides) {
  EXPECT_EQ(parse_macro_names("j {client_addr}, i"), (std::vector<std::string>{"j", "{client_addr}", "i"}));
  EXPECT_EQ(parse_macro_names("")->size(), 0u);
  EXPECT_FALSE(parse_macro_names("{open"));
  EXPECT_FALSE(parse_macro_names("long"));
  EXPECT_FALSE(parse_macro_names("{}"));
  EXPECT_EQ(macro_stage_from_name("eoh"), MacroStage::eoh);
  EXPECT_FALSE(macro_stage_from_name("body"));
}

TEST(MilterMacros, PacketCarriesKnownValuesOnly) {
  EXPECT_EQ(macro_packet('M', {"i", "{mail_addr}"}, {{"{mail_addr}", "a@b"}}),
            "\0\0\0\x12" "DM{mail_addr}\0a@b\0"s);
  EXPECT_EQ(macro_packet('M', {"i"}, {}), "");
  EXPECT_EQ(macro_packet('R', {"x"}, {{"x", "a\r\nb"}}), "\0\0\0\x07" "DRx\0ab\0"s);
}

}  // namespace
}  // namespace relay::milter
