// tests/support/config_text.hpp — the smallest valid configuration and diagnostics as text.
//
// Owns: `minimal_config` (one inbound listener on a closed policy), which config tests
// extend by appending tables, and `diagnostics_text`, which turns a load result into the
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
