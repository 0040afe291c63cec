// relay/cli/arguments.hpp — the command-line words of one subcommand, checked against
// the options it accepts.
//
// Owns: splitting words into positionals, flags (no value) and valued options
// ("--key VALUE" or "--key=VALUE"), the shared --config/-c and --help/-h, and the usage
// error text for an unknown option, a missing value or a value given to a flag.
// Pure: words and a spec in, words or a usage error out; prints nothing, exits nothing.
// Callers turn an error into exit status 2 (usage) and print their own usage line.
#pragma once

#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace relay::cli {

/// What one subcommand accepts besides --config and --help.
struct OptionSpec {
  std::set<std::string, std::less<>> flags;   // --json, --all: no value
  std::set<std::string, std::less<>> valued;  // --state S, --direction D: one value each
};

struct Words {
  std::vector<std::string> positional;
  std::set<std::string, std::less<>> flags;
  std::map<std::string, std::string, std::less<>> options;  // the last one given wins
  std::optional<std::string> config;                          // --config FILE / -c FILE
  bool help = false;                                          // --help / -h anywhere
};

/// Checks `words` against `spec`; the error names the offending option
/// ("unknown option --bogus", "option --state needs a value", "option --json takes no value").
std::expected<Words, std::string> parse_words(const std::vector<std::string>& words, const OptionSpec& spec);

}  // namespace relay::cli

namespace relay::cli {

/// Index of the first word that is neither an option nor the value of --config/-c: the
/// (sub)command, so "hubrelay --config F queue list" and "hubrelay queue list -c F" agree.
std::optional<std::size_t> first_positional(const std::vector<std::string>& words);

}  // namespace relay::cli
