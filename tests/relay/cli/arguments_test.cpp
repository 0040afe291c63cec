// tests/relay/cli/arguments_test.cpp — command-line words against a subcommand's options:
// unknown options are named, values are taken or refused, --config and --help anywhere.
#include "relay/cli/arguments.hpp"

#include <gtest/gtest.h>

namespace {

using relay::cli::first_positional;
using relay::cli::OptionSpec;
using relay::cli::parse_words;

const OptionSpec list_spec{.flags = {"json"}, .valued = {"state", "limit"}};

// Why parse_words refuses `words` under list_spec; "(accepted)" when it does not.
std::string refusal(const std::vector<std::string>& words) {
  const auto parsed = parse_words(words, list_spec);
  return parsed ? "(accepted)" : parsed.error();
}

TEST(CliArguments, UnknownOptionIsNamedNotMistakenForAValuedOne) {
  EXPECT_EQ(refusal({"--bogus"}), "unknown option --bogus");
  EXPECT_EQ(refusal({"--colour", "blue"}), "unknown option --colour");
  EXPECT_EQ(refusal({"-x"}), "unknown option -x");
}

TEST(CliArguments, ValuedOptionsTakeTheNextWordOrTheTextAfterEquals) {
  auto parsed = parse_words({"--state", "held", "--limit=5", "--json", "ABC"}, list_spec);
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->options.at("state"), "held");
  EXPECT_EQ(parsed->options.at("limit"), "5");
  EXPECT_TRUE(parsed->flags.contains("json"));
  EXPECT_EQ(parsed->positional, std::vector<std::string>{"ABC"});
}

TEST(CliArguments, MissingValueAndValueOnAFlagAreRefused) {
  EXPECT_EQ(refusal({"--state"}), "option --state needs a value");
  EXPECT_EQ(refusal({"--state", "--json"}), "option --state needs a value");
  EXPECT_EQ(refusal({"--json=yes"}), "option --json takes no value");
}

TEST(CliArguments, ConfigAndHelpAreAcceptedByEveryCommand) {
  auto parsed = parse_words({"-c", "a.toml", "--help"}, {});
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->config, "a.toml");
  EXPECT_TRUE(parsed->help);
  auto equals = parse_words({"--config=b.toml"}, {});
  ASSERT_TRUE(equals);
  EXPECT_EQ(equals->config, "b.toml");
  EXPECT_FALSE(parse_words({"--config"}, {}));
}

TEST(CliArguments, FirstPositionalSkipsOptionsAndTheConfigValue) {
  EXPECT_EQ(first_positional({"--config", "x.toml", "queue", "list"}), 2u);
  EXPECT_EQ(first_positional({"-c", "x.toml", "--json", "stats"}), 3u);
  EXPECT_EQ(first_positional({"--version"}), std::nullopt);
}

}  // namespace
