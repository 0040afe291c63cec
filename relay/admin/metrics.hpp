// relay/admin/metrics.hpp — a point-in-time copy of every counter, and its two renderings.
//
// Owns: metrics::Snapshot (plain values: listeners, directions, hops with their health
// state, health path states, queue commit figures, queue depth per direction, throughput
// rates and chart series) and the formats
// served by the admin endpoint: Prometheus text exposition 0.0.4 (/metrics) and the JSON
// document of /api/status (also read by `hubrelay stats` and the status page). A hop's
// state is the health::HopState of health::hop_states, the function that also writes
// health.json for `hubrelay health` and `route explain`: every output shows that one state.
// Never: reads a clock, touches sockets or the queue; the driver fills the Snapshot.
// Threading: pure functions over values. Errors: none (formatting cannot fail).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "health/report.hpp"
#include "relay/counters.hpp"
#include "relay/version.hpp"

namespace relay::metrics {

struct Listener {
  std::string name;
  conf::Direction direction = conf::Direction::inbound;
  ListenerCounters counters;
};

struct Hop {
  std::string name;
  health::HopState state;                  // from health::hop_states (default: usable)
  std::uint32_t connections = 0;
  std::uint32_t window = 0;                // the concurrency window: sessions allowed now
  std::uint32_t max_connections = 0;       // its ceiling (hop max_connections)
  conf::TlsPolicy tls = conf::TlsPolicy::opportunistic;  // the hop's tls setting (a label of the TLS counter)
  HopCounters counters;
  std::vector<std::string> paths;          // conf HopConfig::paths: the health paths it depends on
};

/// A health path as the monitor last published it.
struct Path {
  std::string name;
  std::string state = "down";              // "up", "down" or "maintenance"
  bool up = false;                         // the routing state (held or forced in maintenance)
  std::int64_t since_unix = 0;             // last state change, Unix seconds (0: none yet)
  std::uint64_t transitions = 0;
};

/// A content filter's state as every session sees it (relay/server/milter_link MilterHealth).
struct Milter {
  std::string name;
  std::string address;
  bool up = true;                          // false while in its back-off after a failure
  std::uint64_t failures = 0;
  std::string last_error;
};

struct Depth {                             // queue::QueueDepth of one direction, copied
  std::uint64_t queued_messages = 0, deferred_messages = 0, held_messages = 0;
  std::uint64_t queued_recipients = 0, deferred_recipients = 0, held_recipients = 0;
  double oldest_queued_seconds = 0, oldest_deferred_seconds = 0, oldest_held_seconds = 0;
  std::uint64_t bytes = 0;
  /// Both directions together: counts add, the oldest ages are the larger.
  Depth& operator+=(const Depth& other) noexcept;
};

struct Commit {                            // queue::QueueCounters, copied
  std::uint64_t transactions = 0;
  std::uint64_t messages_committed = 0;
  std::uint64_t largest_batch = 0;
  std::uint64_t commit_seconds_total_us = 0;  // summed COMMIT latency, microseconds
};

/// Messages per second in (received) and out (delivered) over 1, 5 and 15 minutes.
struct Rates {
  std::array<double, 3> in{}, out{};
};

struct Snapshot {
  std::string version{build::version};
  std::string revision{build::revision};
  /// This node's name and queue backend ([queue] node and backend): which relay of several
  /// answered, and whether it shares its queue.
  std::string node;
  std::string queue_backend{conf::to_string(conf::QueueBackend::sqlite)};
  std::int64_t now_unix = 0;
  std::int64_t started_unix = 0;
  std::vector<Listener> listeners;
  std::array<DirectionCounters, 2> directions{};  // index: conf::Direction
  std::array<Rates, 2> rates{};
  /// Chart series: per direction, in and out, 10-second buckets, oldest first.
  std::array<std::array<std::vector<std::uint64_t>, 2>, 2> series{};
  std::vector<Hop> hops;
  std::vector<Path> paths;                 // empty without [path.NAME] tables or before the first run
  std::vector<Milter> milters;             // every [milter.NAME] table
  Commit commit;
  /// Index: conf::Direction of the message (the listener that accepted it). nullopt
  /// when the queue could not be read.
  std::optional<std::array<Depth, 2>> depth;
  std::string depth_error;
  std::uint64_t delivery_in_flight = 0;
  std::uint64_t delivery_record_failures = 0;  // failed writes of delivery outcomes, retries included
  std::uint64_t tls_reports_sent = 0;          // TLS reports sent, by mail or HTTPS (RFC 8460)
  bool draining = false;
};

/// Prometheus text format, one family per metric with HELP/TYPE, labels escaped.
std::string format_prometheus(const Snapshot& s);

/// The /api/status JSON document (single object, stable keys; documented in docs/metrics.md).
std::string format_status_json(const Snapshot& s);

/// JSON string literal with the quotes (one implementation for every JSON the relay writes).
using health::json_string;

}  // namespace relay::metrics
