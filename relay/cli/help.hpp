// relay/cli/help.hpp — the usage text of `hubrelay` and of each of its subcommands.
//
// Owns: every --help text (one per command path: "serve", "queue", "queue list",
// "route explain", ...) and the two lines printed on a usage error (exit status 2).
// Never: parses or decides anything; main and the subcommands choose what to print.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace relay::cli {

inline constexpr const char* default_config = "/etc/hubrelay/hubrelay.toml";

/// The top-level usage: every command, one line each.
std::string main_usage();

/// The help of one command path ("queue list"); nullopt for an unknown path.
std::optional<std::string> help_for(std::string_view command_path);

/// Prints "hubrelay PATH: WHY" and where to find help on stderr; returns 2, the exit
/// status of every usage error.
int usage_error(std::string_view command_path, std::string_view why);

}  // namespace relay::cli
