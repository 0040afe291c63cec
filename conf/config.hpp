// conf/config.hpp — the validated, immutable configuration of one hubrelay instance.
//
// Owns: plain value structs for every section of hubrelay.toml, with defaults.
// Produced by conf::load() (conf/load.hpp) after validation; consumers receive a
// std::shared_ptr<const Config> and never mutate it. A reload builds a new Config.
// Performs no I/O. Durations are std::chrono, sizes are bytes.
// See docs/configuration.md for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace conf {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

enum class Direction : std::uint8_t { inbound, outbound };

constexpr const char* to_string(Direction d) noexcept {
  return d == Direction::inbound ? "inbound" : "outbound";
}

/// An IP literal and port a listener binds to. Host names are not allowed here:
/// a listener on an edge host must be bound to an explicit address (seed 003).
struct BindAddress {
  std::string address;  // "127.0.0.1", "::1"
  std::uint16_t port = 25;
};

/// RFC 5321 §4.5.3.2 server-side timeouts. The server waits at least 5 minutes for a
/// command; DATA blocks get 3 minutes; we allow up to 10 minutes after the final dot.
struct ServerTimeouts {
  Seconds command{300};
  Seconds data_block{180};
  Seconds session_total{3600};
};

struct ListenerConfig {
  std::string name;
  Direction direction = Direction::inbound;
  std::vector<BindAddress> bind;
  std::string policy;                              // name of a [policy.NAME] table
  std::uint64_t max_message_size = 36'700'160;     // 35 MiB, Exchange's default
  std::uint32_t max_recipients = 100;              // RFC 5321 §4.5.3.1.8 minimum
  std::uint32_t max_connections = 1000;
  std::uint32_t max_errors = 10;                   // protocol errors before 421
  ServerTimeouts timeouts;
  int line = 0;                                    // source line, for diagnostics
};

/// Who may relay through a listener. Default is closed: no trusted networks and
/// only the organisation's accepted domains as recipients.
struct PolicyConfig {
  std::string name;
  std::vector<std::string> trusted_networks;       // CIDR strings, validated
  /// Recipients in these domains are accepted from anyone (inbound). Empty means the
  /// relay-wide [relay].accepted_domains. Patterns: "example.com", "*.example.com".
  std::vector<std::string> accepted_domains;
  /// true: only trusted clients may submit at all (outbound listener for HUB servers).
  bool require_trusted = false;
  int line = 0;
};

/// A next hop: an upstream smart host or DMZ relay.
struct HopConfig {
  std::string name;
  std::string host;                                // IP literal or DNS name
  std::uint16_t port = 25;
  std::uint32_t max_connections = 20;
  std::uint32_t max_messages_per_connection = 1000;
  int line = 0;
};

/// A hop as used by one route: cost tier and weight within the tier.
struct RouteHop {
  std::string hop;                                 // name of a [hop.NAME] table
  std::uint32_t cost = 10;                         // lower cost tiers are preferred
  std::uint32_t weight = 1;                        // share within a tier (> 0)
};

struct RouteConfig {
  std::string name;
  Direction direction = Direction::outbound;
  std::vector<std::string> domains;                // "*", "example.com", "*.example.com"
  std::vector<RouteHop> hops;
  int line = 0;
};

struct QueueConfig {
  std::chrono::hours lifetime{48};
  /// Delay before retry N (1-based); the last entry repeats. Modelled on Exchange:
  /// quick retries first, then growing intervals.
  std::vector<Seconds> retry_schedule{Seconds{60},   Seconds{300},  Seconds{600},
                                      Seconds{900},  Seconds{1800}, Seconds{3600}};
  std::uint32_t group_commit_max_batch = 512;      // messages per transaction at most
};

struct DeliveryConfig {
  std::string helo_name;                           // empty: relay.hostname
  Seconds connect_timeout{30};
  Seconds command_timeout{300};                    // RFC 5321 §4.5.3.2 client side
  Seconds data_timeout{600};                       // wait for the reply to the final dot
  Seconds hop_backoff{30};                         // skip a hop this long after a connection fault
  Seconds idle_timeout{5};                         // keep an idle pooled connection this long
  std::uint32_t max_in_flight = 10000;             // messages held in memory by the engine
};

struct LogConfig {
  std::string level = "info";                      // trace|debug|info|warn|error|critical|off
  std::string file;                                // empty: console (stderr)
  // Operations (issue 7): rotation of `file`, or syslog instead of console/file.
  std::uint64_t max_size = 0;                      // bytes per file before rotating; 0: never rotate
  std::uint32_t max_files = 5;                     // rotated files kept (with max_size)
  bool syslog = false;                             // LOG_MAIL facility, ident "hubrelay"
};

struct RelayConfig {
  std::string hostname;                            // banner, Received:, EHLO
  std::string state_dir = "/var/lib/hubrelay";     // queue.db lives here
  std::vector<std::string> accepted_domains;       // the organisation's own domains
  std::string user;                                // drop privileges to this user after binding
};

/// The admin HTTP endpoint (issue 7): /metrics, /api/status, the status page, queue API.
struct AdminConfig {
  bool enabled = false;                            // off unless [admin] listen is set
  BindAddress listen{"127.0.0.1", 8025};
  std::string token;                               // empty: no bearer token required
  int line = 0;
};

struct Config {
  std::string source_file;
  RelayConfig relay;
  LogConfig log;
  QueueConfig queue;
  DeliveryConfig delivery;
  std::vector<ListenerConfig> listeners;
  std::vector<PolicyConfig> policies;
  std::vector<HopConfig> hops;
  std::vector<RouteConfig> routes;
  AdminConfig admin;

  const PolicyConfig* find_policy(std::string_view name) const noexcept;
  const HopConfig* find_hop(std::string_view name) const noexcept;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace conf
