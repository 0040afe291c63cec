// tests/relay/cli/arguments_test.cpp — command-line words against a subcommand's options:
// unknown options are named, values are taken or refused, --config and --help anywhere.
#include "relay/cli/arguments.hpp"

#include <gtest/gtest.h>

namespace {

using relay::cli::first_positional;
using relay::cli::OptionSpec;
using relay::cli::parse_words;

const OptionSpec list_spec{.flags = {"json"}, .valued = {"state", "limit"}};

TEST(CliArguments, UnknownOptionIsNamedNotMistakenForAValuedOne) {
  auto bare = parse_words({"--bogus"}, list_spec);
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error(), "unknown option --bogus");
  auto with_value = parse_words({"--colour", "blue"}, list_spec);
  ASSERT_FALSE(with_value);
  EXPECT_EQ(with_value.error(), "unknown option --colour");
  auto short_one = parse_words({"-x"}, list_spec);
  ASSERT_FALSE(short_one);
  EXPECT_EQ(short_one.error(), "unknown option -x");
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
  auto at_end = parse_words({"--state"}, list_spec);
  ASSERT_FALSE(at_end);
  EXPECT_EQ(at_end.error(), "option --state needs a value");
  auto before_option = parse_words({"--state", "--json"}, list_spec);
  ASSERT_FALSE(before_option);
  EXPECT_EQ(before_option.error(), "option --state needs a value");
  auto flag_value = parse_words({"--json=yes"}, list_spec);
  ASSERT_FALSE(flag_value);
  EXPECT_EQ(flag_value.error(), "option --json takes no value");
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
