// tests/support/config_text.hpp — the smallest valid configuration and diagnostics as text.
//
// Owns: `minimal_config` (one inbound listener on a closed policy), which config tests
// extend by appending tables, `numbered_config` for tests that expect diagnostics on
// given lines, and `diagnostics_text`, which turns a load result into the
// "file:line: key: message" lines an administrator would read, for EXPECT messages and
// substring checks. Header-only; test code only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "conf/load.hpp"

namespace test_support {

inline constexpr std::string_view minimal_config = R"(
[relay]
hostname = "relay.example.com"

[policy.in]

[[listener]]
name = "in"
direction = "inbound"
bind = ["127.0.0.1:2525"]
policy = "in"
)";

/// 16 lines, each always on the same line number: [relay], the hop "hub", an inbound
/// catch-all route to it and, last, the listener "in" on policy "in" (so keys appended
/// directly belong to the listener). The test adds [policy.in] itself, on line 17.
inline constexpr std::string_view numbered_config =
    "[relay]\n"                                // 1
    "hostname = \"relay.example.com\"\n"       // 2
    "state_dir = \"/var/lib/hubrelay\"\n"      // 3
    "accepted_domains = [\"example.com\"]\n"   // 4
    "[hop.hub]\n"                              // 5
    "host = \"192.0.2.10\"\n"                  // 6
    "[[route]]\n"                              // 7
    "name = \"to-hub\"\n"                      // 8
    "direction = \"inbound\"\n"                // 9
    "domains = [\"*\"]\n"                      // 10
    "hops = [{ hop = \"hub\" }]\n"             // 11
    "[[listener]]\n"                           // 12
    "name = \"in\"\n"                          // 13
    "direction = \"inbound\"\n"                // 14
    "bind = [\"127.0.0.1:2525\"]\n"            // 15
    "policy = \"in\"\n";                       // 16

inline std::string diagnostics_text(const std::vector<conf::Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.to_string() + "\n";
  return out;
}

/// "" when `loaded` succeeded, else every diagnostic, one per line.
inline std::string diagnostics_text(const conf::LoadResult& loaded) {
  return loaded ? std::string() : diagnostics_text(loaded.error());
}

}  // namespace test_support
