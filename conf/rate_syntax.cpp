// conf/rate_syntax.cpp — "N/period" rates for the listener limits.
//
// Why "N/period" rather than a rate per second: administrators think in "60 a minute" or
// "1000 an hour" (Postfix anvil limits, Exchange throttling policies), and N doubles as
// the burst size of the token bucket (policy/client_limits). Periods below 1 s would only
// measure scheduling noise; above a day nobody remembers why the limit exists.
// Pure: no I/O, no exceptions.
#include "conf/rate_syntax.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

namespace conf {
namespace {

constexpr std::uint32_t max_count = 1'000'000;
constexpr std::int64_t min_period_ms = 1000;
constexpr std::int64_t max_period_ms = 24LL * 3600 * 1000;

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

std::int64_t unit_ms(std::string_view unit) noexcept {
  static constexpr std::array<std::pair<std::string_view, std::int64_t>, 17> units{{
      {"s", 1000}, {"sec", 1000}, {"second", 1000}, {"seconds", 1000},
      {"m", 60'000}, {"min", 60'000}, {"minute", 60'000}, {"minutes", 60'000},
      {"h", 3'600'000}, {"hour", 3'600'000}, {"hours", 3'600'000},
      {"d", 86'400'000}, {"day", 86'400'000}, {"days", 86'400'000},
      {"ms", 1}, {"secs", 1000}, {"mins", 60'000},
  }};
  for (const auto& [name, ms] : units) {
    if (name == unit) return ms;
  }
  return 0;
}

}  // namespace

std::expected<ListenerConfig::Rate, std::string> parse_rate(std::string_view text) {
  const std::string usage = "expected \"N/period\" such as \"60/min\", \"3/2s\" or \"1000/hour\", or \"off\"";
  text = trim(text);
  if (text == "off") return ListenerConfig::Rate{};
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::unexpected(usage);
  const std::string_view count_text = trim(text.substr(0, slash));
  const std::string_view period_text = trim(text.substr(slash + 1));
  std::uint64_t count = 0;
  const auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
  if (ec != std::errc{} || end != count_text.data() + count_text.size() || count_text.empty()) {
    return std::unexpected(usage);
  }
  if (count < 1 || count > max_count) {
    return std::unexpected("the count must be between 1 and " + std::to_string(max_count) + " (use \"off\" to disable)");
  }
  std::uint64_t multiplier = 1;
  std::string_view unit = period_text;
  std::size_t digits = 0;
  while (digits < period_text.size() && period_text[digits] >= '0' && period_text[digits] <= '9') ++digits;
  if (digits > 0) {
    if (digits > 6) return std::unexpected(usage);
    multiplier = 0;
    std::from_chars(period_text.data(), period_text.data() + digits, multiplier);
    unit = trim(period_text.substr(digits));
  }
  const std::int64_t ms = unit_ms(unit);
  if (ms == 0 || multiplier == 0) return std::unexpected(usage);
  const std::int64_t period = ms * static_cast<std::int64_t>(multiplier);
  if (period < min_period_ms || period > max_period_ms) {
    return std::unexpected("the period must be between 1s and 1 day");
  }
  return ListenerConfig::Rate{static_cast<std::uint32_t>(count), Millis{period}};
}

std::string format_rate(const ListenerConfig::Rate& rate) {
  if (!rate.enabled()) return "off";
  const auto ms = rate.period.count();
  if (ms % 1000 == 0) return std::to_string(rate.count) + "/" + std::to_string(ms / 1000) + "s";
  return std::to_string(rate.count) + "/" + std::to_string(ms) + "ms";
}

}  // namespace conf
