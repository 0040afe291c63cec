// tests/conf/verification_config_test.cpp — the verification keys of [policy.NAME]: DNSBL
// zones and recipient verification. Good values land in PolicyConfig; every bad one is a
// diagnostic with the line and dotted key (table-driven got/want).
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "conf/load.hpp"
#include "conf/recipient_list.hpp"
#include "tests/support/config_text.hpp"
#include "tests/support/temp_dir.hpp"

namespace conf {
namespace {

// [policy.in] is line 17; the policy keys start on line 18.
std::string config(std::string_view policy_keys) {
  return std::string(test_support::numbered_config) + "[policy.in]\n" + std::string(policy_keys);
}

TEST(VerificationConfig, GoodValuesAreRead) {
  const auto loaded = load_string(config(
                                      "dnsbl = [{ zone = \"Zen.Example.org.\", action = \"reject\" },\n"
                                      "         { zone = \"tag.example\", action = \"tag\", match = [\"127.0.0.2\", \"127.0.0.4\"] }]\n"
                                      "dnsbl_check = \"connect\"\n"
                                      "dnsbl_timeout = \"2s\"\n"
                                      "dnsbl_min_ttl = \"30s\"\n"
                                      "dnsbl_max_ttl = \"1h\"\n"
                                      "valid_recipients = [\"Bob@Example.com\", \"@catchall.example\"]\n"
                                      "recipient_callout = true\n"
                                      "callout_sender = \"verify@example.com\"\n"
                                      "callout_timeout = \"10s\"\n"
                                      "callout_positive_ttl = \"2h\"\n"
                                      "callout_negative_ttl = \"5m\"\n"
                                      "callout_on_failure = \"accept\"\n"
                                      "callout_cache_size = 500\n"),
                                  "t.toml");
  ASSERT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().front().to_string());
  const PolicyConfig& p = (*loaded)->policies.front();
  ASSERT_EQ(p.dnsbl.size(), 2u);
  EXPECT_EQ(p.dnsbl[0].zone, "zen.example.org");
  EXPECT_FALSE(p.dnsbl[0].tag);
  EXPECT_EQ(p.dnsbl[1].zone, "tag.example");
  EXPECT_TRUE(p.dnsbl[1].tag);
  EXPECT_EQ(p.dnsbl[1].match, (std::vector<std::string>{"127.0.0.2", "127.0.0.4"}));
  EXPECT_TRUE(p.dnsbl_at_connect);
  EXPECT_EQ(p.dnsbl_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(p.dnsbl_min_ttl, std::chrono::seconds(30));
  EXPECT_EQ(p.dnsbl_max_ttl, std::chrono::seconds(3600));
  EXPECT_TRUE(p.static_recipients);
  EXPECT_EQ(p.valid_recipients, (std::vector<std::string>{"bob@example.com", "@catchall.example"}));
  EXPECT_TRUE(p.recipient_callout);
  EXPECT_EQ(p.callout_sender, "verify@example.com");
  EXPECT_EQ(p.callout_timeout, std::chrono::seconds(10));
  EXPECT_EQ(p.callout_positive_ttl, std::chrono::seconds(7200));
  EXPECT_EQ(p.callout_negative_ttl, std::chrono::seconds(300));
  EXPECT_TRUE(p.callout_accept_on_failure);
  EXPECT_EQ(p.callout_cache_size, 500u);
}

TEST(VerificationConfig, DefaultsAreOffAndDefer) {
  const auto loaded = load_string(config(""), "t.toml");
  ASSERT_TRUE(loaded.has_value());
  const PolicyConfig& p = (*loaded)->policies.front();
  EXPECT_TRUE(p.dnsbl.empty());
  EXPECT_FALSE(p.dnsbl_at_connect);
  EXPECT_FALSE(p.static_recipients);
  EXPECT_FALSE(p.recipient_callout);
  EXPECT_FALSE(p.callout_accept_on_failure);
  EXPECT_EQ(p.callout_positive_ttl, std::chrono::seconds(3600));
  EXPECT_EQ(p.callout_negative_ttl, std::chrono::seconds(600));
}

struct Bad {
  std::string keys;  // starting on line 18
  int line;
  std::string key;
  std::string message_part;
};

TEST(VerificationConfig, ErrorsNameLineAndKey) {
  const std::vector<Bad> cases{
      {"dnsbl = [{ zone = \"no_dots\" }]\n", 18, "policy.in.dnsbl[0].zone", "invalid DNSBL zone"},
      {"dnsbl = [{ zone = \"*.bl.example\" }]\n", 18, "policy.in.dnsbl[0].zone", "invalid DNSBL zone"},
      {"dnsbl = [{ zone = \"bl.example\", action = \"drop\" }]\n", 18, "policy.in.dnsbl[0].action",
       "expected \"reject\" or \"tag\""},
      {"dnsbl = [{ zone = \"bl.example\", match = [\"127.0.0.0/8\"] }]\n", 18, "policy.in.dnsbl[0].match[0]",
       "IPv4 return code"},
      {"dnsbl = [{ zone = \"bl.example\", colour = \"red\" }]\n", 18, "policy.in.dnsbl[0].colour", "unknown key"},
      {"dnsbl = [{ action = \"tag\" }]\n", 18, "policy.in.dnsbl[0].zone", "missing required key"},
      {"dnsbl = \"bl.example\"\n", 18, "policy.in.dnsbl", "expected an array"},
      {"dnsbl_check = \"helo\"\n", 18, "policy.in.dnsbl_check", "expected \"rcpt\" or \"connect\""},
      {"dnsbl_timeout = \"10ms\"\n", 18, "policy.in.dnsbl_timeout", "must be between"},
      {"dnsbl_max_ttl = \"2d\"\n", 18, "policy.in.dnsbl_max_ttl", "must be between"},
      {"dnsbl_min_ttl = \"2h\"\ndnsbl_max_ttl = \"1h\"\n", 17, "policy.in.dnsbl_min_ttl", "not be greater"},
      {"callout_positive_ttl = \"-1s\"\n", 18, "policy.in.callout_positive_ttl", ""},
      {"callout_negative_ttl = \"30d\"\n", 18, "policy.in.callout_negative_ttl", "must be between"},
      {"callout_on_failure = \"bounce\"\n", 18, "policy.in.callout_on_failure", "expected \"defer\" or \"accept\""},
      {"callout_sender = \"not an address\"\n", 18, "policy.in.callout_sender", "expected an address"},
      {"callout_cache_size = 0\n", 18, "policy.in.callout_cache_size", "must be between"},
      {"recipient_callout = \"yes\"\n", 18, "policy.in.recipient_callout", "expected a boolean"},
      {"valid_recipients = [\"bob@example.com\", \"nobody\"]\n", 18, "policy.in.valid_recipients[1]",
       "not an address"},
      {"valid_recipients_file = \"/nonexistent/hubrelay-recipients.txt\"\n", 18, "policy.in.valid_recipients_file",
       "cannot read"},
  };
  for (const auto& c : cases) {
    const auto loaded = load_string(config(c.keys), "t.toml");
    ASSERT_FALSE(loaded.has_value()) << c.keys;
    const auto& d = loaded.error().front();
    EXPECT_EQ(d.line, c.line) << c.keys << " → " << d.to_string();
    EXPECT_EQ(d.key, c.key) << c.keys << " → " << d.to_string();
    EXPECT_NE(d.message.find(c.message_part), std::string::npos) << c.keys << " → " << d.to_string();
  }
}

TEST(VerificationConfig, RecipientFileIsReadWithLineErrors) {
  test_support::TempDir dir;
  const std::string list = dir.file("rcpts.txt");
  {
    std::ofstream out(list);
    out << "# valid recipients\n"
           "bob@example.com\n"
           "  Carol@Example.com   # trailing comment\n"
           "\n"
           "@catchall.example\n";
  }
  const auto loaded = load_string(config("valid_recipients_file = \"" + list + "\"\n"), "t.toml");
  ASSERT_TRUE(loaded.has_value()) << (loaded ? "" : loaded.error().front().to_string());
  EXPECT_EQ((*loaded)->policies.front().valid_recipients,
            (std::vector<std::string>{"bob@example.com", "carol@example.com", "@catchall.example"}));
  EXPECT_EQ((*loaded)->policies.front().valid_recipients_file, list);

  {
    std::ofstream out(list);
    out << "bob@example.com\n"
           "two words@example.com\n"
           "nodomain@\n";
  }
  const auto broken = load_string(config("valid_recipients_file = \"" + list + "\"\n"), "t.toml");
  ASSERT_FALSE(broken.has_value());
  ASSERT_EQ(broken.error().size(), 2u);
  EXPECT_EQ(broken.error()[0].line, 18);
  EXPECT_EQ(broken.error()[0].key, "policy.in.valid_recipients_file");
  EXPECT_NE(broken.error()[0].message.find(list + ":2: one address per line"), std::string::npos)
      << broken.error()[0].message;
  EXPECT_NE(broken.error()[1].message.find(list + ":3: "), std::string::npos) << broken.error()[1].message;
}

TEST(RecipientList, EntriesAndComments) {
  struct Case {
    const char* entry;
    const char* want;  // nullptr: error
  };
  const std::vector<Case> cases{
      {"bob@example.com", "bob@example.com"}, {" Bob@EXAMPLE.com ", "bob@example.com"},
      {"@Example.com", "@example.com"},       {"bob@example.com.", "bob@example.com"},
      {"a#b@example.com", "a#b@example.com"}, {"bob", nullptr},
      {"bob@", nullptr},                      {"bob@*.example.com", nullptr},
      {"b<o>b@example.com", nullptr},         {"@", nullptr},
  };
  for (const auto& c : cases) {
    const auto got = normalize_recipient_entry(c.entry);
    if (c.want == nullptr) {
      EXPECT_FALSE(got.has_value()) << c.entry;
    } else {
      ASSERT_TRUE(got.has_value()) << c.entry << ": " << got.error();
      EXPECT_EQ(*got, c.want);
    }
  }
  std::vector<std::string> out;
  const auto problems = parse_recipient_list("#x\n a@b.example #c\n\nbad\r\nc@d.example\r\n", out);
  EXPECT_EQ(out, (std::vector<std::string>{"a@b.example", "c@d.example"}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].line, 4);
}

}  // namespace
}  // namespace conf
