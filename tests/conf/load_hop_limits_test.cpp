// tests/conf/load_hop_limits_test.cpp — the upstream-limit keys of [hop.NAME]:
// initial_connections, max_message_rate, max_connection_rate, suspend_on.
#include <gtest/gtest.h>

#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view base = test_support::minimal_config;

TEST(LoadHopLimits, ReadsRatesWindowAndSuspensionRules) {
  const std::string text = std::string(base) + R"(
[hop.isp]
host = "smtp.isp.example"
max_connections = 8
initial_connections = 2
max_message_rate = "600/min"
max_connection_rate = "30/min"
suspend_on = [
  { match = "4\\.7\\.0 .*rate", duration = "5m" },
  { match = "(?:try|come) again later" },
]
)";
  auto loaded = load_string(text, "test.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const HopConfig* hop = (*loaded)->find_hop("isp");
  ASSERT_NE(hop, nullptr);
  EXPECT_EQ(hop->initial_connections, 2u);
  EXPECT_EQ(hop->message_rate.count, 600u);
  EXPECT_EQ(hop->message_rate.period, 60s);
  EXPECT_EQ(hop->connection_rate.count, 30u);
  ASSERT_EQ(hop->suspend_on.size(), 2u);
  EXPECT_EQ(hop->suspend_on[0].duration, 300s);
  EXPECT_EQ(hop->suspend_on[1].duration, 300s);  // the default
  EXPECT_GT(hop->suspend_on[0].line, 0);
  ASSERT_TRUE(hop->suspend_on[0].regex);
  EXPECT_TRUE(std::regex_search(std::string("421 4.7.0 slow down: rate exceeded"), *hop->suspend_on[0].regex));
  EXPECT_FALSE(std::regex_search(std::string("421 4.3.2 shutting down"), *hop->suspend_on[0].regex));
}

TEST(LoadHopLimits, DefaultsAreOff) {
  auto loaded = load_string(std::string(base) + "[hop.a]\nhost = \"h.example\"\n", "test.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const HopConfig* hop = (*loaded)->find_hop("a");
  EXPECT_FALSE(hop->message_rate.enabled());
  EXPECT_FALSE(hop->connection_rate.enabled());
  EXPECT_TRUE(hop->suspend_on.empty());
  EXPECT_EQ(hop->initial_connections, 5u);
}

TEST(LoadHopLimits, BadValuesNameFileLineAndKey) {
  struct Case {
    const char* text;
    const char* key;
    const char* message;
  };
  const Case cases[] = {
      {"[hop.a]\nhost = \"h.example\"\nmax_message_rate = \"fast\"\n", "hop.a.max_message_rate", "invalid rate"},
      {"[hop.a]\nhost = \"h.example\"\nmax_connection_rate = \"10/fortnight\"\n", "hop.a.max_connection_rate",
       "invalid rate"},
      {"[hop.a]\nhost = \"h.example\"\nsuspend_on = [ { match = \"4\\\\.7\\\\.0 (rate\" } ]\n",
       "hop.a.suspend_on[0].match", "invalid regular expression"},
      {"[hop.a]\nhost = \"h.example\"\nsuspend_on = [ { match = \"x\", duration = \"0s\" } ]\n",
       "hop.a.suspend_on[0].duration", ""},
      {"[hop.a]\nhost = \"h.example\"\nsuspend_on = [ { duration = \"1m\" } ]\n", "hop.a.suspend_on[0].match", ""},
      {"[hop.a]\nhost = \"h.example\"\nsuspend_on = [ \"rate\" ]\n", "hop.a.suspend_on[0]", "expected a table"},
      {"[hop.a]\nhost = \"h.example\"\ninitial_connections = 0\n", "hop.a.initial_connections", ""},
  };
  for (const auto& c : cases) {
    auto loaded = load_string(std::string(base) + c.text, "test.toml");
    ASSERT_FALSE(loaded) << c.text;
    bool found = false;
    for (const auto& d : loaded.error())
      if (d.key == c.key && d.message.find(c.message) != std::string::npos && d.line > 0) found = true;
    EXPECT_TRUE(found) << "want " << c.key << ": " << c.message << "\ngot:\n" << test_support::diagnostics_text(loaded);
  }
}

}  // namespace
}  // namespace conf
