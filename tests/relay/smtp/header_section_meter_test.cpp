// Tests of relay/smtp/header_section_meter: the streamed measure equals the in-memory one
// (relay/server's header_over_limit) for every chunking.
#include "relay/smtp/header_section_meter.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace relay {
namespace {

// The in-memory measure, as relay/server applies it to the client's message.
std::size_t header_in_memory(std::string_view message) {
  if (message.starts_with("\r\n")) return 0;
  const auto blank = message.find("\r\n\r\n");
  return blank == std::string_view::npos ? message.size() : blank + 2;
}

std::uint64_t header_streamed(std::string_view message, std::size_t chunk) {
  HeaderSectionMeter meter;
  for (std::size_t at = 0; at < message.size(); at += chunk) meter.feed(message.substr(at, chunk));
  return meter.size();
}

TEST(HeaderSectionMeter, KnownCases) {
  EXPECT_EQ(header_streamed("", 1), 0u);
  EXPECT_EQ(header_streamed("\r\nbody\r\n", 4), 0u);
  EXPECT_EQ(header_streamed("A: 1\r\n\r\nbody\r\n\r\n", 100), 6u);
  EXPECT_EQ(header_streamed("A: 1\r\nB: 2\r\n", 3), 12u);  // no empty line: all header
}

TEST(HeaderSectionMeter, CompleteStopsCounting) {
  HeaderSectionMeter meter;
  meter.feed("A: 1\r\n\r");
  EXPECT_FALSE(meter.complete());
  EXPECT_EQ(meter.size(), 7u);
  meter.feed("\nlots of body");
  EXPECT_TRUE(meter.complete());
  EXPECT_EQ(meter.size(), 6u);
}

TEST(HeaderSectionMeter, AnyChunkingEqualsTheWholeMessage) {
  const std::vector<std::string> messages = {
      "\r\n", "\r", "\r\r\n\r\n", "A\r\n\r\r\n\r\nx", "A\n\nB\r\n\r\n", "A\r\n\r\nB\r\n\r\n",
      "Subject: x\r\n\tfolded\r\n\r\n", "\r\n\r\n", "X: " + std::string(300, 'y') + "\r\n\r\nz",
  };
  for (const std::string& message : messages) {
    for (std::size_t chunk = 1; chunk <= message.size() + 1; ++chunk) {
      EXPECT_EQ(header_streamed(message, chunk), header_in_memory(message))
          << "message " << testing::PrintToString(message) << " chunk " << chunk;
    }
  }
}

}  // namespace
}  // namespace relay
