// tests/relay/smtp/bdat_decoder_test.cpp — the BDAT chunk decoder (relay/smtp/bdat_decoder):
// chunk boundaries, CRLF canonicalisation across chunks, the size cap, the final CRLF.
#include "relay/smtp/bdat_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::BdatDecoder;

struct Result {
  std::string message;
  std::uint64_t bare = 0;
  bool too_big = false;
};

// Feeds each chunk (announced with its own size) in pieces of `piece` octets, then finishes.
Result decode(const std::vector<std::string>& chunks, std::size_t piece, std::uint64_t cap = 0) {
  BdatDecoder decoder(BdatDecoder::Options{.max_size = cap});
  Result r;
  for (const std::string& chunk : chunks) {
    decoder.begin_chunk(chunk.size());
    EXPECT_EQ(decoder.chunk_done(), chunk.empty());
    for (std::size_t at = 0; at < chunk.size(); at += piece) {
      const std::string_view part = std::string_view(chunk).substr(at, piece);
      const auto step = decoder.decode(part, r.message);
      EXPECT_EQ(step.consumed, part.size());
      EXPECT_EQ(step.chunk_done, at + part.size() == chunk.size());
    }
  }
  decoder.finish(r.message);
  r.bare = decoder.bare_line_endings();
  r.too_big = decoder.too_big();
  return r;
}

TEST(BdatDecoder, LineEndingsAcrossChunksAndSplits) {
  struct Case {
    std::vector<std::string> chunks;
    std::string want;
    std::uint64_t bare;
  };
  const std::vector<Case> cases = {
      {{"Subject: x\r\n\r\n.body\r\n"}, "Subject: x\r\n\r\n.body\r\n", 0},  // no dot-unstuffing
      {{"ab\r\nc", "de\r\n"}, "ab\r\ncde\r\n", 0},
      {{"xyz"}, "xyz\r\n", 0},                                                // CRLF added at the end
      {{"a\nb", "c\r", "\nd\re"}, "a\r\nbc\r\nd\r\ne\r\n", 2},                // CR completed by the next chunk
      {{"a\r"}, "a\r\n", 1},                                                  // bare CR at the very end
      {{"a\r\r\n"}, "a\r\n\r\n", 1},
      {{"", ""}, "", 0},                                                      // nothing: nothing added
      {{"\r\n"}, "\r\n", 0},
  };
  for (const Case& c : cases) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{1000}}) {
      const Result r = decode(c.chunks, piece);
      EXPECT_EQ(r.message, c.want) << "piece " << piece;
      EXPECT_EQ(r.bare, c.bare) << c.want;
      EXPECT_FALSE(r.too_big);
    }
  }
}

TEST(BdatDecoder, TakesNoMoreThanTheChunk) {
  BdatDecoder decoder;
  std::string sink;
  decoder.begin_chunk(3);
  const auto step = decoder.decode("abcQUIT\r\n", sink);
  EXPECT_EQ(step.consumed, 3u);
  EXPECT_TRUE(step.chunk_done);
  EXPECT_EQ(sink, "abc");
  EXPECT_EQ(decoder.decode("QUIT\r\n", sink).consumed, 0u) << "a complete chunk takes nothing more";
}

TEST(BdatDecoder, SizeCapCountsButStopsStoring) {
  const Result r = decode({std::string(60, 'a'), std::string(60, 'b')}, 7, 100);
  EXPECT_TRUE(r.too_big);
  EXPECT_TRUE(r.message.empty()) << "the buffered prefix is released";
  BdatDecoder decoder(BdatDecoder::Options{.max_size = 100});
  std::string sink;
  decoder.begin_chunk(100);
  decoder.decode(std::string(100, 'x'), sink);
  EXPECT_FALSE(decoder.too_big()) << "exactly the cap is allowed";
  EXPECT_EQ(decoder.size(), 100u);
}

}  // namespace
