// conf/value_syntax.cpp — syntax checks for single configuration values, durations and sizes.
//
// Owns: the implementations declared in conf/value_syntax.hpp (input guards, names, host
// names, IP literals, listener addresses, CIDR networks, limit formatting, durations, sizes).
// Everything here looks at one value at a time; how values relate to each other
// (references, duplicates) is the loader's business (conf/load.cpp and its sections).
// Never: throws (except std::bad_alloc), touches files or the clock.
// Standards: RFC 1123 §2.1, RFC 4291 §2.2-2.3, RFC 4632 §3.1.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "conf/value_syntax.hpp"
#include "conf/ascii.hpp"

#include "conf/limits.hpp"

namespace conf {
namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// The leading decimal digits of a text: their value (unless it overflowed) and count.
struct Digits {
  std::uint64_t value = 0;
  std::size_t consumed = 0;
  bool overflow = false;
};

Digits read_digits(std::string_view text) noexcept {
  Digits d;
  while (d.consumed < text.size() && is_digit(text[d.consumed])) {
    const auto digit = static_cast<std::uint64_t>(text[d.consumed] - '0');
    if (d.value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) d.overflow = true;
    if (!d.overflow) d.value = d.value * 10 + digit;
    ++d.consumed;
  }
  return d;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  // A value in a diagnostic is echoed back; cut it so one absurd value cannot flood the
  // output, and keep control characters out of the terminal.
  constexpr std::size_t max_echo = 80;
  for (std::size_t i = 0; i < text.size() && i < max_echo; ++i) {
    const char c = text[i];
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (text.size() > max_echo) out += "...";
  out += '"';
  return out;
}

/// inet_pton wants a NUL-terminated string; addresses longer than this are invalid anyway.
template <int Family>
bool pton(std::string_view text, void* out) noexcept {
  std::array<char, INET6_ADDRSTRLEN + 1> buf{};
  if (text.empty() || text.size() >= buf.size()) return false;
  text.copy(buf.data(), text.size());
  return inet_pton(Family, buf.data(), out) == 1;
}

/// Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode 15
/// Table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF), or npos.
std::size_t first_invalid_utf8(std::string_view text) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = byte(i);
    std::size_t length = 0;
    unsigned second_lo = 0x80;
    unsigned second_hi = 0xBF;
    if (lead <= 0x7F) {
      length = 1;
    } else if (in(lead, 0xC2, 0xDF)) {
      length = 2;
    } else if (in(lead, 0xE0, 0xEF)) {
      length = 3;
      if (lead == 0xE0) second_lo = 0xA0;  // overlong
      if (lead == 0xED) second_hi = 0x9F;  // surrogates
    } else if (in(lead, 0xF0, 0xF4)) {
      length = 4;
      if (lead == 0xF0) second_lo = 0x90;  // overlong
      if (lead == 0xF4) second_hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const bool ok = k == 1 ? in(byte(i + k), second_lo, second_hi) : in(byte(i + k), 0x80, 0xBF);
      if (!ok) return i;
    }
    i += length;
  }
  return std::string_view::npos;
}

}  // namespace

// --- input guards --------------------------------------------------------------------------

std::expected<void, InputProblem> check_input_shape(std::string_view text) {
  if (text.size() > limits::max_file_bytes) {
    return std::unexpected(
        InputProblem{0, "file is larger than " +
                            format_limit_value(LimitKind::size,
                                               static_cast<std::int64_t>(limits::max_file_bytes))});
  }
  // TOML text is UTF-8. toml11 3.7 also checks that, but its error path for a bad sequence
  // inside a string reads out of bounds, so malformed text must never reach it.
  if (const auto bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    return std::unexpected(
        InputProblem{static_cast<int>(line), "invalid UTF-8 (TOML files must be UTF-8 encoded)"});
  }
  // The states mirror TOML's lexical rules closely enough that a bracket inside a string or
  // comment never counts; single-line strings and comments end at a newline as in TOML.
  enum class State { code, comment, basic, literal, multiline_basic, multiline_literal };
  State state = State::code;
  int line = 1;
  std::size_t line_start = 0;
  int depth = 0;  // open [ and { in code
  int dots = 0;   // '.' in code on this line: dotted keys nest tables

  const auto too_long = [&](std::size_t end) { return end - line_start > limits::max_line_bytes; };
  const auto line_problem = [&] {
    return std::unexpected(InputProblem{
        line,
        "line is longer than " +
            format_limit_value(LimitKind::size, static_cast<std::int64_t>(limits::max_line_bytes)) +
            " (split long arrays over several lines)"});
  };
  const auto nesting_problem = [&] {
    return std::unexpected(InputProblem{line, "nesting is deeper than " +
                                                  std::to_string(limits::max_nesting) +
                                                  " levels of brackets, braces and dotted keys"});
  };
  const auto closes = [&](std::size_t i, std::string_view delimiter) {
    return text.substr(i, delimiter.size()) == delimiter;
  };

  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      if (too_long(i)) return line_problem();
      ++line;
      line_start = i + 1;
      dots = 0;
      if (state == State::comment || state == State::basic || state == State::literal) {
        state = State::code;
      }
      continue;
    }
    switch (state) {
      case State::code:
        if (c == '#') {
          state = State::comment;
        } else if (c == '"') {
          state = closes(i, R"(""")") ? State::multiline_basic : State::basic;
          if (state == State::multiline_basic) i += 2;
        } else if (c == '\'') {
          state = closes(i, "'''") ? State::multiline_literal : State::literal;
          if (state == State::multiline_literal) i += 2;
        } else if (c == '[' || c == '{') {
          if (++depth + dots > limits::max_nesting) return nesting_problem();
        } else if (c == ']' || c == '}') {
          if (depth > 0) --depth;
        } else if (c == '.') {
          if (depth + ++dots > limits::max_nesting) return nesting_problem();
        }
        break;
      case State::comment:
        break;
      case State::basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
        } else if (c == '"') {
          state = State::code;
        }
        break;
      case State::literal:
        if (c == '\'') state = State::code;
        break;
      case State::multiline_basic:
        if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
          ++i;
        } else if (closes(i, R"(""")")) {
          i += 2;
          // TOML allows up to two quotes right before the closing delimiter: """a"""""
          for (int extra = 0; extra < 2 && i + 1 < text.size() && text[i + 1] == '"'; ++extra) ++i;
          state = State::code;
        }
        break;
      case State::multiline_literal:
        if (closes(i, "'''")) {
          i += 2;
          for (int extra = 0; extra < 2 && i + 1 < text.size() && text[i + 1] == '\''; ++extra) ++i;
          state = State::code;
        }
        break;
    }
  }
  if (too_long(text.size())) return line_problem();
  return {};
}

// --- names and addresses -------------------------------------------------------------------

bool is_name(std::string_view text) noexcept {
  if (text.empty() || text.size() > limits::max_name_length) return false;
  for (const char c : text) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
  }
  return true;
}

bool is_node_name(std::string_view text) noexcept {
  if (text.empty() || text.size() > limits::queue_node_max_length) return false;
  if (!is_alpha(text.front()) && !is_digit(text.front())) return false;
  for (const char c : text) {
    if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool is_hostname(std::string_view text) noexcept {
  if (text.empty() || text.size() > 253) return false;
  std::string_view last_label;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t dot = text.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? text.size() : dot;
    const std::string_view label = text.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  bool all_digits = true;
  for (const char c : last_label) all_digits = all_digits && is_digit(c);
  return !all_digits;
}

bool is_ip_literal(std::string_view text) noexcept {
  in6_addr buf{};
  return pton<AF_INET>(text, &buf) || pton<AF_INET6>(text, &buf);
}

std::expected<BindAddress, std::string> parse_bind_address(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return std::unexpected("missing ']' in " + quoted(text));
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return std::unexpected("missing port in " + quoted(text) + " (write \"[2001:db8::1]:25\")");
    }
    port_text = rest.substr(1);
    bracketed = true;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::unexpected("missing port in " + quoted(text) + " (write \"192.0.2.1:25\")");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::unexpected("IPv6 addresses must be written in brackets, e.g. " +
                             std::string("\"[2001:db8::1]:25\"; got ") + quoted(text));
    }
  }

  std::array<char, INET6_ADDRSTRLEN> canonical{};
  if (bracketed) {
    in6_addr a6{};
    if (!pton<AF_INET6>(host, &a6)) {
      return std::unexpected("invalid IPv6 address " + quoted(host) + " in " + quoted(text));
    }
    inet_ntop(AF_INET6, &a6, canonical.data(), canonical.size());
  } else {
    in_addr a4{};
    if (!pton<AF_INET>(host, &a4)) {
      if (is_hostname(host)) {
        return std::unexpected("listeners bind to IP addresses, not host names: " + quoted(host));
      }
      return std::unexpected("invalid IPv4 address " + quoted(host) + " in " + quoted(text));
    }
    inet_ntop(AF_INET, &a4, canonical.data(), canonical.size());
  }

  const Digits port = read_digits(port_text);
  if (port_text.empty() || port.consumed != port_text.size()) {
    return std::unexpected("invalid port " + quoted(port_text) + " in " + quoted(text));
  }
  if (port.overflow || port.value < 1 || port.value > 65'535) {
    return std::unexpected("port " + std::string(port_text) + " is out of range 1..65535");
  }
  return BindAddress{canonical.data(), static_cast<std::uint16_t>(port.value)};
}

std::expected<void, std::string> check_cidr(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view address = text.substr(0, slash);
  const bool v6 = address.find(':') != std::string_view::npos;
  const int bits = v6 ? 128 : 32;

  std::array<unsigned char, 16> bytes{};
  if (v6 ? !pton<AF_INET6>(address, bytes.data()) : !pton<AF_INET>(address, bytes.data())) {
    return std::unexpected(std::string("invalid ") + (v6 ? "IPv6" : "IPv4") + " network " +
                           quoted(text));
  }
  if (slash == std::string_view::npos) return {};  // a single host

  const std::string_view prefix_text = text.substr(slash + 1);
  const Digits prefix = read_digits(prefix_text);
  if (prefix_text.empty() || prefix.consumed != prefix_text.size() || prefix_text.size() > 3) {
    return std::unexpected("invalid prefix length in " + quoted(text));
  }
  if (prefix.value > static_cast<std::uint64_t>(bits)) {
    return std::unexpected("prefix length /" + std::string(prefix_text) + " is out of range 0.." +
                           std::to_string(bits) + " in " + quoted(text));
  }

  bool host_bits = false;
  const auto length = static_cast<int>(prefix.value);
  for (int bit = length; bit < bits; ++bit) {
    const auto mask = static_cast<unsigned char>(0x80u >> (bit % 8));
    if (bytes[static_cast<std::size_t>(bit / 8)] & mask) {
      host_bits = true;
      bytes[static_cast<std::size_t>(bit / 8)] &= static_cast<unsigned char>(~mask);
    }
  }
  if (host_bits) {
    std::array<char, INET6_ADDRSTRLEN> network{};
    inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), network.data(), network.size());
    return std::unexpected("address has bits set beyond the /" + std::to_string(length) +
                           " prefix; did you mean \"" + network.data() + "/" +
                           std::to_string(length) + "\"?");
  }
  return {};
}

std::string format_limit_value(LimitKind kind, std::int64_t value) {
  struct Unit {
    std::int64_t factor;
    const char* suffix;
  };
  constexpr std::array<Unit, 5> duration_units{
      {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}}};
  constexpr std::array<Unit, 6> size_units{{{1LL << 30, "GiB"},
                                            {1LL << 20, "MiB"},
                                            {1LL << 10, "KiB"},
                                            {1'000'000'000, "GB"},
                                            {1'000'000, "MB"},
                                            {1000, "KB"}}};
  switch (kind) {
    case LimitKind::integer:
      return std::to_string(value);
    case LimitKind::duration:
      if (value == 0) return "0s";
      for (const Unit& u : duration_units) {
        if (value % u.factor == 0) return std::to_string(value / u.factor) + u.suffix;
      }
      break;
    case LimitKind::size: {
      // The shortest exact spelling: 2000000000 is "2GB", 36700160 is "35MiB".
      const Unit* best = nullptr;
      for (const Unit& u : size_units) {
        if (value != 0 && value % u.factor == 0 &&
            (best == nullptr || value / u.factor < value / best->factor)) {
          best = &u;
        }
      }
      if (best != nullptr) return std::to_string(value / best->factor) + best->suffix;
      break;
    }
  }
  return std::to_string(value);
}

// --- durations and sizes ------------------------------------------------------------------

std::expected<Millis, std::string> parse_duration(std::string_view text) {
  if (text.empty()) return std::unexpected("empty duration");
  if (text.front() == '-') return std::unexpected("negative duration " + quoted(text));
  const Digits number = read_digits(text);
  const std::string_view unit = text.substr(number.consumed);

  std::int64_t factor = 0;
  if (unit.empty() || unit == "s") {
    factor = 1000;  // a bare number is seconds, like most MTA configuration languages
  } else if (unit == "ms") {
    factor = 1;
  } else if (unit == "m") {
    factor = 60'000;
  } else if (unit == "h") {
    factor = 3'600'000;
  } else if (unit == "d") {
    factor = 86'400'000;
  }
  if (number.consumed == 0 || factor == 0) {
    return std::unexpected("invalid duration " + quoted(text) +
                           " (write a number followed by ms, s, m, h or d, e.g. \"30s\")");
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<Millis::rep>::max());
  if (number.overflow || number.value > max / static_cast<std::uint64_t>(factor)) {
    return std::unexpected("duration " + quoted(text) + " is too large");
  }
  return Millis{static_cast<Millis::rep>(number.value) * factor};
}

std::expected<std::uint64_t, std::string> parse_size(std::string_view text) {
  if (text.empty()) return std::unexpected("empty size");
  if (text.front() == '-') return std::unexpected("negative size " + quoted(text));
  const Digits number = read_digits(text);
  const std::string_view unit = text.substr(number.consumed);

  struct Suffix {
    std::string_view text;
    std::uint64_t factor;
  };
  constexpr std::array<Suffix, 10> suffixes{{{"", 1},
                                             {"B", 1},
                                             {"KB", 1000},
                                             {"MB", 1000 * 1000},
                                             {"GB", 1000 * 1000 * 1000},
                                             {"TB", 1000ULL * 1000 * 1000 * 1000},
                                             {"KiB", 1ULL << 10},
                                             {"MiB", 1ULL << 20},
                                             {"GiB", 1ULL << 30},
                                             {"TiB", 1ULL << 40}}};
  std::uint64_t factor = 0;
  for (const Suffix& s : suffixes) {
    if (ascii_iequals(unit, s.text)) factor = s.factor;
  }
  if (number.consumed == 0 || factor == 0) {
    return std::unexpected("invalid size " + quoted(text) +
                           " (write bytes, or a number followed by KiB, MiB, GiB, KB, MB or GB)");
  }
  if (number.overflow || number.value > std::numeric_limits<std::uint64_t>::max() / factor) {
    return std::unexpected("size " + quoted(text) + " is too large");
  }
  return number.value * factor;
}

}  // namespace conf
