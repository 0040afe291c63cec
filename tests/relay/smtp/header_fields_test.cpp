// tests/relay/smtp/header_fields_test.cpp — walking a header section field by field
// (relay/smtp/header_fields): folding, the empty line, bare LF, the scan limit.
#include "relay/smtp/header_fields.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay {
namespace {

struct Field {
  std::string name, value, text;
  friend bool operator==(const Field&, const Field&) = default;
};

std::vector<Field> fields_of(std::string_view message, LineEnds ends = LineEnds::crlf,
                             std::size_t limit = std::string_view::npos) {
  std::vector<Field> out;
  HeaderFieldReader reader(message, ends, limit);
  for (int i = 0; i < 100; ++i) {  // bounded
    const auto field = reader.next();
    if (!field) break;
    out.push_back({std::string(field->name), std::string(field->value), std::string(field->text)});
  }
  return out;
}

TEST(HeaderFields, FieldsUpToTheEmptyLine) {
  const std::string_view message = "From: a@b\r\nSubject: hi\r\n\r\nX: in the body\r\n";
  EXPECT_EQ(fields_of(message), (std::vector<Field>{{"From", " a@b", "From: a@b\r\n"},
                                                    {"Subject", " hi", "Subject: hi\r\n"}}));
  HeaderFieldReader reader(message);
  while (reader.next()) {
  }
  EXPECT_EQ(reader.fields_end(), 24u);  // where the empty line starts
  EXPECT_EQ(reader.section_end(), 26u);
}

TEST(HeaderFields, FoldedLinesBelongToTheirField) {
  EXPECT_EQ(fields_of("Subject: a\r\n b\r\n\tc\r\nTo: x\r\n\r\n"),
            (std::vector<Field>{{"Subject", " a\r\n b\r\n\tc", "Subject: a\r\n b\r\n\tc\r\n"}, {"To", " x", "To: x\r\n"}}));
}

TEST(HeaderFields, NameAsWrittenAndFieldsWithoutColon) {
  EXPECT_EQ(fields_of("Name : v\r\nno colon\r\n\r\n"),
            (std::vector<Field>{{"Name ", " v", "Name : v\r\n"}, {"", "", "no colon\r\n"}}));
  // The first colon splits: the value may hold more.
  EXPECT_EQ(fields_of("Subject: TLS-Required: No\r\n\r\n").front().value, " TLS-Required: No");
}

TEST(HeaderFields, BareLineFeedsOnlyWhenAsked) {
  const std::string_view message = "A: 1\nB: 2\n\nC: body\n";
  EXPECT_EQ(fields_of(message, LineEnds::crlf_or_lf),
            (std::vector<Field>{{"A", " 1", "A: 1\n"}, {"B", " 2", "B: 2\n"}}));
  EXPECT_EQ(header_section_end(message, LineEnds::crlf_or_lf), 11u);
  // CRLF only: one line that never ends, and no end of the header section.
  EXPECT_EQ(fields_of(message).size(), 1u);
  EXPECT_EQ(header_section_end(message), std::nullopt);
}

TEST(HeaderFields, SectionEnd) {
  EXPECT_EQ(header_section_end("A: b\r\n\r\nbody"), 8u);
  EXPECT_EQ(header_section_end("\r\nbody"), 2u);           // an empty header section
  EXPECT_EQ(header_section_end("A: b\r\nno end"), std::nullopt);
  EXPECT_EQ(header_section_end("A: b\r\n \r\n\r\nbody"), 11u);  // a blank folded line is not the end
  EXPECT_EQ(header_section_end(""), std::nullopt);
}

TEST(HeaderFields, OnlyTheLimitIsRead) {
  const std::string message = "X: " + std::string(100, 'a') + "\r\nY: z\r\n\r\n";
  const auto cut = fields_of(message, LineEnds::crlf, 50);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut.front().text.size(), 50u);  // the field as far as read
  EXPECT_EQ(header_section_end(message, LineEnds::crlf, 50), std::nullopt);
  EXPECT_EQ(header_section_end(message, LineEnds::crlf, message.size()), message.size());
}

}  // namespace
}  // namespace relay
