// tests/relay/smtp/data_decoder_test.cpp — end of data, unstuffing, bare CR/LF, limits.
#include "relay/smtp/data_decoder.hpp"
#include "tests/support/decode_in_pieces.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using relay::DataDecoder;

using Decoded = test_support::DecodeRun;

// Feeds `input` in pieces of `chunk` octets (0: all at once) until finished; a broken step
// contract is a test failure.
Decoded decode(std::string_view input, std::size_t chunk = 0, DataDecoder::Options options = {}) {
  const auto expect = [](bool ok, const char* what) { EXPECT_TRUE(ok) << what; };
  return test_support::decode_in_pieces(input, chunk, options, expect);
}

struct Case {
  const char* name;
  std::string input;
  std::string output;
  bool finished;
  std::size_t consumed;  // only checked when finished
  std::uint64_t bare;
};

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      {"empty message", ".\r\n", "", true, 3, 0},
      {"one line", "Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", true, 23, 0},
      {"stuffed dot", "..leading dot\r\n.\r\n", ".leading dot\r\n", true, 18, 0},
      {"stuffed lone dot", "a\r\n..\r\n.\r\n", "a\r\n.\r\n", true, 10, 0},
      {"dot then text", "a\r\n.b\r\n.\r\n", "a\r\nb\r\n", true, 10, 0},
      {"trailing bytes stay", "x\r\n.\r\nQUIT\r\n", "x\r\n", true, 6, 0},
      {"no terminator yet", "x\r\ny\r\n", "x\r\ny\r\n", false, 0, 0},
      {"dot not at line start", "a.\r\n.\r\n", "a.\r\n", true, 7, 0},
      {"8-bit and NUL pass", std::string("caf\xc3\xa9 \xff\0\x80\r\n.\r\n", 14),
       std::string("caf\xc3\xa9 \xff\0\x80\r\n", 11), true, 14, 0},
      // SMTP smuggling sequences: none of them ends DATA.
      {"LF.LF", "a\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 10, 2},
      {"LF.CRLF", "a\n.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 11, 1},
      {"CR.CRLF", "a\r.\r\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 11, 1},
      {"CRLF.LF", "a\r\n.\nb\r\n.\r\n", "a\r\n\r\nb\r\n", true, 11, 1},
      {"CRLF.CR", "a\r\n.\rb\r\n.\r\n", "a\r\n\r\nb\r\n", true, 11, 1},
      {"CRLF.CR at end", "a\r\n.\r", "a\r\n", false, 0, 0},
      {"CR.CR", "a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n", true, 10, 2},
      {"CRLF.CRCRLF", "a\r\n.\r\r\n.\r\n", "a\r\n\r\n\r\n", true, 10, 1},
      {"LF.LF then real end", "x\n.\n.\r\n", "x\r\n.\r\n.\r\n", false, 0, 2},
      {"bare LF line then real end", "x\n.\r\n\r\n.\r\n", "x\r\n.\r\n\r\n", true, 10, 1},
      {"bare LF then stuffed dot is not unstuffed", "x\n..y\r\n.\r\n", "x\r\n..y\r\n", true, 10, 1},
      {"bare CR inside line", "a\rb\r\n.\r\n", "a\r\nb\r\n", true, 8, 1},
      {"CR CR LF", "a\r\r\n.\r\n", "a\r\n\r\n", true, 7, 1},
      {"first line is bare LF", "\n.\r\n", "\r\n.\r\n", false, 0, 1},
      {"dot then bare LF first line", ".\n.\r\n", "\r\n.\r\n", false, 0, 1},
  };
  return table;
}

TEST(DataDecoder, Table) {
  for (const auto& c : cases()) {
    const auto d = decode(c.input);
    EXPECT_EQ(d.output, c.output) << c.name;
    EXPECT_EQ(d.finished, c.finished) << c.name;
    if (c.finished) {
      EXPECT_EQ(d.consumed, c.consumed) << c.name;
    }
    EXPECT_EQ(d.bare, c.bare) << c.name;
    EXPECT_FALSE(d.too_big) << c.name;
  }
}

TEST(DataDecoder, EveryChunkSizeGivesTheSameResult) {
  for (const auto& c : cases()) {
    const auto whole = decode(c.input);
    for (std::size_t chunk = 1; chunk <= c.input.size(); ++chunk) {
      const auto split = decode(c.input, chunk);
      EXPECT_EQ(split.output, whole.output) << c.name << " chunk " << chunk;
      EXPECT_EQ(split.finished, whole.finished) << c.name << " chunk " << chunk;
      EXPECT_EQ(split.consumed, whole.consumed) << c.name << " chunk " << chunk;
      EXPECT_EQ(split.bare, whole.bare) << c.name << " chunk " << chunk;
    }
  }
}

TEST(DataDecoder, EverySplitPointGivesTheSameResult) {
  const std::string input = "A: b\r\n\r\n..x\ny\rz\r\n.\r\r\n.\n\r\nend\r\n.\r\nNEXT";
  const auto whole = decode(input);
  ASSERT_TRUE(whole.finished);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    DataDecoder decoder;
    std::string out;
    auto first = decoder.decode(std::string_view(input).substr(0, cut), out);
    std::size_t consumed = first.consumed;
    if (!first.finished) consumed += decoder.decode(std::string_view(input).substr(cut), out).consumed;
    EXPECT_EQ(out, whole.output) << "cut " << cut;
    EXPECT_EQ(consumed, whole.consumed) << "cut " << cut;
  }
}

TEST(DataDecoder, SizeCapStopsAppendingButKeepsScanning) {
  const std::string line = std::string(98, 'x') + "\r\n";  // 100 octets
  std::string input;
  for (int i = 0; i < 20; ++i) input += line;
  input += ".\r\n";
  const auto within = decode(input, 0, {.max_size = 2000});
  EXPECT_FALSE(within.too_big);
  EXPECT_EQ(within.output.size(), 2000u);

  for (std::size_t chunk : {0u, 1u, 7u, 100u}) {
    const auto over = decode(input, chunk, {.max_size = 1999});
    EXPECT_TRUE(over.too_big) << chunk;
    EXPECT_TRUE(over.finished) << chunk;
    EXPECT_EQ(over.consumed, input.size()) << chunk;
    EXPECT_EQ(over.size, 2000u) << chunk;
    EXPECT_LE(over.output.size(), 1999u) << chunk;  // never buffers past the cap
  }
}

TEST(DataDecoder, LongTextLineIsFlagged) {
  // 998 octets + CRLF = 1000 is the limit (RFC 5321 §4.5.3.1.6); a stuffed dot is not counted.
  const auto at_limit = decode(std::string(998, 'a') + "\r\n.\r\n");
  EXPECT_FALSE(at_limit.long_line);
  const auto stuffed = decode("." + std::string(998, '.') + "\r\n.\r\n");
  EXPECT_FALSE(stuffed.long_line);
  const auto over = decode(std::string(999, 'a') + "\r\n.\r\n", 13);
  EXPECT_TRUE(over.long_line);
  EXPECT_TRUE(over.finished);
  // The limit is per line, not cumulative.
  const auto many = decode(std::string(500, 'a') + "\r\n" + std::string(500, 'b') + "\r\n.\r\n");
  EXPECT_FALSE(many.long_line);
}

TEST(DataDecoder, RefusingBareLineEndingsDiscardsOutput) {
  const auto d = decode("a\nb\r\n.\r\n", 0, {.refuse_bare_line_endings = true});
  EXPECT_TRUE(d.finished);
  EXPECT_EQ(d.bare, 1u);
  EXPECT_EQ(d.output, "a");  // appending stopped at the first bare LF
}

TEST(DataDecoder, ResetStartsOver) {
  DataDecoder decoder;
  std::string out;
  ASSERT_TRUE(decoder.decode("x\ny\r\n.\r\n", out).finished);
  decoder.reset({});
  out.clear();
  EXPECT_FALSE(decoder.finished());
  EXPECT_EQ(decoder.bare_line_endings(), 0u);
  const auto step = decoder.decode("y\r\n.\r\n", out);
  EXPECT_TRUE(step.finished);
  EXPECT_EQ(out, "y\r\n");
  // After finishing, nothing more is consumed.
  EXPECT_EQ(decoder.decode("more", out).consumed, 0u);
}

}  // namespace
