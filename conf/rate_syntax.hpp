// conf/rate_syntax.hpp — the "N/period" syntax of the listener rate limits.
//
// Owns: parsing "60/min", "3/2s", "1000/hour", "10/s", "500/day" into
// ListenerConfig::Rate (N tokens, refilled at N per period), and its display form.
// Units: s, sec, second, m, min, minute, h, hour, d, day (singular or plural), or a
// duration with a number ("2s", "10m", "1h"). N is 1..1000000, the period 1 s..1 day.
// "off" (or an absent key) disables the limit.
// Never: looks at other keys, does I/O, throws. Errors are administrator-readable text.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace conf {

std::expected<ListenerConfig::Rate, std::string> parse_rate(std::string_view text);

/// "60/60s" style text of a rate, for logs and docs ("off" when disabled).
std::string format_rate(const ListenerConfig::Rate& rate);

}  // namespace conf
