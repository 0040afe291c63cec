// Tests of relay/smtp/dot_stuffer: chunked dot-stuffing equals stuffing the whole body,
// wherever the chunk boundaries fall.
#include "relay/smtp/dot_stuffer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace relay {
namespace {

// Reference, by lines: every CRLF-separated segment that starts with "." gets another;
// a body not ending in CRLF (or empty) gets one; then ".\r\n".
std::string stuffed_by_lines(std::string_view body) {
  std::string out;
  for (std::size_t begin = 0;;) {
    const std::size_t end = body.find("\r\n", begin);
    const std::string_view line = body.substr(begin, end == std::string_view::npos ? end : end + 2 - begin);
    if (line.starts_with('.')) out += '.';
    out.append(line);
    if (end == std::string_view::npos) break;
    begin = end + 2;
  }
  if (!body.ends_with("\r\n")) out += "\r\n";
  return out + ".\r\n";
}

std::string stuffed_in_chunks(std::string_view body, std::size_t chunk) {
  DotStuffer stuffer;
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += chunk) stuffer.stuff(body.substr(at, chunk), out);
  stuffer.finish(out);
  return out;
}

TEST(DotStuffer, KnownCases) {
  EXPECT_EQ(stuffed_in_chunks("", 1), "\r\n.\r\n");
  EXPECT_EQ(stuffed_in_chunks("a\r\n", 10), "a\r\n.\r\n");
  EXPECT_EQ(stuffed_in_chunks("a", 10), "a\r\n.\r\n");
  EXPECT_EQ(stuffed_in_chunks(".\r\n", 10), "..\r\n.\r\n");
  EXPECT_EQ(stuffed_in_chunks("a\r\n.b\r\n..c\r\n", 10), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(stuffed_in_chunks("a\r\n.", 3), "a\r\n..\r\n.\r\n");   // "." opens the next chunk
  EXPECT_EQ(stuffed_in_chunks("a\r\n.", 2), "a\r\n..\r\n.\r\n");   // CR | LF "."
  EXPECT_EQ(stuffed_in_chunks("a\r\n.", 1), "a\r\n..\r\n.\r\n");   // CR | LF | "."
  EXPECT_EQ(stuffed_in_chunks("a\r.b\n.c\r\n", 1), "a\r.b\n.c\r\n.\r\n");  // bare CR/LF: no line start
}

// Every chunk size over bodies dense with line starts, dots, and bare CR/LF.
TEST(DotStuffer, AnyChunkingEqualsTheWholeBody) {
  const std::vector<std::string> bodies = {
      ".\r\n.\r\n..\r\n", "\r\n.\r\n", "..", "x\r\n.\r", "x\r\n.\r\n", "\r\r\n.\n.\r\n.x",
      "Received: by x\r\n\r\n.hidden\r\n.\r\nnot the end\r\n", std::string(70, '.') + "\r\n.",
  };
  for (const std::string& body : bodies) {
    const std::string want = stuffed_by_lines(body);
    for (std::size_t chunk = 1; chunk <= body.size() + 1; ++chunk) {
      EXPECT_EQ(stuffed_in_chunks(body, chunk), want) << "body " << testing::PrintToString(body) << " chunk " << chunk;
    }
  }
}

TEST(DotStuffer, EmptyChunksChangeNothing) {
  DotStuffer stuffer;
  std::string out;
  for (std::string_view piece : {"a\r", "", "\n", "", ".b"}) stuffer.stuff(piece, out);
  stuffer.finish(out);
  EXPECT_EQ(out, "a\r\n..b\r\n.\r\n");
}

}  // namespace
}  // namespace relay
