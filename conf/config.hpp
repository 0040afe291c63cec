// conf/config.hpp — the validated, immutable configuration of one hubrelay instance.
//
// Owns: plain value structs for every section of hubrelay.toml, with defaults.
// Produced by conf::load_file()/load_string() (conf/load.hpp) after validation; consumers receive a
// std::shared_ptr<const Config> and never mutate it. A reload builds a new Config.
// Performs no I/O. Durations are std::chrono, sizes are bytes.
// See docs/configuration.md for every key.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace conf {

using Seconds = std::chrono::seconds;
using Millis = std::chrono::milliseconds;

enum class Direction : std::uint8_t { inbound, outbound };

constexpr const char* to_string(Direction d) noexcept {
  return d == Direction::inbound ? "inbound" : "outbound";
}

/// An IP literal and port a listener binds to. Host names are not allowed here:
/// a listener on an edge host must be bound to an explicit address (the edge deployment of docs/deployment.md).
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

/// TLS on a listener: none; STARTTLS offered; STARTTLS required before MAIL/AUTH;
/// or implicit TLS from the first byte (port 465 style, RFC 8314).
enum class ListenerTls : std::uint8_t { off, offered, required, implicit };

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
  // --- TLS, DATA line endings, early talkers, header size. ---
  ListenerTls tls = ListenerTls::off;
  std::string tls_certificate;                     // PEM chain path; required unless tls = "off"
  std::string tls_key;                             // PEM private key path
  bool reject_bare_line_endings = false;           // bare_line_endings = "reject" (default "normalize")
  Millis greeting_delay{0};                        // 0: off; early talkers get 554 5.5.0
  std::uint64_t max_header_size = 64 * 1024;       // header section octets (DATA and BDAT)
  bool auth = false;                               // offer AUTH PLAIN/LOGIN (users: the policy's auth_users)
  bool auth_plaintext_trusted = false;             // allow AUTH without TLS from trusted networks
  bool proxy_protocol = false;                     // expect a PROXY v1/v2 header first
  std::vector<std::string> proxy_from;             // CIDRs of the load balancers allowed to send it
  // --- per-client limits (policy/client_limits, docs/policy.md#limits). ---
  /// "N per period": a token bucket of N tokens refilled at N per period. count 0: off.
  struct Rate {
    std::uint32_t count = 0;
    Millis period{0};
    bool enabled() const noexcept { return count != 0; }
  };
  std::uint32_t max_connections_per_client = 0;    // concurrent sessions per client IP; 0: no limit
  Rate connection_rate;                            // new connections per client IP
  Rate message_rate;                               // MAIL commands accepted per client IP
  Rate recipient_rate;                             // RCPT commands accepted per client IP
  bool limits_exempt_trusted = true;               // trusted networks / authenticated users skip them
  // --- content filters (docs/configuration.md#milter) ---
  std::vector<std::string> milters;                // [milter.NAME] tables, called in this order
};

/// A content filter spoken to with the Sendmail milter protocol ([milter.NAME]).
struct MilterConfig {
  /// What a filter that is unreachable, times out or misbehaves stands for.
  enum class DefaultAction : std::uint8_t { tempfail, accept, reject, shutdown };
  std::string name;
  std::string address;                             // as written: "inet:HOST:PORT" or "unix:/path"
  std::string host;                                // inet: IP literal or name
  std::uint16_t port = 0;                          // inet
  std::string socket_path;                         // unix
  Millis connect_timeout{5'000};
  Millis command_timeout{30'000};                  // each command but the content
  Millis content_timeout{120'000};                 // body chunks and end of message
  DefaultAction default_action = DefaultAction::tempfail;
  /// Macro names per stage ("connect", "helo", "mail", "rcpt", "data", "eoh", "eom"),
  /// replacing that stage's defaults; stages not named keep them.
  std::vector<std::pair<std::string, std::vector<std::string>>> macros;
  int line = 0;
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
  /// AUTH users, name → "$pbkdf2-sha256$..." (from `hubrelay hash-password`).
  struct AuthUser {
    std::string name;
    std::string secret_hash;
    int line = 0;
  };
  std::vector<AuthUser> auth_users;
  // --- DNSBL checks and recipient verification (docs/policy.md) ---
  /// One DNS block list zone: the client address is looked up as REVERSED.zone (A).
  struct DnsblZone {
    std::string zone;                              // "zen.example.org", lower case
    bool tag = false;                              // action = "tag" (header); else "reject"
    std::vector<std::string> match;                // return codes that count; empty: any 127.0.0.0/8
    int line = 0;
  };
  std::vector<DnsblZone> dnsbl;
  bool dnsbl_at_connect = false;                   // dnsbl_check = "connect" (default "rcpt")
  Millis dnsbl_timeout{5000};                      // per query (all zones asked in parallel)
  Seconds dnsbl_min_ttl{60};                       // cached result TTL floor
  Seconds dnsbl_max_ttl{3600};                     // cached result TTL ceiling
  /// Static recipient list: the entries of `valid_recipients` and of the lines of
  /// `valid_recipients_file` (read at load/reload), lower-cased; "@domain" is a catch-all.
  std::vector<std::string> valid_recipients;
  std::string valid_recipients_file;               // resolved path, "" when not set
  bool static_recipients = false;                  // either key was given (even if empty)
  bool recipient_callout = false;                  // ask the next hop with RCPT (callout)
  std::string callout_sender;                      // MAIL FROM of the callout; "" = <>
  Seconds callout_timeout{30};                     // whole callout: connect to QUIT
  Seconds callout_positive_ttl{3600};
  Seconds callout_negative_ttl{600};
  bool callout_accept_on_failure = false;          // callout_on_failure = "accept" (default "defer")
  std::uint32_t callout_cache_size = 10000;        // entries, least recently stored dropped first
  // --- access rules (policy/access_rules, docs/policy.md). Empty lists: rule off. ---
  std::vector<std::string> client_networks;        // CIDRs allowed to connect at all; empty: everyone
  std::vector<std::string> own_domains;            // spoof check; empty: the accepted domains
  std::optional<bool> reject_spoofed_senders;      // unset: true on inbound listeners, false on outbound
  std::vector<std::string> sender_allow;           // address patterns (conf/address_pattern.hpp)
  std::vector<std::string> sender_deny;
  std::vector<std::string> recipient_allow;
  std::vector<std::string> recipient_deny;
  bool helo_required_fqdn = false;                 // HELO must be an FQDN or a valid address literal
  bool helo_reject_own_name = false;               // HELO naming us (hostname, own domains, our IPs)
  std::vector<std::string> allowed_sender_domains; // domain patterns a client may send as; empty: any
  struct SenderRestriction {                       // [[policy.NAME.sender_restriction]]
    std::vector<std::string> networks;             // clients in these CIDRs ...
    std::string user;                              // ... or authenticated as this user
    std::vector<std::string> senders;              // may use only these sender patterns
    int line = 0;
  };
  std::vector<SenderRestriction> sender_restrictions;
};

/// STARTTLS policy of the SMTP client towards one hop (docs/routing.md).
///   none: never STARTTLS. opportunistic: STARTTLS when offered, no certificate checks.
///   required: STARTTLS must succeed (no checks) or nothing is sent.
///   verify: as required, plus chain and host name verification.
///   dane: DANE (RFC 7672): the host's TLSA records (each MX host's, or a smart host's
///     own) in a DNSSEC-validated answer authenticate it, or the mail waits (defer);
///     needs [dns] dnssec.
///   mta_sts ("mta-sts"): MTA-STS (RFC 8461): the recipient domain's policy decides which
///     MX hosts may be used and requires a WebPKI-verified session; no policy: defer.
///     MX hops only.
///   automatic ("auto"): DANE when the host has usable TLSA records in a validated
///     answer, else (MX hops) MTA-STS when the domain publishes a policy, else
///     opportunistic. The default of type = "mx" hops (docs/tls-policy.md).
enum class TlsPolicy : std::uint8_t { none, opportunistic, required, verify, dane, automatic, mta_sts };

constexpr const char* to_string(TlsPolicy p) noexcept {
  switch (p) {
    case TlsPolicy::none: return "none";
    case TlsPolicy::opportunistic: return "opportunistic";
    case TlsPolicy::required: return "required";
    case TlsPolicy::verify: return "verify";
    case TlsPolicy::dane: return "dane";
    case TlsPolicy::automatic: return "auto";
    case TlsPolicy::mta_sts: return "mta-sts";
  }
  return "?";
}

/// A next hop: an upstream smart host or DMZ relay.
struct HopConfig {
  std::string name;
  std::string host;                                // IP literal or DNS name
  std::uint16_t port = 25;
  std::uint32_t max_connections = 20;
  std::uint32_t max_messages_per_connection = 1000;
  int line = 0;
  // Health (docs/health.md): the hop is usable only while every path it depends
  // on is up and, with `check`, its own SMTP banner/EHLO probe is up.
  // With `check`, the loader adds a path "hop:NAME" (one SMTP check of this hop, the
  // rules given in `check = {...}`) and lists it here too.
  std::vector<std::string> paths;                  // names of [path.NAME] tables
  bool check = false;
  // --- routing and client settings ---
  /// Direct delivery: the recipient domain's MX records (RFC 5321 §5) instead of `host`.
  /// Set by `host = "mx"` or `type = "mx"`.
  bool mx = false;
  TlsPolicy tls = TlsPolicy::opportunistic;       // type = "mx" hops: automatic unless set
  int tls_line = 0;                                // of the tls key (0: not set), for diagnostics
  std::string tls_ca_file;                         // verify: CA bundle; empty: system store
  std::string tls_cert_file;                       // client certificate (PEM), optional
  std::string tls_key_file;
  std::string auth_user;                           // AUTH PLAIN/LOGIN when non-empty
  std::string auth_password;                       // from auth_password or auth_password_file
  std::string source_address;                      // bind before connect (the edge deployment of docs/deployment.md)
  Seconds connect_timeout{0};                      // 0: [delivery].connect_timeout
  Seconds command_timeout{0};                      // 0: [delivery].command_timeout
  // --- upstream limits (docs/routing.md#upstream-limits): max_connections is the most the
  // concurrency window (relay/delivery/concurrency_window) may reach; it starts at initial_connections.
  std::uint32_t initial_connections = 5;           // clamped to max_connections
  ListenerConfig::Rate message_rate;               // max_message_rate: transactions started
  ListenerConfig::Rate connection_rate;            // max_connection_rate: connections opened
  /// suspend_on = [{ match = "REGEX", duration = "5m" }]: an upstream reply line matching
  /// `regex` (ECMAScript, compiled at load) suspends the hop for `duration`.
  struct SuspendRule {
    std::string match;                             // as written, for logs
    std::shared_ptr<const std::regex> regex;
    Seconds duration{300};
    int line = 0;
  };
  std::vector<SuspendRule> suspend_on;
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
  // --- spreading and the all-down rule ---
  enum class Balance : std::uint8_t { weighted_round_robin, least_outstanding };
  enum class WhenAllDown : std::uint8_t { queue, try_anyway };
  Balance balance = Balance::weighted_round_robin;
  WhenAllDown when_all_down = WhenAllDown::queue;
};

/// Where the queue lives: the embedded SQLite database in state_dir (one node), or a
/// PostgreSQL database shared by several nodes (docs/scale-out.md).
enum class QueueBackend : std::uint8_t { sqlite, postgresql };

constexpr const char* to_string(QueueBackend b) noexcept {
  switch (b) {
    case QueueBackend::sqlite: return "sqlite";
    case QueueBackend::postgresql: return "postgresql";
  }
  return "?";
}

struct QueueConfig {
  QueueBackend backend = QueueBackend::sqlite;
  int backend_line = 0;                            // of the backend key, for diagnostics
  /// This node's name: it labels logs, /metrics and the status page, and owns the leases
  /// of the messages it delivers from a shared queue. Default: the system host name.
  std::string node;
  int node_line = 0;                               // 0: the default was taken
  // [queue.postgresql]. The conninfo file's text is read at load and on every reload; it
  // may hold a password, so it is never logged nor echoed in a diagnostic.
  std::string pg_conninfo_file;                    // resolved path; empty: no [queue.postgresql]
  int pg_conninfo_file_line = 0;
  std::string pg_conninfo;                         // the file's text (libpq key=value or URI)
  Seconds pg_connect_timeout{5};                   // per host tried, libpq connect_timeout
  /// A message taken for delivery is leased to this node for this long and the lease is
  /// renewed while it is worked on; a dead node's messages go to another after it ran out.
  Seconds pg_lease_time{120};
  std::chrono::hours lifetime{48};
  /// Delay before retry N (1-based); the last entry repeats. Modelled on Exchange:
  /// quick retries first, then growing intervals.
  std::vector<Seconds> retry_schedule{Seconds{60},   Seconds{300},  Seconds{600},
                                      Seconds{900},  Seconds{1800}, Seconds{3600}};
  std::uint32_t group_commit_max_batch = 512;      // messages per transaction at most
  /// A message (trace header included) up to this size stays inline in SQLite, one
  /// fsync per group commit; a larger one streams to a spool file (docs/queue.md).
  std::uint32_t inline_body_max = 65536;
  /// Threads that fdatasync spool files, so concurrent sessions' flushes overlap.
  std::uint32_t body_sync_threads = 4;
  /// Send a "delayed" DSN once a recipient has waited this long; 0: never.
  Seconds delay_notice{0};
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

// --- health (docs/health.md) -------------------------------------------------------

enum class CheckKind : std::uint8_t { icmp, tcp, http, https, smtp, dns };

constexpr const char* to_string(CheckKind k) noexcept {
  switch (k) {
    case CheckKind::icmp: return "icmp";
    case CheckKind::tcp: return "tcp";
    case CheckKind::http: return "http";
    case CheckKind::https: return "https";
    case CheckKind::smtp: return "smtp";
    case CheckKind::dns: return "dns";
  }
  return "?";
}

/// One probe of a path. `host`/`port` are the target (for dns: the server to ask).
struct CheckConfig {
  CheckKind kind = CheckKind::tcp;
  std::string host;
  std::uint16_t port = 0;
  std::string source;                              // source IP to bind; empty: the kernel's choice
  Millis timeout{5000};
  // icmp: echo requests sent, replies needed, per-reply timeout (`timeout` bounds the whole)
  std::uint32_t count = 3;
  std::uint32_t min_replies = 1;
  Millis reply_timeout{1000};
  // http/https
  std::string url_path = "/";
  std::string url;                                 // as written, for reports
  std::vector<std::uint16_t> expect_status{200};
  std::string body_contains;
  std::string ca_file;                             // https: extra trust anchor (PEM); empty: system store
  // dns
  std::string query_name;
  std::string label;                               // "tcp 127.0.0.1:80": for logs and reports
  int line = 0;
};

/// The failover decision rules plus hysteresis (docs/health.md).
struct HealthRules {
  Millis interval{120'000};
  Millis fast_interval{0};                         // 0: always `interval`
  Millis jitter{0};
  std::uint32_t fail_threshold = 1;                // a run fails when >= this many checks fail
  std::uint32_t down_runs = 2;                     // down_after = { runs, failed }
  std::uint32_t down_failed = 2;
  std::uint32_t up_runs = 2;                       // up_after = { runs, succeeded }
  std::uint32_t up_succeeded = 2;
  bool initial_up = false;                         // start DOWN until runs prove the path up
};

/// Weekly window, minutes after local midnight; end < start crosses midnight.
struct MaintenanceWindow {
  std::uint8_t days = 0x7f;                        // bit 0 = Monday ... bit 6 = Sunday
  std::uint16_t start_minute = 0;
  std::uint16_t end_minute = 0;
  std::int32_t utc_offset_minutes = 0;             // "UTC" or "+02:00"
  int line = 0;
};

enum class MaintenanceState : std::uint8_t { hold, up, down };

struct PathConfig {
  std::string name;
  HealthRules rules;
  std::vector<CheckConfig> checks;
  std::vector<MaintenanceWindow> maintenance;
  MaintenanceState maintenance_state = MaintenanceState::hold;
  std::string hop;                                 // non-empty: the own check of this hop
  int line = 0;
};

struct AlertsConfig {
  std::vector<std::string> to;                     // alert mail recipients
  std::string from;                                // empty: hubrelay@relay.hostname
  std::string hook;                                // program run on every change
  Seconds hook_timeout{10};
};

struct LogConfig {
  std::string level = "info";                      // trace|debug|info|warn|error|critical|off
  std::string file;                                // empty: console (stderr)
  // Operations: rotation of `file`, or syslog instead of console/file.
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

/// The admin HTTP endpoint: /metrics, /api/status, the status page, queue API.
struct AdminConfig {
  bool enabled = false;                            // off unless [admin] listen is set
  BindAddress listen{"127.0.0.1", 8025};
  std::string token;                               // empty: no bearer token required
  int line = 0;
};

/// Name resolution for hops and MX delivery (c-ares). Empty servers: /etc/resolv.conf.
struct DnsConfig {
  std::vector<std::string> servers;                // "127.0.0.1", "127.0.0.1:5353", "[::1]:53"
  /// Static overrides, consulted before DNS (split-DNS sites): name → addresses.
  std::vector<std::pair<std::string, std::vector<std::string>>> hosts;
  Seconds timeout{5};                              // per query, all tries included
  /// The administrator vouches for `servers` (a local validating resolver such as
  /// unbound): only then is the AD bit of an answer trusted and TLSA looked up (DANE).
  bool dnssec = false;
  int dnssec_line = 0;                             // of the dnssec key, for diagnostics
};

/// [mta_sts]: how MTA-STS policies (RFC 8461) are fetched (docs/tls-policy.md).
struct MtaStsConfig {
  /// Extra trust anchors (PEM) for the policy servers' and MX hosts' certificates, on top
  /// of the system store: for a private CA. Empty: the system store only.
  std::string ca_file;
};

/// Delivery status notifications (RFC 3464) sent for failed and expired recipients.
struct BounceConfig {
  std::string from;                                // header From:; empty: MAILER-DAEMON@hostname
  std::string text;                                // human-readable part; empty: built-in text
  std::chrono::hours lifetime{24};                 // an undeliverable bounce is dropped after this
};

/// Message tracking records (docs/tracking.md): one JSON line per event of every message.
struct TrackingConfig {
  bool enabled = true;
  std::string dir;                                 // empty in the file: state_dir/tracking
  std::chrono::hours retention{24 * 30};           // files last written before this go
  std::uint64_t max_file_size = 256ULL * 1024 * 1024;  // rotate past this; 0: by day only
};

/// [tls_reporting]: daily SMTP TLS reports (RFC 8460) to the domains mail was delivered to
/// (docs/tls-policy.md). Empty texts are filled from [relay] hostname at load.
struct TlsReportingConfig {
  bool enabled = false;
  std::string organization;                        // organization-name; default: hostname
  std::string contact;                             // contact-info; default: mailto:postmaster@hostname
  std::string from;                                // report mail sender; default: postmaster@hostname
  std::uint32_t send_hour = 0;                     // UTC hour the day's reports go, plus up to 1 h jitter
};

/// [dkim.NAME]: one DKIM signing key (docs/dkim.md). The key file's text is read at load,
/// and again on every reload; relay/dkim/key_ring parses it.
enum class DkimCanonicalization : std::uint8_t { simple, relaxed };

struct DkimConfig {
  std::string name;
  std::string domain;                              // d=, lower case
  bool subdomains = false;                         // also sign for *.domain with d=domain
  std::string selector;                            // s=
  std::string key_file;                            // resolved path
  std::string key_pem;                             // the file's text
  std::vector<std::string> headers;                // lower case; empty: the default set
  std::vector<std::string> oversign{"from", "to", "cc", "subject", "date", "message-id", "reply-to"};
  DkimCanonicalization header_canonicalization = DkimCanonicalization::relaxed;
  DkimCanonicalization body_canonicalization = DkimCanonicalization::relaxed;
  Seconds expiration{0};                           // x= after this long; 0: no x=
  std::vector<Direction> directions{Direction::outbound};
  int line = 0;                                    // source line, for diagnostics
  int key_file_line = 0;                           // line of key_file, for key diagnostics
};

/// [dkim] itself: what every key shares, beside the [dkim.NAME] tables.
struct DkimSigningConfig {
  std::uint32_t threads = 2;  // the signing pool (relay/dkim/signing_pool), sized at start
};

struct Config {
  std::string source_file;
  RelayConfig relay;
  LogConfig log;
  QueueConfig queue;
  DeliveryConfig delivery;
  std::vector<ListenerConfig> listeners;
  std::vector<PolicyConfig> policies;
  std::vector<MilterConfig> milters;
  std::vector<HopConfig> hops;
  std::vector<RouteConfig> routes;
  std::vector<PathConfig> paths;                   // health
  AlertsConfig alerts;
  DnsConfig dns;
  MtaStsConfig mta_sts;
  BounceConfig bounce;
  AdminConfig admin;
  TrackingConfig tracking;
  TlsReportingConfig tls_reporting;
  std::vector<DkimConfig> dkim;
  DkimSigningConfig dkim_signing;

  const PolicyConfig* find_policy(std::string_view name) const noexcept;
  const MilterConfig* find_milter(std::string_view name) const noexcept;
  const HopConfig* find_hop(std::string_view name) const noexcept;
  const PathConfig* find_path(std::string_view name) const noexcept;
  /// True when `domain` is one of the organisation's own ([relay] accepted_domains): mail
  /// to it goes inbound (to the HUB), whoever wrote it — relayed mail, notices, alerts.
  bool is_own_domain(std::string_view domain) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace conf
