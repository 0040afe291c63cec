// tests/conf/load_milter_test.cpp — [milter.NAME] and the listeners' `milters` lists.
#include <gtest/gtest.h>

#include <string>

#include "conf/load.hpp"
#include "tests/support/config_text.hpp"

namespace conf {
namespace {

using namespace std::chrono_literals;

std::string with_listener_milters(std::string_view milters, std::string_view tables) {
  std::string text(test_support::minimal_config);
  const auto at = text.find("[[listener]]");
  text.insert(at, std::string(tables) + "\n");
  const auto policy = text.find("policy = ", text.find("[[listener]]"));
  const auto line_end = text.find('\n', policy);
  text.insert(line_end + 1, "milters = " + std::string(milters) + "\n");
  return text;
}

TEST(LoadMilter, ReadsEveryKeyAndTheListenerChain) {
  const std::string text = with_listener_milters(R"(["rspamd", "clamav"])", R"(
[milter.rspamd]
address = "inet:127.0.0.1:11332"
connect_timeout = "2s"
command_timeout = "10s"
content_timeout = "5m"
default_action = "shutdown"
macros = { connect = "j {client_addr}", eom = "i {mail_addr}" }

[milter.clamav]
address = "unix:/run/clamav/milter.sock"
)");
  auto loaded = load_string(text, "test.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  const MilterConfig* rspamd = (*loaded)->find_milter("rspamd");
  ASSERT_NE(rspamd, nullptr);
  EXPECT_EQ(rspamd->host, "127.0.0.1");
  EXPECT_EQ(rspamd->port, 11332);
  EXPECT_EQ(rspamd->connect_timeout, 2s);
  EXPECT_EQ(rspamd->command_timeout, 10s);
  EXPECT_EQ(rspamd->content_timeout, 5min);
  EXPECT_EQ(rspamd->default_action, MilterConfig::DefaultAction::shutdown);
  ASSERT_EQ(rspamd->macros.size(), 2u);
  const auto& connect = rspamd->macros[0].first == "connect" ? rspamd->macros[0] : rspamd->macros[1];
  EXPECT_EQ(connect.first, "connect");
  EXPECT_EQ(connect.second, (std::vector<std::string>{"j", "{client_addr}"}));
  const MilterConfig* clamav = (*loaded)->find_milter("clamav");
  ASSERT_NE(clamav, nullptr);
  EXPECT_EQ(clamav->socket_path, "/run/clamav/milter.sock");
  EXPECT_EQ(clamav->connect_timeout, 5s);
  EXPECT_EQ(clamav->command_timeout, 30s);
  EXPECT_EQ(clamav->content_timeout, 2min);
  EXPECT_EQ(clamav->default_action, MilterConfig::DefaultAction::tempfail);
  EXPECT_EQ((*loaded)->listeners.at(0).milters, (std::vector<std::string>{"rspamd", "clamav"}));
}

TEST(LoadMilter, IPv6Address) {
  auto loaded = load_string(with_listener_milters(R"(["f"])", "[milter.f]\naddress = \"inet:[::1]:8891\"\n"), "t.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  EXPECT_EQ((*loaded)->find_milter("f")->host, "::1");
}

TEST(LoadMilter, NoMiltersByDefault) {
  auto loaded = load_string(std::string(test_support::minimal_config), "t.toml");
  ASSERT_TRUE(loaded) << test_support::diagnostics_text(loaded);
  EXPECT_TRUE((*loaded)->listeners.at(0).milters.empty());
  EXPECT_TRUE((*loaded)->milters.empty());
}

TEST(LoadMilter, UnknownMilterNamedWithFileLineAndKey) {
  const std::string text = with_listener_milters(R"(["f", "nope"])", "[milter.f]\naddress = \"inet:127.0.0.1:1\"\n");
  auto loaded = load_string(text, "t.toml");
  ASSERT_FALSE(loaded);
  const std::string diagnostics = test_support::diagnostics_text(loaded);
  EXPECT_NE(diagnostics.find("listener[0].milters[1]: unknown milter 'nope' (defined: f)"), std::string::npos)
      << diagnostics;
  EXPECT_NE(diagnostics.find("t.toml:"), std::string::npos);
}

TEST(LoadMilter, BadValuesAreReported) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"address = \"tcp:1.2.3.4:5\"", "milter.f.address: invalid address"},
      {"address = \"inet:127.0.0.1\"", "milter.f.address: invalid address"},
      {"address = \"inet:127.0.0.1:0\"", "invalid port"},
      {"address = \"unix:\"", "needs a path"},
      {"address = \"inet:1.2.3.4:5\"\ndefault_action = \"bounce\"", "milter.f.default_action"},
      {"address = \"inet:1.2.3.4:5\"\ncommand_timeout = \"0s\"", "milter.f.command_timeout"},
      {"address = \"inet:1.2.3.4:5\"\nmacros = { body = \"i\" }", "milter.f.macros.body: unknown stage"},
      {"address = \"inet:1.2.3.4:5\"\nmacros = { mail = \"long {ok}\" }", "invalid macro name 'long'"},
      {"address = \"inet:1.2.3.4:5\"\nflavour = 1", "milter.f.flavour: unknown key"},
      {"connect_timeout = \"1s\"", "milter.f.address: missing required key"},
  };
  for (const auto& [body, expected] : cases) {
    auto loaded = load_string(with_listener_milters("[]", "[milter.f]\n" + std::string(body) + "\n"), "t.toml");
    ASSERT_FALSE(loaded) << body;
    const std::string diagnostics = test_support::diagnostics_text(loaded);
    EXPECT_NE(diagnostics.find(expected), std::string::npos) << body << "\n" << diagnostics;
  }
  auto twice = load_string(with_listener_milters(R"(["f", "f"])", "[milter.f]\naddress = \"inet:1.2.3.4:5\"\n"), "t");
  ASSERT_FALSE(twice);
  EXPECT_NE(test_support::diagnostics_text(twice).find("listed twice"), std::string::npos);
}

}  // namespace
}  // namespace conf
