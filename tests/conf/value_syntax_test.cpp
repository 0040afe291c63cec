// tests/conf/value_syntax_test.cpp — single values: durations, sizes, names, host names,
// listener addresses, CIDR networks, limit formatting, the raw-input guard, and the
// limits table against the defaults in config.hpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>

#include "conf/limits.hpp"
#include "conf/value_syntax.hpp"

namespace conf {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, Table) {
  struct Case {
    std::string text;
    std::optional<Millis> want;  // nullopt: must be rejected
  };
  constexpr auto max = std::numeric_limits<Millis::rep>::max();
  const Case cases[] = {
      {"250ms", 250ms},
      {"30s", 30s},
      {"5m", 5min},
      {"48h", 48h},
      {"2d", 48h},
      {"0", 0ms},
      {"0s", 0ms},
      {"90", 90s},  // bare integer: seconds
      {"007s", 7s},
      {std::to_string(max) + "ms", Millis{max}},
      {std::to_string(max / 1000) + "s", Millis{max / 1000 * 1000}},
      {"", std::nullopt},
      {"-5s", std::nullopt},
      {"-0", std::nullopt},
      {"+5s", std::nullopt},
      {"5", 5s},
      {"5 s", std::nullopt},
      {" 5s", std::nullopt},
      {"5S", std::nullopt},
      {"5sec", std::nullopt},
      {"1h30m", std::nullopt},
      {"1.5h", std::nullopt},
      {"s", std::nullopt},
      {"ms", std::nullopt},
      {"5w", std::nullopt},
      {"abc", std::nullopt},
      {std::to_string(max) + "s", std::nullopt},  // overflows milliseconds
      {"106751991167301d", std::nullopt},
      {"99999999999999999999999999", std::nullopt},  // overflows the digits themselves
  };
  for (const Case& c : cases) {
    const auto got = parse_duration(c.text);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << '"' << c.text << "\": " << got.error();
      EXPECT_EQ(*got, *c.want) << '"' << c.text << '"';
    } else {
      EXPECT_FALSE(got.has_value()) << '"' << c.text << "\" parsed as " << got->count() << "ms";
      if (!got) {
        EXPECT_FALSE(got.error().empty());
      }
    }
  }
}

TEST(ParseDuration, MessagesSayWhatIsWrong) {
  EXPECT_EQ(parse_duration("").error(), "empty duration");
  EXPECT_NE(parse_duration("-1s").error().find("negative"), std::string::npos);
  EXPECT_NE(parse_duration("5x").error().find("ms, s, m, h or d"), std::string::npos);
  EXPECT_NE(parse_duration("999999999999999999d").error().find("too large"), std::string::npos);
}

TEST(ParseSize, Table) {
  struct Case {
    std::string text;
    std::optional<std::uint64_t> want;
  };
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  const Case cases[] = {
      {"0", 0},
      {"1048576", 1'048'576},
      {"100B", 100},
      {"10KiB", 10 * 1024},
      {"35MiB", 35ULL * 1024 * 1024},
      {"1GiB", 1ULL << 30},
      {"2TiB", 2ULL << 40},
      {"10KB", 10'000},
      {"10MB", 10'000'000},
      {"1GB", 1'000'000'000},
      {"3TB", 3'000'000'000'000},
      {"35mib", 35ULL * 1024 * 1024},  // suffixes are case-insensitive
      {"10kb", 10'000},
      {"1gIb", 1ULL << 30},
      {std::to_string(max), max},
      {std::to_string(max / 1024) + "KiB", max / 1024 * 1024},
      {"", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {"10K", std::nullopt},
      {"10 MiB", std::nullopt},
      {"MiB", std::nullopt},
      {"1.5MiB", std::nullopt},
      {"10XB", std::nullopt},
      {"18446744073709551616", std::nullopt},  // max + 1
      {std::to_string(max / 1024 + 1) + "KiB", std::nullopt},
      {"17179869184GiB", std::nullopt},
  };
  for (const Case& c : cases) {
    const auto got = parse_size(c.text);
    if (c.want) {
      ASSERT_TRUE(got.has_value()) << '"' << c.text << "\": " << got.error();
      EXPECT_EQ(*got, *c.want) << '"' << c.text << '"';
    } else {
      EXPECT_FALSE(got.has_value()) << '"' << c.text << "\" parsed as " << *got;
      if (!got) {
        EXPECT_FALSE(got.error().empty());
      }
    }
  }
}

TEST(ParseBindAddress, Table) {
  struct Case {
    std::string text;
    std::string want_address;  // empty: must be rejected
    std::uint16_t want_port = 0;
    std::string error_part = {};
  };
  const Case cases[] = {
      {"127.0.0.1:25", "127.0.0.1", 25},
      {"0.0.0.0:2525", "0.0.0.0", 2525},
      {"192.0.2.1:65535", "192.0.2.1", 65535},
      {"[::1]:25", "::1", 25},
      {"[::]:587", "::", 587},
      {"[2001:DB8:0:0::1]:25", "2001:db8::1", 25},
      {"[::ffff:192.0.2.1]:25", "::ffff:192.0.2.1", 25},
      {"127.0.0.1", "", 0, "missing port"},
      {"127.0.0.1:", "", 0, "invalid port"},
      {"127.0.0.1:0", "", 0, "out of range"},
      {"127.0.0.1:65536", "", 0, "out of range"},
      {"127.0.0.1:99999999999999999999999", "", 0, "out of range"},
      {"127.0.0.1:-1", "", 0, "invalid port"},
      {"127.0.0.1:+25", "", 0, "invalid port"},
      {"127.0.0.1:25 ", "", 0, "invalid port"},
      {"localhost:25", "", 0, "not host names"},
      {"mail.example.com:25", "", 0, "not host names"},
      {"256.0.0.1:25", "", 0, "invalid IPv4 address"},
      {"1.2.3:25", "", 0, "invalid IPv4 address"},
      {"::1:25", "", 0, "brackets"},
      {"[::1]", "", 0, "missing port"},
      {"[::1]25", "", 0, "missing port"},
      {"[::1:25", "", 0, "missing ']'"},
      {"[127.0.0.1]:25", "", 0, "invalid IPv6 address"},
      {"[fe80::1%eth0]:25", "", 0, "invalid IPv6 address"},
      {"", "", 0, "missing port"},
      {":25", "", 0, "invalid IPv4 address"},
  };
  for (const Case& c : cases) {
    const auto got = parse_bind_address(c.text);
    if (!c.want_address.empty()) {
      ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error();
      EXPECT_EQ(got->address, c.want_address) << c.text;
      EXPECT_EQ(got->port, c.want_port) << c.text;
    } else {
      ASSERT_FALSE(got.has_value()) << c.text << " parsed as " << got->address;
      EXPECT_NE(got.error().find(c.error_part), std::string::npos) << c.text << ": " << got.error();
    }
  }
}

TEST(CheckCidr, Table) {
  struct Case {
    std::string text;
    std::string error_part;  // empty: valid
  };
  const Case cases[] = {
      {"192.0.2.0/24", ""},
      {"10.0.0.0/8", ""},
      {"0.0.0.0/0", ""},
      {"192.0.2.7/32", ""},
      {"192.0.2.7", ""},  // a single host
      {"::1/128", ""},
      {"::1", ""},
      {"2001:db8::/32", ""},
      {"::/0", ""},
      {"fe80::/10", ""},
      {"10.0.0.0/33", "out of range 0..32"},
      {"::/129", "out of range 0..128"},
      {"10.0.0.1/8", "did you mean \"10.0.0.0/8\"?"},
      {"192.168.1.0/16", "did you mean \"192.168.0.0/16\"?"},
      {"2001:db8::1/32", "did you mean \"2001:db8::/32\"?"},
      {"10.0.0.0/", "invalid prefix length"},
      {"10.0.0.0/x", "invalid prefix length"},
      {"10.0.0.0/-1", "invalid prefix length"},
      {"10.0.0.0/0008", "invalid prefix length"},
      {"10.0.0.0/8/8", "invalid prefix length"},
      {"10.0.0/8", "invalid IPv4 network"},
      {"010.0.0.0/8", "invalid IPv4 network"},
      {"example.com/24", "invalid IPv4 network"},
      {"2001:db8:::/32", "invalid IPv6 network"},
      {"", "invalid IPv4 network"},
      {"/8", "invalid IPv4 network"},
  };
  for (const Case& c : cases) {
    const auto got = check_cidr(c.text);
    if (c.error_part.empty()) {
      EXPECT_TRUE(got.has_value()) << c.text << ": " << got.error();
    } else {
      ASSERT_FALSE(got.has_value()) << c.text;
      EXPECT_NE(got.error().find(c.error_part), std::string::npos) << c.text << ": " << got.error();
    }
  }
}

TEST(Names, HostNamesNamesAndIpLiterals) {
  struct Case {
    std::string text;
    bool hostname;
    bool name;
    bool ip;
  };
  const std::string label63(63, 'a');
  const Case cases[] = {
      {"relay.example.com", true, false, false},
      {"localhost", true, true, false},
      {"mx-1.example.co.uk", true, false, false},
      {"a", true, true, false},
      {"123.example", true, false, false},
      {"example.123", false, false, false},
      {"192.0.2.1", false, false, true},
      {"::1", false, false, true},
      {"2001:db8::25", false, false, true},
      {"relay.example.com.", false, false, false},  // no trailing dot
      {".example.com", false, false, false},
      {"a..b", false, false, false},
      {"-a.example", false, false, false},
      {"a-.example", false, false, false},
      {"under_score.example", false, false, false},
      {"smarthost-a", true, true, false},
      {"hub_1", false, true, false},
      {"in bound", false, false, false},
      {"", false, false, false},
      {label63 + ".example", true, false, false},
      {label63 + "a.example", false, false, false},
      {std::string(65, 'n'), false, false, false},
      {std::string(64, 'n'), false, true, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(is_hostname(c.text), c.hostname) << c.text;
    EXPECT_EQ(is_name(c.text), c.name) << c.text;
    EXPECT_EQ(is_ip_literal(c.text), c.ip) << c.text;
  }
  // 253 characters is the most a host name may have.
  std::string long_name;
  while (long_name.size() < 250) long_name += "abcdefghi.";
  long_name += "com";  // 253
  EXPECT_TRUE(is_hostname(long_name));
  EXPECT_FALSE(is_hostname("x" + long_name));
}

TEST(FormatLimitValue, Table) {
  struct Case {
    LimitKind kind;
    std::int64_t value;
    std::string want;
  };
  const Case cases[] = {
      {LimitKind::integer, 100'000, "100000"},
      {LimitKind::integer, -1, "-1"},
      {LimitKind::duration, 0, "0s"},
      {LimitKind::duration, 250, "250ms"},
      {LimitKind::duration, 1500, "1500ms"},
      {LimitKind::duration, 30'000, "30s"},
      {LimitKind::duration, 600'000, "10m"},
      {LimitKind::duration, 3'600'000, "1h"},
      {LimitKind::duration, 86'400'000, "1d"},
      {LimitKind::duration, 90'000'000, "25h"},
      {LimitKind::size, 0, "0"},
      {LimitKind::size, 1000, "1KB"},
      {LimitKind::size, 1024, "1KiB"},
      {LimitKind::size, 36'700'160, "35MiB"},
      {LimitKind::size, 1'000'000'000, "1GB"},
      {LimitKind::size, 2'000'000'000, "2GB"},
      {LimitKind::size, 1'073'741'824, "1GiB"},
      {LimitKind::size, 1'000'000'001, "1000000001"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(format_limit_value(c.kind, c.value), c.want) << c.value;
  }
}

TEST(InputShape, Table) {
  struct Case {
    std::string name;
    std::string text;
    int want_line;  // -1: accepted
  };
  const std::string deep(limits::max_nesting, '[');
  const Case cases[] = {
      {"empty", "", -1},
      {"normal", "[relay]\nhostname = \"x\"\n[[listener]]\nbind = [\"[::1]:25\"]\n", -1},
      {"exactly_max_depth", "a = " + deep + std::string(limits::max_nesting, ']'), -1},
      {"one_too_deep", "\n\na = [" + deep, 3},
      {"dots_and_brackets_add_up", "a" + std::string(limits::max_nesting, '.') + "b = [1]", 1},
      {"dots_reset_each_line", "a.b.c = 1\n" + std::string(10, '\n') + "d.e = 2\n", -1},
      {"brackets_in_basic_string", "a = \"" + deep + deep + "\"", -1},
      {"escaped_quote_keeps_string_open", "a = \"\\\"" + deep + deep + "\"", -1},
      {"brackets_in_literal_string", "a = '" + deep + deep + "'", -1},
      {"brackets_in_comment", "# " + deep + deep + "\n", -1},
      {"comment_ends_at_newline", "# x\na = " + deep + "[", 2},
      {"multiline_basic_spans_lines", "a = \"\"\"\n" + deep + "\n" + deep + "\"\"\"\nb = 1\n", -1},
      // """x"""" is the string x" : the fourth quote belongs to the string, not a new one.
      {"multiline_basic_extra_quote_then_code", "a = \"\"\"x\"\"\"\" " + deep + "[", 1},
      {"multiline_literal_extra_quotes_then_code", "a = '''x''''' " + deep + "[", 1},
      {"multiline_literal_spans_lines", "a = '''\n" + deep + deep + "\n'''", -1},
      {"single_line_string_ends_at_newline", "a = \"abc\nb = " + deep + "[", 2},
      {"closers_without_openers_do_not_hide_depth", "]]]]]]\na = " + deep + "[", 2},
      {"long_line", std::string(limits::max_line_bytes + 1, 'x'), 1},
      {"longest_line", std::string(limits::max_line_bytes, 'x') + "\n", -1},
      {"long_line_in_the_middle", "a = 1\n" + std::string(limits::max_line_bytes + 1, '#') + "\n",
       2},
      {"too_big", std::string(limits::max_file_bytes + 1, '\n'), 0},
      // UTF-8 (Unicode Table 3-7). toml11 reads out of bounds on a bad sequence in a string.
      {"utf8_two_three_four_bytes",
       "a = \"\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\xA7 \xF4\x8F\xBF\xBF\"", -1},
      {"utf8_in_comment_ok", "# caf\xC3\xA9\n", -1},
      {"utf8_lone_continuation", "a = 1\nb = '''\x80'''", 2},
      {"utf8_truncated_at_end", "a = \"\xE2\x82", 1},
      {"utf8_truncated_before_ascii", "a = \"\xE2\x82\"\n", 1},
      {"utf8_overlong_two_bytes", "a = \"\xC0\xAF\"", 1},
      {"utf8_overlong_three_bytes", "a = \"\xE0\x80\xAF\"", 1},
      {"utf8_overlong_four_bytes", "a = \"\xF0\x80\x80\xAF\"", 1},
      {"utf8_surrogate", "\n\n# \xED\xA0\x80", 3},
      {"utf8_above_max", "a = \"\xF4\x90\x80\x80\"", 1},
      {"utf8_invalid_lead", "a = \"\xFF\"", 1},
  };
  for (const Case& c : cases) {
    const auto got = check_input_shape(c.text);
    if (c.want_line < 0) {
      EXPECT_TRUE(got.has_value())
          << c.name << ": line " << got.error().line << ": " << got.error().message;
    } else {
      ASSERT_FALSE(got.has_value()) << c.name;
      EXPECT_EQ(got.error().line, c.want_line) << c.name << ": " << got.error().message;
    }
  }
}

TEST(Limits, EveryDefaultInConfigHppIsWithinItsLimit) {
  const Config defaults;
  const ListenerConfig listener;
  const HopConfig hop;
  const RouteHop route_hop;
  const HealthRules rules;
  const PolicyConfig policy;
  const CheckConfig check;
  const QueueConfig& queue = defaults.queue;
  const DeliveryConfig& delivery = defaults.delivery;
  const auto ms = [](auto d) { return std::chrono::duration_cast<Millis>(d).count(); };
  struct Check {
    const Limit& limit;
    std::int64_t value;
  };
  const Check checks[] = {
      {limits::queue_lifetime, ms(queue.lifetime)},
      {limits::queue_group_commit_max_batch, queue.group_commit_max_batch},
      {limits::queue_inline_body_max, queue.inline_body_max},
      {limits::queue_body_sync_threads, queue.body_sync_threads},
      {limits::queue_pg_connect_timeout, ms(queue.pg_connect_timeout)},
      {limits::queue_pg_lease_time, ms(queue.pg_lease_time)},
      {limits::delivery_connect_timeout, ms(delivery.connect_timeout)},
      {limits::delivery_command_timeout, ms(delivery.command_timeout)},
      {limits::delivery_data_timeout, ms(delivery.data_timeout)},
      {limits::delivery_hop_backoff, ms(delivery.hop_backoff)},
      {limits::delivery_idle_timeout, ms(delivery.idle_timeout)},
      {limits::delivery_max_in_flight, delivery.max_in_flight},
      {limits::listener_max_message_size, static_cast<std::int64_t>(listener.max_message_size)},
      {limits::listener_max_recipients, listener.max_recipients},
      {limits::listener_max_connections, listener.max_connections},
      {limits::listener_max_errors, listener.max_errors},
      {limits::listener_command_timeout, ms(listener.timeouts.command)},
      {limits::listener_data_timeout, ms(listener.timeouts.data_block)},
      {limits::listener_session_timeout, ms(listener.timeouts.session_total)},
      {limits::hop_port, hop.port},
      {limits::hop_max_connections, hop.max_connections},
      {limits::hop_max_messages_per_connection, hop.max_messages_per_connection},
      {limits::hop_initial_connections, hop.initial_connections},
      {limits::hop_suspend_duration, ms(conf::HopConfig::SuspendRule{}.duration)},
      {limits::route_hop_cost, route_hop.cost},
      {limits::route_hop_weight, route_hop.weight},
      {limits::listener_greeting_delay, ms(listener.greeting_delay)},
      {limits::listener_max_header_size, static_cast<std::int64_t>(listener.max_header_size)},
      {limits::path_interval, ms(rules.interval)},
      {limits::path_fast_interval, ms(rules.fast_interval)},
      {limits::path_jitter, ms(rules.jitter)},
      {limits::path_runs, rules.down_runs},
      {limits::path_runs, rules.up_runs},
      {limits::path_fail_threshold, rules.fail_threshold},
      {limits::check_timeout, ms(check.timeout)},
      {limits::check_icmp_count, check.count},
      {limits::check_status, check.expect_status.front()},
      {limits::alerts_hook_timeout, ms(defaults.alerts.hook_timeout)},
      {limits::hop_connect_timeout, ms(hop.connect_timeout)},
      {limits::hop_command_timeout, ms(hop.command_timeout)},
      {limits::queue_delay_notice, ms(queue.delay_notice)},
      {limits::dns_timeout, ms(defaults.dns.timeout)},
      {limits::bounce_lifetime, ms(defaults.bounce.lifetime)},
      {limits::log_max_size, static_cast<std::int64_t>(defaults.log.max_size)},
      {limits::log_max_files, defaults.log.max_files},
      {limits::listener_max_connections_per_client, listener.max_connections_per_client},
      {limits::dnsbl_timeout, ms(policy.dnsbl_timeout)},
      {limits::dnsbl_ttl, ms(policy.dnsbl_min_ttl)},
      {limits::dnsbl_ttl, ms(policy.dnsbl_max_ttl)},
      {limits::callout_timeout, ms(policy.callout_timeout)},
      {limits::callout_ttl, ms(policy.callout_positive_ttl)},
      {limits::callout_ttl, ms(policy.callout_negative_ttl)},
      {limits::callout_cache_size, policy.callout_cache_size},
      {limits::dkim_threads, defaults.dkim_signing.threads},
      {limits::dkim_expiration, ms(conf::DkimConfig{}.expiration)},
  };
  // queue_retry_delay is checked below, entry by entry.
  std::set<const Limit*> checked{&limits::queue_retry_delay};
  for (const Check& c : checks) checked.insert(&c.limit);
  for (const Limit* limit : limits::all) EXPECT_TRUE(checked.contains(limit)) << limit->key << " has no default check";
  for (const Check& c : checks) {
    if (c.value == 0 && !c.limit.zero_means.empty()) continue;  // 0 is the documented "off"
    EXPECT_GE(c.value, c.limit.min) << c.limit.key;
    EXPECT_LE(c.value, c.limit.max) << c.limit.key;
  }
  for (const Seconds delay : queue.retry_schedule) {
    EXPECT_GE(ms(delay), limits::queue_retry_delay.min);
    EXPECT_LE(ms(delay), limits::queue_retry_delay.max);
  }
  EXPECT_LE(queue.retry_schedule.size(), limits::queue_retry_schedule_max_entries);
  for (const Limit* limit : limits::all) EXPECT_LE(limit->min, limit->max) << limit->key;
}

}  // namespace
}  // namespace conf
