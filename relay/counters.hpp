// relay/counters.hpp — the daemon's counters as plain values.
//
// Owns: per-listener counters (connections, sessions, messages, rejections by reason),
// per-direction delivery counters with a latency histogram, and per-hop attempt counters
// with failures by class and transactions by what protected them (TLS). Listeners and
// the delivery engine bump them on the io_context thread; the admin endpoint
// copies them into a metrics::Snapshot on the same thread.
// Never: locks, allocates on the hot path beyond the rejection map's first use of a
// reason, or does I/O. Pure, so relay_core's unit tests can use it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "relay/tls_used.hpp"

namespace relay {

/// Upper bounds (seconds) of the delivery latency histogram: received → delivered.
inline constexpr std::array<double, 10> latency_bounds{0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 86400};

struct LatencyHistogram {
  std::array<std::uint64_t, latency_bounds.size() + 1> buckets{};  // last: +Inf
  double sum_seconds = 0;
  std::uint64_t count = 0;
  void observe(double seconds) noexcept;
  LatencyHistogram& operator+=(const LatencyHistogram& other) noexcept;
};

struct ListenerCounters {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;   // over max_connections
  std::uint64_t sessions_active = 0;
  std::uint64_t messages_received = 0;     // committed and answered 250
  std::uint64_t recipients_received = 0;
  std::uint64_t bytes_received = 0;        // message bytes committed
  std::uint64_t commit_failures = 0;       // answered 451/452
  /// 4xx/5xx replies this listener sent, by enhanced status code ("5.7.1"), or by the
  /// basic code ("554") when a reply has none.
  std::map<std::string, std::uint64_t, std::less<>> rejections;
  // Recipient callouts by "result cache" ("valid miss", "unknown hit", "failed miss")
  // and DNSBL lookups by "zone result" ("zen.example.org listed", "... clean", "... error").
  std::map<std::string, std::uint64_t, std::less<>> callouts;
  std::map<std::string, std::uint64_t, std::less<>> dnsbl;
  /// Policy decisions by (stage, decision, reason). The views point at the
  /// static names of relay::to_string(PolicyStage) and policy::to_string, so counting
  /// never allocates after a key's first use.
  std::map<std::tuple<std::string_view, std::string_view, std::string_view>, std::uint64_t> policy_decisions;
  /// Content filter decisions by (milter, stage, action) and each filter's time per
  /// message (relay/server/filter_stage).
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> milter_actions;
  std::map<std::string, LatencyHistogram> milter_latency;
  /// DKIM signatures added by (domain, selector, algorithm) and signing failures by
  /// (domain, selector, reason) (relay/server/signing_stage); "" when no key is named.
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> dkim_signatures;
  std::map<std::tuple<std::string, std::string, std::string>, std::uint64_t> dkim_failures;
};

/// Counts the 4xx/5xx replies in `replies` (one or more complete SMTP replies, CRLF
/// lines; a multi-line reply counts once, on its last line) into `into`.
void count_rejections(std::string_view replies, std::map<std::string, std::uint64_t, std::less<>>& into);

/// What became of one recipient in a delivery attempt, as the counters see it.
enum class RecipientEvent : std::uint8_t { delivered, deferred, parked, bounced, expired };

/// Per direction of the messages (inbound / outbound), recipients unless noted.
struct DirectionCounters {
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;
  std::uint64_t bounced = 0;               // permanent failures (a DSN is due)
  std::uint64_t expired = 0;
  std::uint64_t messages_out = 0;          // transactions with at least one delivered recipient
  std::uint64_t parked = 0;                // deferred because no hop of the route was usable
  std::uint64_t released = 0;              // parked recipients released when a hop came back
  LatencyHistogram latency;
  /// The one way an outcome is counted: a parked recipient is also deferred, a delivered
  /// one observes its latency (received → delivered).
  void count(RecipientEvent event, double seconds_since_arrival) noexcept;
  /// Totals over engines (a reload keeps the retired generation's counts).
  DirectionCounters& operator+=(const DirectionCounters& other) noexcept;
};

/// One unit for all three: an attempt is one try of a connection or transaction on the
/// hop, whether it failed at connect, TLS, or a reply; it ends as a success (at least one
/// recipient delivered) or as one failure of a class. So successes + failures = attempts.
struct HopCounters {
  std::uint64_t attempts = 0;
  std::uint64_t successes = 0;
  /// connect, tls, io, timeout, protocol (faults), reply_4xx, reply_5xx (refusals).
  std::map<std::string, std::uint64_t, std::less<>> failures;
  // Upstream limits (relay/delivery/delivery_engine_limits.cpp): replies that throttled us
  // (4.7.x, 4.5.3), and work held back by max_message_rate / max_connection_rate.
  std::uint64_t throttled = 0;
  std::uint64_t rate_delayed = 0;
  std::uint64_t rate_delay_ms = 0;                 // time held back, summed
  /// Transactions by what protected their session (index: TlsKind), and, last, sessions
  /// that ended before sending because TLS was required and not achieved (a failed or
  /// missing STARTTLS, a certificate that did not verify or match, a host DANE skipped).
  std::array<std::uint64_t, tls_kinds.size() + 1> tls_deliveries{};
  static constexpr std::size_t tls_failed = tls_kinds.size();
  /// The one way an attempt is counted, once it has ended: `failure_class` empty is a success.
  void count_attempt(std::string_view failure_class);
  void count_tls(TlsKind kind) noexcept { ++tls_deliveries[static_cast<std::size_t>(kind)]; }
  void count_tls_failed() noexcept { ++tls_deliveries[tls_failed]; }
  HopCounters& operator+=(const HopCounters& other);
};

}  // namespace relay
