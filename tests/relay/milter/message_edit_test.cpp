// tests/relay/milter/message_edit_test.cpp — modifications applied to a stored message:
// header edits by position and name, body replacement with the CRLF rule, envelope edits.
#include "relay/milter/message_edit.hpp"

#include <gtest/gtest.h>

namespace relay::milter {
namespace {

const std::string section =
    "Received: from x\r\n\tby y\r\nSubject: one\r\nX-Tag: a\r\nx-tag: b\r\n\r\n";

Reply header(ReplyKind kind, std::string name, std::string value, std::uint32_t index = 0) {
  Reply r{kind, std::move(value)};
  r.name = std::move(name);
  r.index = index;
  return r;
}

TEST(MilterMessageEdit, FindsTheHeaderSection) {
  EXPECT_EQ(header_section_end("A: b\r\n\r\nbody"), 8u);
  EXPECT_EQ(header_section_end("\r\nbody"), 2u);
  EXPECT_FALSE(header_section_end("A: b\r\nno end"));
}

TEST(MilterMessageEdit, FieldsAndTheFormAFilterSees) {
  auto fields = split_header_section(std::string_view(section).substr(0, section.size() - 2));
  ASSERT_EQ(fields.size(), 4u);
  EXPECT_EQ(fields[0].name, "Received");
  EXPECT_EQ(value_for_filter(fields[0]), "from x\n\tby y");
  EXPECT_EQ(value_for_filter(fields[1]), "one");
}

TEST(MilterMessageEdit, HeaderEdits) {
  Envelope envelope;
  const std::vector<Reply> mods = {
      header(ReplyKind::add_header, "X-Spam", "yes"),
      header(ReplyKind::insert_header, "X-First", "top", 0),
      header(ReplyKind::change_header, "X-TAG", "B2", 2),
      header(ReplyKind::change_header, "Subject", "", 1),
      header(ReplyKind::change_header, "X-New", "added", 3),
      header(ReplyKind::change_header, "X-Missing", "", 1),
      header(ReplyKind::insert_header, "X-Last", "end\r\n\tfolded", 99),
  };
  auto edits = apply_modifications(mods, section, envelope);
  EXPECT_TRUE(edits.headers_changed);
  EXPECT_EQ(edits.header_section,
            "X-First: top\r\nReceived: from x\r\n\tby y\r\nX-Tag: a\r\nx-tag: B2\r\nX-Spam: yes\r\nX-New: added\r\n"
            "X-Last: end\r\n\tfolded\r\n\r\n");
  EXPECT_FALSE(edits.body);
  EXPECT_FALSE(edits.envelope_changed);
}

TEST(MilterMessageEdit, EmptyHeaderSection) {
  Envelope envelope;
  const std::vector<Reply> mods = {header(ReplyKind::add_header, "X-A", "1")};
  EXPECT_EQ(apply_modifications(mods, "\r\n", envelope).header_section, "X-A: 1\r\n\r\n");
}

TEST(MilterMessageEdit, ReplacedBodyOnlyHasCrlfLineEnds) {
  EXPECT_EQ(normalise_body("a\nb\rc\r\nd"), "a\r\nb\r\nc\r\nd\r\n");
  EXPECT_EQ(normalise_body("\n.\n"), "\r\n.\r\n");
  EXPECT_EQ(normalise_body(""), "");
  Envelope envelope;
  const std::vector<Reply> mods = {Reply{ReplyKind::replace_body, "part one\n"},
                                   Reply{ReplyKind::replace_body, "part two\r"}};
  auto edits = apply_modifications(mods, section, envelope);
  ASSERT_TRUE(edits.body);
  EXPECT_EQ(*edits.body, "part one\r\npart two\r\n");
  EXPECT_FALSE(edits.headers_changed);
  EXPECT_EQ(edits.header_section, section);
}

TEST(MilterMessageEdit, EnvelopeEdits) {
  Envelope envelope{"old@example.com", "BODY=8BITMIME", {"a@x", "B@x"}, {"NOTIFY=NEVER"}};
  Reply from{ReplyKind::change_from, "new@example.com"};
  Reply add{ReplyKind::add_rcpt, "c@x"};
  Reply add_dup{ReplyKind::add_rcpt, "A@X"};
  Reply add_par{ReplyKind::add_rcpt_par, "d@x"};
  add_par.arguments = "NOTIFY=SUCCESS";
  Reply del{ReplyKind::del_rcpt, "b@X"};
  Reply quarantine{ReplyKind::quarantine, "suspicious"};
  const std::vector<Reply> mods = {from, add, add_dup, add_par, del, quarantine};
  auto edits = apply_modifications(mods, section, envelope);
  EXPECT_TRUE(edits.envelope_changed);
  EXPECT_EQ(edits.quarantine_reason, "suspicious");
  EXPECT_EQ(envelope.sender, "new@example.com");
  EXPECT_EQ(envelope.mail_parameters, "BODY=8BITMIME");  // kept: no arguments given
  EXPECT_EQ(envelope.recipients, (std::vector<std::string>{"a@x", "c@x", "d@x"}));
  EXPECT_EQ(envelope.recipient_parameters, (std::vector<std::string>{"NOTIFY=NEVER", "", "NOTIFY=SUCCESS"}));
  Reply with_args{ReplyKind::change_from, ""};
  with_args.arguments = "SIZE=5";
  const std::vector<Reply> second = {with_args};
  apply_modifications(second, section, envelope);
  EXPECT_EQ(envelope.sender, "");
  EXPECT_EQ(envelope.mail_parameters, "SIZE=5");
}

}  // namespace
}  // namespace relay::milter
