// conf/limits.hpp — the bounds and the syntax every single configuration value must meet.
//
// Owns: one table of numeric ranges (integers, durations, sizes), in the manner of Postfix's
// parameter tables, so the loader, the tests and docs/configuration.md agree on one source;
// and the limits on the raw input (file size, line length, nesting) that keep the TOML
// parser away from text it mishandles.
// Defaults are NOT here: they live in the struct initialisers of conf/config.hpp.
// The syntax checks for one value at a time (names, host names, IP literals, listener
// addresses, CIDR networks, durations, sizes) are in conf/value_syntax.hpp, included here so
// code that reached them through this header keeps working.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "conf/value_syntax.hpp"

namespace conf {

/// Inclusive range of one key. Durations are in milliseconds, sizes in bytes.
struct Limit {
  std::string_view key;  // generic dotted key as documented, "listener.max_recipients"
  LimitKind kind;
  std::int64_t min;
  std::int64_t max;
  /// Non-empty: 0 is accepted too, outside [min, max], and means this ("never rotate").
  /// Keys whose default is 0 need it, or writing the default down would be an error.
  std::string_view zero_means = {};
};

namespace limits {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr std::int64_t ms(auto duration) {
  return std::chrono::duration_cast<milliseconds>(duration).count();
}

// [queue]. The lifetime is rounded up to whole hours after the range check.
inline constexpr Limit queue_lifetime{"queue.lifetime", LimitKind::duration, ms(hours{1}),
                                      ms(hours{24 * 30})};
inline constexpr Limit queue_retry_delay{"queue.retry_schedule[]", LimitKind::duration,
                                         ms(seconds{1}), ms(hours{24})};
inline constexpr std::size_t queue_retry_schedule_max_entries = 100;
inline constexpr Limit queue_group_commit_max_batch{"queue.group_commit_max_batch",
                                                    LimitKind::integer, 1, 100'000};
inline constexpr Limit queue_inline_body_max{"queue.inline_body_max", LimitKind::integer, 0, 16 * 1024 * 1024};
inline constexpr Limit queue_body_sync_threads{"queue.body_sync_threads", LimitKind::integer, 1, 64};
// [queue.postgresql]. libpq waits forever without a connect timeout; a lease shorter than
// a slow delivery (data_timeout) would only be renewed more often, not broken.
inline constexpr Limit queue_pg_connect_timeout{"queue.postgresql.connect_timeout", LimitKind::duration,
                                                ms(seconds{1}), ms(minutes{5})};
inline constexpr Limit queue_pg_lease_time{"queue.postgresql.lease_time", LimitKind::duration,
                                           ms(seconds{30}), ms(hours{1})};
/// A node name ([queue] node): a host name's characters, at most this long.
inline constexpr std::size_t queue_node_max_length = 63;
/// The conninfo file ([queue.postgresql] conninfo_file): a few lines in practice.
inline constexpr std::size_t queue_pg_conninfo_max_bytes = 64 * 1024;

// [delivery]. Client-side timeouts: RFC 5321 §4.5.3.2 recommends 5 minutes per command and
// 10 after the final dot; we allow shorter (LAN smart hosts) and longer (slow filters).
inline constexpr Limit delivery_connect_timeout{"delivery.connect_timeout", LimitKind::duration,
                                                ms(seconds{1}), ms(minutes{10})};
inline constexpr Limit delivery_command_timeout{"delivery.command_timeout", LimitKind::duration,
                                                ms(seconds{1}), ms(hours{1})};
inline constexpr Limit delivery_data_timeout{"delivery.data_timeout", LimitKind::duration,
                                             ms(seconds{1}), ms(hours{1})};
inline constexpr Limit delivery_hop_backoff{"delivery.hop_backoff", LimitKind::duration,
                                            ms(seconds{1}), ms(hours{24})};
// 0 is allowed: never keep an idle connection to a hop.
inline constexpr Limit delivery_idle_timeout{"delivery.idle_timeout", LimitKind::duration, 0,
                                             ms(hours{1})};
inline constexpr Limit delivery_max_in_flight{"delivery.max_in_flight", LimitKind::integer, 1,
                                              1'000'000};

// [[listener]]. The size cap stays under SQLite's default maximum blob length (10^9 bytes).
inline constexpr Limit listener_max_message_size{"listener.max_message_size", LimitKind::size, 1024,
                                                 1'000'000'000};
inline constexpr Limit listener_max_recipients{"listener.max_recipients", LimitKind::integer, 1,
                                               100'000};
inline constexpr Limit listener_max_connections{"listener.max_connections", LimitKind::integer, 1,
                                                1'000'000};
inline constexpr Limit listener_max_errors{"listener.max_errors", LimitKind::integer, 1, 1000};
inline constexpr Limit milter_timeout{"milter timeouts", LimitKind::duration, ms(milliseconds{100}), ms(hours{1})};
inline constexpr Limit listener_command_timeout{"listener.command_timeout", LimitKind::duration,
                                                ms(seconds{1}), ms(hours{1})};
inline constexpr Limit listener_data_timeout{"listener.data_timeout", LimitKind::duration,
                                             ms(seconds{1}), ms(hours{1})};
inline constexpr Limit listener_session_timeout{"listener.session_timeout", LimitKind::duration,
                                                ms(seconds{1}), ms(hours{24})};
// Early talkers and the header cap. greeting_delay 0 turns the early-talker check off; the header cap is at
// least 1 KiB (a Received: line alone is ~200 octets) and at most the message cap's range.
inline constexpr Limit listener_greeting_delay{"listener.greeting_delay", LimitKind::duration, 0,
                                               ms(seconds{30})};
inline constexpr Limit listener_max_header_size{"listener.max_header_size", LimitKind::size, 1024,
                                                1'000'000'000};

// [hop.NAME]
inline constexpr Limit hop_port{"hop.port", LimitKind::integer, 1, 65'535};
inline constexpr Limit hop_max_connections{"hop.max_connections", LimitKind::integer, 1, 10'000};
inline constexpr Limit hop_initial_connections{"hop.initial_connections", LimitKind::integer, 1, 10'000};
inline constexpr Limit hop_suspend_duration{"hop.suspend_on[].duration", LimitKind::duration, ms(seconds{1}),
                                            ms(hours{24})};
inline constexpr Limit hop_max_messages_per_connection{"hop.max_messages_per_connection",
                                                       LimitKind::integer, 1, 1'000'000};

// [[route]] hops = [{ hop, cost, weight }]
// [path.NAME] health checks (docs/health.md). Sub-second intervals exist for tests.
inline constexpr Limit path_interval{"path.interval", LimitKind::duration, 100, ms(hours{24})};
inline constexpr Limit path_fast_interval{"path.fast_interval", LimitKind::duration, 100, ms(hours{24}),
                                          "always use interval"};
inline constexpr Limit path_jitter{"path.jitter", LimitKind::duration, 0, ms(hours{1})};
inline constexpr Limit path_runs{"path.down_after.runs", LimitKind::integer, 1, 100};
inline constexpr Limit path_fail_threshold{"path.fail_threshold", LimitKind::integer, 1, 100};
inline constexpr Limit check_timeout{"path.check[].timeout", LimitKind::duration, 10, ms(minutes{5})};
inline constexpr Limit check_icmp_count{"path.check[].count", LimitKind::integer, 1, 100};
inline constexpr Limit check_status{"path.check[].expect_status[]", LimitKind::integer, 100, 599};
inline constexpr std::size_t path_max_checks = 64;
inline constexpr Limit alerts_hook_timeout{"alerts.hook_timeout", LimitKind::duration, ms(seconds{1}),
                                           ms(minutes{10})};

inline constexpr Limit route_hop_cost{"route.hops[].cost", LimitKind::integer, 0, 65'535};
inline constexpr Limit route_hop_weight{"route.hops[].weight", LimitKind::integer, 1, 1000};

// Hop client timeouts, delay notices, [dns], [bounce]. Hop timeouts have the [delivery] ranges, and 0
// (their default) means "the [delivery] value".
inline constexpr Limit hop_connect_timeout{"hop.connect_timeout", LimitKind::duration,
                                           delivery_connect_timeout.min, delivery_connect_timeout.max,
                                           "the [delivery] value"};
inline constexpr Limit hop_command_timeout{"hop.command_timeout", LimitKind::duration,
                                           delivery_command_timeout.min, delivery_command_timeout.max,
                                           "the [delivery] value"};
inline constexpr Limit queue_delay_notice{"queue.delay_notice", LimitKind::duration, 0,
                                          ms(hours{24 * 30})};
inline constexpr Limit dns_timeout{"dns.timeout", LimitKind::duration, ms(seconds{1}),
                                   ms(minutes{1})};
inline constexpr Limit bounce_lifetime{"bounce.lifetime", LimitKind::duration, ms(hours{1}),
                                       ms(hours{24 * 30})};

// [log] rotation.
inline constexpr Limit log_max_size{"log.max_size", LimitKind::size, 64 * 1024, std::int64_t{1} << 40,
                                    "never rotate"};
inline constexpr Limit log_max_files{"log.max_files", LimitKind::integer, 1, 1000};

// Per-client limits and policy verification (docs/policy.md). Per-client connections: 0 is the default, no per-client cap.
inline constexpr Limit listener_max_connections_per_client{"listener.max_connections_per_client",
                                                           LimitKind::integer, 1, 1'000'000, "no per-client limit"};
// DNSBL and recipient verification ([policy.NAME]).
inline constexpr Limit dnsbl_timeout{"policy.dnsbl_timeout", LimitKind::duration, 100, ms(seconds{60})};
inline constexpr Limit dnsbl_ttl{"policy.dnsbl_min_ttl/max_ttl", LimitKind::duration, 0, ms(hours{24})};
inline constexpr Limit callout_timeout{"policy.callout_timeout", LimitKind::duration, ms(seconds{1}),
                                       ms(minutes{10})};
inline constexpr Limit callout_ttl{"policy.callout_*_ttl", LimitKind::duration, 0, ms(hours{24 * 7})};
inline constexpr Limit callout_cache_size{"policy.callout_cache_size", LimitKind::integer, 1, 10'000'000};
// [dkim.NAME]: a signature that expires within the hour may die in a queue on its way.
inline constexpr Limit dkim_expiration{"dkim.expiration", LimitKind::duration, ms(hours{1}), ms(hours{24 * 366}),
                                       "no x= tag: the signature does not expire"};
// [dkim] threads: one RSA-2048 signature is about a millisecond of one core.
inline constexpr Limit dkim_threads{"dkim.threads", LimitKind::integer, 1, 64};

/// Every entry above, for tests and documentation checks.
inline constexpr std::array all{
    &queue_lifetime,
    &queue_retry_delay,
    &queue_group_commit_max_batch,
    &queue_inline_body_max,
    &queue_body_sync_threads,
    &queue_pg_connect_timeout,
    &queue_pg_lease_time,
    &delivery_connect_timeout,
    &delivery_command_timeout,
    &delivery_data_timeout,
    &delivery_hop_backoff,
    &delivery_idle_timeout,
    &delivery_max_in_flight,
    &listener_max_message_size,
    &listener_max_recipients,
    &listener_max_connections,
    &listener_max_errors,
    &listener_command_timeout,
    &listener_data_timeout,
    &listener_session_timeout,
    &hop_port,
    &hop_max_connections,
    &hop_max_messages_per_connection,
    &hop_initial_connections,
    &hop_suspend_duration,
    &route_hop_cost,
    &route_hop_weight,
    &listener_greeting_delay,
    &listener_max_header_size,
    &path_interval,
    &path_fast_interval,
    &path_jitter,
    &path_runs,
    &path_fail_threshold,
    &check_timeout,
    &check_icmp_count,
    &check_status,
    &alerts_hook_timeout,
    &hop_connect_timeout,
    &hop_command_timeout,
    &queue_delay_notice,
    &dns_timeout,
    &bounce_lifetime,
    &log_max_size,
    &log_max_files,
    &listener_max_connections_per_client,
    &dnsbl_timeout,
    &dnsbl_ttl,
    &callout_timeout,
    &callout_ttl,
    &callout_cache_size,
    &dkim_expiration,
    &dkim_threads,
};

// Input guards. toml11 3.7 parses arrays, inline tables and dotted keys recursively (deep
// nesting overflows the stack), is quadratic in the length of one line, and reads out of
// bounds when reporting malformed UTF-8 inside a string, so the raw text is checked before
// it is handed over. Real configuration files are a few kilobytes.
inline constexpr std::size_t max_file_bytes = 1024 * 1024;
inline constexpr std::size_t max_line_bytes = 16 * 1024;
inline constexpr int max_nesting = 64;  // brackets + braces + dots of keys on one line

inline constexpr std::size_t max_name_length = 64;


// Policy list sizes: far beyond any hand-written list, small enough to scan per command.
inline constexpr std::size_t policy_max_list_entries = 10'000;

}  // namespace limits

}  // namespace conf
