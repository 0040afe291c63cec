// tests/relay/dkim/canonicalization_test.cpp — header and body canonicalization against
// RFC 6376 §3.4.5 and the corners: chunks split anywhere, empty bodies, trailing empty
// lines, whitespace runs, lone CRs, long lines.
#include <gtest/gtest.h>

#include <string>

#include "relay/dkim/canonicalization.hpp"

namespace relay::dkim {
namespace {

std::string body(std::string_view in, Canonicalization c) {
  BodyCanonicalizer canonicalizer(c);
  std::string out;
  canonicalizer.feed(in, out);
  canonicalizer.finish(out);
  return out;
}

// The same body fed in two chunks split at every position, and one octet at a time.
void expect_any_split(std::string_view in, Canonicalization c) {
  const std::string whole = body(in, c);
  for (std::size_t split = 0; split <= in.size(); ++split) {
    BodyCanonicalizer canonicalizer(c);
    std::string out;
    canonicalizer.feed(in.substr(0, split), out);
    canonicalizer.feed(in.substr(split), out);
    canonicalizer.finish(out);
    EXPECT_EQ(out, whole) << "split at " << split;
  }
  BodyCanonicalizer canonicalizer(c);
  std::string out;
  for (const char ch : in) canonicalizer.feed(std::string_view(&ch, 1), out);
  canonicalizer.finish(out);
  EXPECT_EQ(out, whole) << "octet by octet";
}

TEST(Canonicalization, Rfc6376Example) {  // §3.4.5
  EXPECT_EQ(canonicalize_header("A: X", Canonicalization::relaxed), "a:X\r\n");
  EXPECT_EQ(canonicalize_header("B : Y\t\r\n\tZ  ", Canonicalization::relaxed), "b:Y Z\r\n");
  EXPECT_EQ(canonicalize_header("B : Y\t\r\n\tZ  ", Canonicalization::simple), "B : Y\t\r\n\tZ  \r\n");
  const std::string text = " C \r\nD \t E\r\n\r\n\r\n";
  EXPECT_EQ(body(text, Canonicalization::relaxed), " C\r\nD E\r\n");
  EXPECT_EQ(body(text, Canonicalization::simple), " C \r\nD \t E\r\n");
  expect_any_split(text, Canonicalization::relaxed);
  expect_any_split(text, Canonicalization::simple);
}

TEST(Canonicalization, EmptyBody) {
  EXPECT_EQ(body("", Canonicalization::simple), "\r\n");
  EXPECT_EQ(body("", Canonicalization::relaxed), "");
  EXPECT_EQ(body("\r\n\r\n\r\n", Canonicalization::simple), "\r\n");
  EXPECT_EQ(body("\r\n \t\r\n", Canonicalization::relaxed), "");
  EXPECT_EQ(body("\r\n \t\r\n", Canonicalization::simple), "\r\n \t\r\n");
}

TEST(Canonicalization, TrailingEmptyLinesOnlyAtTheEnd) {
  const std::string text = "a\r\n\r\n\r\nb\r\n\r\n";
  EXPECT_EQ(body(text, Canonicalization::simple), "a\r\n\r\n\r\nb\r\n");
  EXPECT_EQ(body(text, Canonicalization::relaxed), "a\r\n\r\n\r\nb\r\n");
  expect_any_split(text, Canonicalization::simple);
  expect_any_split(text, Canonicalization::relaxed);
}

TEST(Canonicalization, WhitespaceRunsAndLineEnds) {
  const std::string text = "\t\tlead  \t mid \t\r\n   \r\nx\r\n";
  EXPECT_EQ(body(text, Canonicalization::relaxed), " lead mid\r\n\r\nx\r\n");
  EXPECT_EQ(body(text, Canonicalization::simple), text);
  expect_any_split(text, Canonicalization::relaxed);
}

TEST(Canonicalization, MissingFinalLineEndIsAdded) {
  EXPECT_EQ(body("last", Canonicalization::simple), "last\r\n");
  EXPECT_EQ(body("last  ", Canonicalization::relaxed), "last\r\n");
  EXPECT_EQ(body("a\r\n  ", Canonicalization::relaxed), "a\r\n");
}

TEST(Canonicalization, LoneCarriageReturnIsAnOctet) {
  const std::string text = "a\rb\r\nc\r";
  EXPECT_EQ(body(text, Canonicalization::simple), "a\rb\r\nc\r\r\n");
  EXPECT_EQ(body(text, Canonicalization::relaxed), "a\rb\r\nc\r\r\n");
  expect_any_split(text, Canonicalization::simple);
  expect_any_split(text, Canonicalization::relaxed);
}

TEST(Canonicalization, LinesNear998Octets) {
  std::string line(997, 'x');
  line[500] = ' ';
  line[501] = ' ';
  const std::string text = line + "\r\n" + std::string(998, 'y') + "   \r\n";
  std::string relaxed = line;
  relaxed.erase(501, 1);
  EXPECT_EQ(body(text, Canonicalization::relaxed), relaxed + "\r\n" + std::string(998, 'y') + "\r\n");
  EXPECT_EQ(body(text, Canonicalization::simple), text);
}

TEST(Canonicalization, EightBitOctetsPassThrough) {
  const std::string text = "Gr\xc3\xbc\xc3\x9f""e \xe2\x80\x94  Ende\r\n";
  EXPECT_EQ(body(text, Canonicalization::relaxed), "Gr\xc3\xbc\xc3\x9f""e \xe2\x80\x94 Ende\r\n");
  EXPECT_EQ(canonicalize_header("Subject: \xc3\xa9t\xc3\xa9  \r\n  ok", Canonicalization::relaxed),
            "subject:\xc3\xa9t\xc3\xa9 ok\r\n");
}

TEST(Canonicalization, ParsesTheCTag) {
  const auto both = parse_canonicalization("simple/relaxed");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->header, Canonicalization::simple);
  EXPECT_EQ(both->body, Canonicalization::relaxed);
  const auto one = parse_canonicalization("relaxed");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->body, Canonicalization::simple);
  EXPECT_FALSE(parse_canonicalization("relaxed/loose"));
  EXPECT_FALSE(parse_canonicalization(""));
}

}  // namespace
}  // namespace relay::dkim
