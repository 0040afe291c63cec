// tests/relay/dkim/header_fields_test.cpp — splitting fields, h= with oversigning, picking
// instances from the bottom, the From: domain, alignment and existing signatures.
#include <gtest/gtest.h>

#include "relay/dkim/header_fields.hpp"
#include "relay/dkim/signing_plan.hpp"

namespace relay::dkim {
namespace {

TEST(HeaderFields, SplitsKeepingFolding) {
  const auto fields = split_header_fields("From: a@b.example\r\nSubject: one\r\n two\r\nTo : c@d\r\n");
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[1].name, "Subject");
  EXPECT_EQ(fields[1].raw, "Subject: one\r\n two");
  EXPECT_EQ(fields[2].name, "To");
  EXPECT_EQ(fields[2].raw, "To : c@d");
}

TEST(HeaderFields, OversignedNamesAppearOnceMoreThanPresent) {
  const auto fields = split_header_fields("From: a@b\r\nTo: x@y\r\nTo: z@y\r\nX-Other: 1\r\n");
  const auto h = signed_header_names(fields, {"to", "subject", "from"}, {"from", "to", "reply-to"});
  EXPECT_EQ(h, (std::vector<std::string>{"from", "from", "to", "to", "to", "reply-to"}));
  // Not oversigned and absent: not listed. From is always signed.
  EXPECT_EQ(signed_header_names(fields, {"subject"}, {}), (std::vector<std::string>{"from"}));
}

TEST(HeaderFields, SelectsInstancesFromTheBottom) {
  const auto fields = split_header_fields("To: first\r\nFrom: a@b\r\nto: second\r\n");
  const auto selected = select_fields(fields, {"from", "to", "to", "to"});
  ASSERT_EQ(selected.size(), 3u);
  EXPECT_EQ(selected[0].raw, "From: a@b");
  EXPECT_EQ(selected[1].raw, "to: second");
  EXPECT_EQ(selected[2].raw, "To: first");
}

TEST(HeaderFields, AuthorDomain) {
  const auto domain = [](std::string section) { return author_domain(split_header_fields(section)); };
  EXPECT_EQ(domain("From: Joe <joe@Football.Example.COM.>\r\n"), "football.example.com");
  EXPECT_EQ(domain("From: joe@example.com (Joe <x@evil.example>)\r\n"), "example.com");
  EXPECT_EQ(domain("From: \"a@evil.example <b>\" <joe@example.com>\r\n"), "example.com");
  EXPECT_EQ(domain("FROM:\r\n  <joe@example.com>\r\n"), "example.com");
  EXPECT_EQ(domain("From: J\xc3\xb6rg <j\xc3\xb6rg@example.com>\r\n"), "example.com");
  EXPECT_EQ(domain("From: a@example.com\r\nFrom: b@example.com\r\n"), std::nullopt);
  EXPECT_EQ(domain("From: a@example.com, b@other.example\r\n"), std::nullopt);
  EXPECT_EQ(domain("To: a@example.com\r\n"), std::nullopt);
  EXPECT_EQ(domain("From: undisclosed\r\n"), std::nullopt);
}

TEST(HeaderFields, Alignment) {
  EXPECT_TRUE(domain_aligned("example.com", "Example.com", false));
  EXPECT_FALSE(domain_aligned("mail.example.com", "example.com", false));
  EXPECT_TRUE(domain_aligned("mail.example.com", "example.com", true));
  EXPECT_FALSE(domain_aligned("badexample.com", "example.com", true));
}

TEST(SigningPlan, SignsAlignedKeysOnceEach) {
  const std::vector<SignerIdentity> ids{{"example.com", "r", false}, {"example.com", "e", false},
                                        {"other.example", "r", false}, {"example.com", "sub", true}};
  const auto fields = split_header_fields(
      "DKIM-Signature: v=1; a=rsa-sha256; d=Example.com;\r\n s=r; b=abc\r\nFrom: x@example.com\r\n");
  const auto plan = plan_signatures(fields, ids);
  EXPECT_EQ(plan.keys, (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(plan.note, PlanNote::signing);

  const auto sub = plan_signatures(split_header_fields("From: x@mail.example.com\r\n"), ids);
  EXPECT_EQ(sub.keys, (std::vector<std::size_t>{3}));
  const auto none = plan_signatures(split_header_fields("From: x@elsewhere.example\r\n"), ids);
  EXPECT_TRUE(none.keys.empty());
  EXPECT_EQ(none.note, PlanNote::not_aligned);
  const auto twice = plan_signatures(
      split_header_fields("DKIM-Signature: d=other.example; s=r; b=x\r\nFrom: y@other.example\r\n"), ids);
  EXPECT_EQ(twice.note, PlanNote::already_signed);
}

}  // namespace
}  // namespace relay::dkim
