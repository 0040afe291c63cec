// tests/relay/milter/packet_test.cpp — milter packet framing: encoding, incremental
// reading in any split, and the framing errors (empty, oversize).
#include "relay/milter/packet.hpp"

#include <gtest/gtest.h>

namespace relay::milter {
namespace {

using namespace std::string_literals;

TEST(MilterPacket, EncodesLengthCodeAndData) {
  EXPECT_EQ(encode_packet('c', ""), "\0\0\0\1c"s);
  EXPECT_EQ(encode_packet('H', "mx\0"s), "\0\0\0\4Hmx\0"s);
}

TEST(MilterPacket, ReaderReassemblesPacketsSplitAnywhere) {
  const std::string stream = encode_packet('h', "X-A\0one\0"s) + encode_packet('c', "");
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    PacketReader reader;
    reader.feed(std::string_view(stream).substr(0, split));
    std::vector<Packet> got;
    for (;;) {
      auto next = reader.next();
      ASSERT_TRUE(next.has_value());
      if (!*next) break;
      got.push_back(std::move(**next));
    }
    EXPECT_GE(reader.wanted(), got.size() == 2 ? 4u : 1u);
    reader.feed(std::string_view(stream).substr(split));
    for (;;) {
      auto next = reader.next();
      ASSERT_TRUE(next.has_value());
      if (!*next) break;
      got.push_back(std::move(**next));
    }
    ASSERT_EQ(got.size(), 2u) << split;
    EXPECT_EQ(got[0].code, 'h');
    EXPECT_EQ(got[0].data, "X-A\0one\0"s);
    EXPECT_EQ(got[1].code, 'c');
    EXPECT_TRUE(got[1].data.empty());
  }
}

TEST(MilterPacket, ZeroLengthIsAFramingError) {
  PacketReader reader;
  reader.feed("\0\0\0\0"s);
  auto next = reader.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error(), FramingError::empty_packet);
}

TEST(MilterPacket, OversizePacketIsAFramingErrorBeforeItsDataArrives) {
  PacketReader reader(1000);
  std::string header;
  append_u32(header, 1001);
  reader.feed(header);
  auto next = reader.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_EQ(next.error(), FramingError::oversize_packet);
  PacketReader big;  // the default cap: libmilter's 1 MiB data size
  header.clear();
  append_u32(header, packet_max + 1);
  big.feed(header);
  EXPECT_FALSE(big.next().has_value());
}

TEST(MilterPacket, CursorReadsIntegersAndStrings) {
  std::string data;
  append_u32(data, 0x01020304);
  append_cstring(data, "name");
  data += "\x12\x34"s;
  DataCursor cursor(data);
  EXPECT_EQ(cursor.u32(), 0x01020304u);
  EXPECT_EQ(cursor.cstring(), "name");
  EXPECT_EQ(cursor.u16(), 0x1234);
  EXPECT_FALSE(cursor.u16());
  EXPECT_FALSE(cursor.cstring());
  EXPECT_FALSE(split_cstrings("a\0b"s));
  EXPECT_EQ(split_cstrings("a\0b\0"s)->size(), 2u);
}

}  // namespace
}  // namespace relay::milter
