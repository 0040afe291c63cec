// tests/conf/domain_pattern_test.cpp — DomainPattern parsing, matching, specificity;
// domain_of.
#include "conf/domain_pattern.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using conf::DomainPattern;

TEST(DomainPatternParse, AcceptsAndNormalises) {
  struct Case {
    const char* text;
    const char* want_text;
  };
  const Case cases[] = {
      {"*", "*"},
      {"example.com", "example.com"},
      {"Example.COM", "example.com"},
      {"example.com.", "example.com"},
      {"*.example.com", "*.example.com"},
      {"*.Example.Com.", "*.example.com"},
      {"localhost", "localhost"},
      {"mail-1.example-2.co.uk", "mail-1.example-2.co.uk"},
      {"*.com", "*.com"},
  };
  for (const auto& c : cases) {
    auto got = DomainPattern::parse(c.text);
    ASSERT_TRUE(got.has_value()) << c.text;
    EXPECT_EQ(got->text(), c.want_text) << c.text;
  }
}

TEST(DomainPatternParse, Rejects) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 labels of 63 + 3 dots = 255 characters; 62+63+63+63+3 = 254.
  const std::string long255 = label63 + "." + label63 + "." + label63 + "." + label63;
  const std::string long254 = label63.substr(1) + "." + label63 + "." + label63 + "." + label63;
  const std::string ok253 = label63.substr(2) + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(ok253.size(), 253u);
  EXPECT_TRUE(DomainPattern::parse(ok253).has_value());
  EXPECT_TRUE(DomainPattern::parse(label63 + ".com").has_value());

  const std::string cases[] = {
      "",
      ".",
      " example.com",
      "example.com ",
      "exa mple.com",
      "**",
      "*foo",
      "*foo.com",
      "foo*",
      "foo.*",
      "a.*.b",
      "*.",
      "*..com",
      ".example.com",
      "example..com",
      "example.com..",
      "exam_ple.com",
      "user@example.com",
      "[1.2.3.4]",
      "example.com/",
      "ex\xc3\xa4mple.com",
      std::string("exa\0mple.com", 12),
      label64 + ".com",
      "*." + label64,
      long255,
      long254,
      "*." + ok253,
  };
  for (const auto& text : cases) {
    EXPECT_FALSE(DomainPattern::parse(text).has_value()) << "'" << text << "'";
  }
}

TEST(DomainPatternMatch, Table) {
  struct Case {
    const char* pattern;
    const char* domain;
    bool want;
  };
  const Case cases[] = {
      {"*", "example.com", true},
      {"*", "a.b.c", true},
      {"*", "[1.2.3.4]", true},
      {"*", "", false},
      {"*", ".", false},
      {"example.com", "example.com", true},
      {"example.com", "EXAMPLE.com", true},
      {"example.com", "example.com.", true},
      {"example.com", "example.com..", false},
      {"example.com", "www.example.com", false},
      {"example.com", "example.co", false},
      {"example.com", "xexample.com", false},
      {"example.com", "", false},
      {"*.example.com", "www.example.com", true},
      {"*.example.com", "a.b.example.com", true},
      {"*.example.com", "WWW.Example.COM.", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", ".example.com", false},
      {"*.example.com", "badexample.com", false},
      {"*.example.com", "www.example.com.evil", false},
      {"*.example.com", "", false},
  };
  for (const auto& c : cases) {
    auto pattern = DomainPattern::parse(c.pattern);
    ASSERT_TRUE(pattern.has_value()) << c.pattern;
    EXPECT_EQ(pattern->matches(c.domain), c.want) << c.pattern << " vs '" << c.domain << "'";
  }
}

TEST(DomainPatternSpecificity, ExactBeatsLongerSuffixBeatsShorterSuffixBeatsAny) {
  auto spec = [](const char* text) { return DomainPattern::parse(text)->specificity(); };
  EXPECT_GT(spec("a.example.com"), spec("*.a.example.com"));
  EXPECT_GT(spec("example.com"), spec("*.a.b.c.d.example.com"));
  EXPECT_GT(spec("*.a.example.com"), spec("*.example.com"));
  EXPECT_GT(spec("*.example.com"), spec("*.com"));
  EXPECT_GT(spec("*.com"), spec("*"));
  EXPECT_EQ(spec("*"), 0);
  EXPECT_EQ(spec("Example.com."), spec("example.com"));
}

TEST(DomainOf, Table) {
  struct Case {
    const char* address;
    const char* want;
  };
  const Case cases[] = {
      {"user@example.com", "example.com"},
      {"User@Example.COM", "example.com"},
      {"user@example.com.", "example.com"},
      {"<user@example.com>", "example.com"},
      {"\"a@b\"@example.com", "example.com"},
      {"@relay.example:user@example.com", "example.com"},
      {"user@[1.2.3.4]", "[1.2.3.4]"},
      {"user@[IPv6:2001:DB8::1]", "[IPv6:2001:DB8::1]"},
      {"postmaster", ""},
      {"user@", ""},
      {"", ""},
      {"<>", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(conf::domain_of(c.address), c.want) << c.address;
  }
}

}  // namespace
