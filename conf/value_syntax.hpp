// conf/value_syntax.hpp — the syntax of one configuration value at a time.
//
// Owns: the guard on the raw input (size, UTF-8, line length, nesting) that keeps the TOML
// parser away from text it mishandles, and the checks and parsers for single values: names,
// host names, IP literals, "ip:port" listener addresses, CIDR networks, durations, sizes,
// and the spelling of a limit's value in a diagnostic ("30s", "35MiB").
// Never: looks at more than one value, does I/O, throws. Errors come back as text meant for
// an administrator ("port 0 is out of range 1..65535").
// Standards: RFC 1123 §2.1 (host names), RFC 4632 (CIDR), RFC 4291 §2.2/§2.3 (IPv6 text and
// prefixes). Implemented in conf/value_syntax.cpp; the ranges are in conf/limits.hpp.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "conf/config.hpp"

namespace conf {

/// What a numeric value counts: a plain integer, a duration (milliseconds), a size (bytes).
enum class LimitKind : std::uint8_t { integer, duration, size };

/// A raw-input problem found before TOML parsing: 1-based line and message.
struct InputProblem {
  int line = 0;
  std::string message;
};

/// Checks size, UTF-8 validity, line length and nesting depth of configuration text (the
/// input guards in conf/limits.hpp). Understands TOML strings and comments so brackets
/// inside them do not count.
std::expected<void, InputProblem> check_input_shape(std::string_view text);

/// Names of listeners, policies, hops and routes: 1..64 of [A-Za-z0-9_-].
bool is_name(std::string_view text) noexcept;

/// A node name ([queue] node): 1..63 of [A-Za-z0-9._-], starting with a letter or digit,
/// so that a host name (short or fully qualified, up to 63 characters) is one.
bool is_node_name(std::string_view text) noexcept;

/// A DNS host name as RFC 1123 allows it: dot-separated labels of letters, digits and
/// hyphens, 1..63 each, not starting or ending with '-', 253 characters at most, no
/// trailing dot, and a last label that is not all digits (that would be an IPv4 address).
bool is_hostname(std::string_view text) noexcept;

/// An IPv4 dotted quad or an IPv6 address without brackets (inet_pton syntax).
bool is_ip_literal(std::string_view text) noexcept;

/// "192.0.2.1:25" or "[2001:db8::1]:25". The address is returned in canonical form.
std::expected<BindAddress, std::string> parse_bind_address(std::string_view text);

/// "192.0.2.0/24", "2001:db8::/32", or a bare address (a host route). Host bits beyond
/// the prefix must be zero: "10.0.0.1/8" is almost always a typo for "10.0.0.0/8".
std::expected<void, std::string> check_cidr(std::string_view text);

/// Human-readable form of a value of the given kind: "30s", "35MiB", "100".
std::string format_limit_value(LimitKind kind, std::int64_t value);

/// Parses "30s", "5m", "48h", "2d", "250ms" or a bare integer (seconds).
std::expected<Millis, std::string> parse_duration(std::string_view text);
/// Parses "1048576", "10KiB", "35MiB", "1GiB", "10KB", "10MB" (decimal).
std::expected<std::uint64_t, std::string> parse_size(std::string_view text);

}  // namespace conf
