// conf/load_service.cpp — the key tables of the relay's single tables: [relay], [log],
// [queue], [delivery], [dns] (with [dns.hosts]), [bounce] and [admin].
//
// Owns: one row per key of each of those tables, the checks on their values (host names,
// log levels, retry schedules, DNS servers, bounce sender, the admin address against the
// listeners' addresses), and relative path resolution for state_dir and the log file.
// Never: reads another section's keys; opens the log file or the state directory.
// See docs/configuration.md for every key.
#include <algorithm>
#include <array>
#include <cctype>
#include <expected>

#include "conf/reader.hpp"
#include "conf/ascii.hpp"
#include "conf/secret_file.hpp"

namespace conf::reading {

// --- [relay] -------------------------------------------------------------------------------

const Keys<RelayConfig>& relay_keys() {
  static const Keys<RelayConfig> keys{
      {"hostname", Need::required,
       [](Loader& l, const Field& f, RelayConfig& relay) {
         std::string hostname;
         if (!l.read_string(*f.value, f.key, hostname)) return;
         if (hostname.empty()) {
           l.error(f, "must not be empty");
         } else if (!is_hostname(hostname)) {
           l.error(f, quote(hostname) + " is not a valid host name (RFC 1123)");
         } else {
           relay.hostname = hostname;
         }
       }},
      {"state_dir", Need::always,
       [](Loader& l, const Field& f, RelayConfig& relay) {
         std::string dir;
         if (f.value != nullptr && l.read_string(*f.value, f.key, dir)) {
           if (dir.empty()) {
             l.error(f, "must not be empty");
           } else {
             relay.state_dir = dir;
           }
         }
         relay.state_dir = l.resolve(relay.state_dir);  // the default is resolved too
       }},
      {"accepted_domains", Need::optional,
       [](Loader& l, const Field& f, RelayConfig& relay) {
         l.read_domains(*f.value, f.key, false, relay.accepted_domains);
       }},
      {"user", Need::optional, into_string(&RelayConfig::user)},
  };
  return keys;
}

void read_relay(Loader& loader, const Field& f, Config& config) {
  if (f.value == nullptr) {
    loader.error(0, "relay.hostname", "missing required key (add a [relay] table with hostname = ...)");
    return;
  }
  if (!loader.expect(*f.value, toml::value_t::table, f.key)) return;
  read_keys(loader, *f.value, f.key, relay_keys(), config.relay);
}

// --- [log] ---------------------------------------------------------------------------------

const Keys<LogConfig>& log_keys() {
  static const Keys<LogConfig> keys{
      {"level", Need::optional,
       [](Loader& l, const Field& f, LogConfig& log) {
         constexpr std::array<std::string_view, 7> levels{"trace", "debug",    "info", "warn",
                                                          "error", "critical", "off"};
         std::string level;
         if (!l.read_string(*f.value, f.key, level)) return;
         if (std::ranges::find(levels, level) == levels.end()) {
           l.error(f, "unknown level " + quote(level) +
                          " (use trace, debug, info, warn, error, critical or off)");
         } else {
           log.level = level;
         }
       }},
      {"file", Need::optional,
       [](Loader& l, const Field& f, LogConfig& log) {
         std::string file;
         if (l.read_string(*f.value, f.key, file) && !file.empty()) log.file = l.resolve(file);
       }},
      {"max_size", Need::optional, into_size(&LogConfig::max_size, limits::log_max_size)},
      {"max_files", Need::optional, into_integer(&LogConfig::max_files, limits::log_max_files)},
      {"syslog", Need::optional,
       [](Loader& l, const Field& f, LogConfig& log) {
         l.read_bool(*f.value, f.key, log.syslog);
         if (log.syslog && !log.file.empty()) {
           l.error(f, "syslog = true and a log file are exclusive; choose one");
         }
       }},
  };
  return keys;
}

// --- [queue] -------------------------------------------------------------------------------

namespace {

const Keys<QueueConfig>& queue_storage_keys() {
  static const Keys<QueueConfig> keys{
      {"lifetime", Need::optional,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         Millis lifetime{};
         if (l.read_duration(*f.value, f.key, limits::queue_lifetime, lifetime)) {
           queue.lifetime = std::chrono::ceil<std::chrono::hours>(lifetime);
         }
       }},
      {"retry_schedule", Need::optional,
       [](Loader& l, const Field& f, QueueConfig& queue) {
         if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
         const auto& array = f.value->as_array();
         if (array.empty()) {
           l.error(f, "must list at least one delay");
         } else if (array.size() > limits::queue_retry_schedule_max_entries) {
           l.error(f, "must list at most " + std::to_string(limits::queue_retry_schedule_max_entries) +
                          " delays (the last one repeats)");
         } else {
           std::vector<Seconds> schedule;
           for (std::size_t i = 0; i < array.size(); ++i) {
             Seconds delay{};
             if (l.read_seconds(array[i], f.key + "[" + std::to_string(i) + "]", limits::queue_retry_delay,
                                delay)) {
               schedule.push_back(delay);
             }
           }
           if (schedule.size() == array.size()) queue.retry_schedule = std::move(schedule);
         }
       }},
      {"group_commit_max_batch", Need::optional,
       into_integer(&QueueConfig::group_commit_max_batch, limits::queue_group_commit_max_batch)},
      {"inline_body_max", Need::optional, into_integer(&QueueConfig::inline_body_max, limits::queue_inline_body_max)},
      {"body_sync_threads", Need::optional,
       into_integer(&QueueConfig::body_sync_threads, limits::queue_body_sync_threads)},
      {"delay_notice", Need::optional, into_seconds(&QueueConfig::delay_notice, limits::queue_delay_notice)},
  };
  return keys;
}

}  // namespace

/// Where the queue lives comes first: the storage keys do not depend on it, the
/// [queue.postgresql] table does (load_queue_backend.cpp).
const Keys<QueueConfig>& queue_keys() {
  static const Keys<QueueConfig> keys = concat({&queue_backend_keys(), &queue_storage_keys()});
  return keys;
}

// --- [delivery] ----------------------------------------------------------------------------

const Keys<DeliveryConfig>& delivery_keys() {
  static const Keys<DeliveryConfig> keys{
      {"helo_name", Need::optional,
       [](Loader& l, const Field& f, DeliveryConfig& delivery) {
         std::string name;
         if (!l.read_string(*f.value, f.key, name)) return;
         if (!name.empty() && !is_hostname(name)) {
           l.error(f, quote(name) + " is not a valid host name (RFC 1123)");
         } else {
           delivery.helo_name = name;
         }
       }},
      {"connect_timeout", Need::optional,
       into_seconds(&DeliveryConfig::connect_timeout, limits::delivery_connect_timeout)},
      {"command_timeout", Need::optional,
       into_seconds(&DeliveryConfig::command_timeout, limits::delivery_command_timeout)},
      {"data_timeout", Need::optional, into_seconds(&DeliveryConfig::data_timeout, limits::delivery_data_timeout)},
      {"hop_backoff", Need::optional, into_seconds(&DeliveryConfig::hop_backoff, limits::delivery_hop_backoff)},
      {"idle_timeout", Need::optional, into_seconds(&DeliveryConfig::idle_timeout, limits::delivery_idle_timeout)},
      {"max_in_flight", Need::optional,
       into_integer(&DeliveryConfig::max_in_flight, limits::delivery_max_in_flight)},
  };
  return keys;
}

// --- [dns] [dns.hosts] ---------------------------------------------------------------------

namespace {

/// [dns.hosts]: any host name is a key, so it has no key table.
void read_dns_hosts(Loader& l, const Field& f, DnsConfig& dns) {
  if (!l.expect(*f.value, toml::value_t::table, f.key)) return;
  for (const auto& [name, addresses] : f.value->as_table()) {
    const std::string key = f.key + "." + name;
    if (!is_hostname(name)) {
      l.error(l.line_of(addresses), key, quote(name) + " is not a valid host name");
      continue;
    }
    std::vector<Item> items;
    l.read_string_array(addresses, key, items);
    std::vector<std::string> list;
    for (Item& item : items) {
      if (!is_ip_literal(item.text)) l.error(item.line, item.key, quote(item.text) + " is not an IP address");
      else list.push_back(std::move(item.text));
    }
    if (items.empty()) l.error(l.line_of(addresses), key, "must list at least one address");
    dns.hosts.emplace_back(ascii_lowercase(name), std::move(list));
  }
  std::ranges::sort(dns.hosts);  // the table is unordered; keep it deterministic
}

}  // namespace

const Keys<DnsConfig>& dns_keys() {
  static const Keys<DnsConfig> keys{
      {"servers", Need::optional,
       [](Loader& l, const Field& f, DnsConfig& dns) {
         std::vector<Item> servers;
         l.read_string_array(*f.value, f.key, servers);
         for (Item& server : servers) {
           // "ip" or "ip:port" / "[v6]:port"; c-ares takes the same csv syntax.
           const bool ok = is_ip_literal(server.text) || parse_bind_address(server.text).has_value();
           if (!ok) l.error(server.line, server.key, quote(server.text) + " is not an IP address or ip:port");
           else dns.servers.push_back(std::move(server.text));
         }
       }},
      {"hosts", Need::optional, read_dns_hosts},
      {"timeout", Need::optional, into_seconds(&DnsConfig::timeout, limits::dns_timeout)},
      {"dnssec", Need::optional,
       [](Loader& l, const Field& f, DnsConfig& dns) {
         if (l.read_bool(*f.value, f.key, dns.dnssec)) dns.dnssec_line = l.line_of(*f.value);
       }},
  };
  return keys;
}

// [dns] is read after the hops, so what DANE needs of it is checked here: a hop that
// demands DANE must have a resolver the administrator vouches for (an AD bit from any
// other resolver proves nothing). MX hops look up TLSA for each MX host, smart hosts for
// their configured host.
// An MX hop without an explicit tls key gets "auto": without TLSA records (or without
// dnssec) and without an MTA-STS policy it behaves exactly as opportunistic, so only
// domains that publish TLSA or MTA-STS see a difference.
void read_dns(Loader& l, const Field& f, Config& config) {
  if (f.value != nullptr) table_into(&Config::dns, dns_keys)(l, f, config);
  for (HopConfig& hop : config.hops) {
    const std::string key = "hop." + hop.name + ".tls";
    if (hop.tls == TlsPolicy::dane && !config.dns.dnssec) {
      l.error(hop.tls_line, key,
              "\"dane\" needs [dns] dnssec = true (a local validating resolver the relay trusts)");
    }
    if (hop.tls == TlsPolicy::mta_sts && !hop.mx)
      l.error(hop.tls_line, key, "\"mta-sts\" applies to type = \"mx\" hops (the policy names the MX hosts)");
    if (hop.mx && hop.tls_line == 0) hop.tls = TlsPolicy::automatic;
  }
}

// --- [mta_sts] -----------------------------------------------------------------------------

const Keys<MtaStsConfig>& mta_sts_keys() {
  static const Keys<MtaStsConfig> keys{
      {"ca_file", Need::optional,
       [](Loader& l, const Field& f, MtaStsConfig& sts) { read_config_file(l, f, sts.ca_file); }},
  };
  return keys;
}

// --- [bounce] ------------------------------------------------------------------------------

const Keys<BounceConfig>& bounce_keys() {
  static const Keys<BounceConfig> keys{
      {"from", Need::optional,
       [](Loader& l, const Field& f, BounceConfig& bounce) {
         std::string from;
         if (!l.read_string(*f.value, f.key, from)) return;
         if (from.find('@') == std::string::npos || from.find_first_of("<> \r\n") != std::string::npos) {
           l.error(f, quote(from) + " is not an address such as MAILER-DAEMON@relay.example");
         } else {
           bounce.from = from;
         }
       }},
      {"text", Need::optional, into_string(&BounceConfig::text)},
      {"lifetime", Need::optional,
       [](Loader& l, const Field& f, BounceConfig& bounce) {
         Millis lifetime{};
         if (l.read_duration(*f.value, f.key, limits::bounce_lifetime, lifetime)) {
           bounce.lifetime = std::chrono::ceil<std::chrono::hours>(lifetime);
         }
       }},
  };
  return keys;
}

// --- [admin] -------------------------------------------------------------------------------

// The bearer token from [admin] token_file: the file's first line, trimmed. The file must
// not be readable by others (it grants changing the queue).
static std::expected<std::string, std::string> read_token_file(const std::string& path) {
  auto text = read_secret_file(path, "token file", 64 * 1024);
  if (!text) return text;
  std::string token = text->substr(0, text->find('\n'));
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  if (token.size() < 16) return std::unexpected("token file " + path + ": the token must be at least 16 characters");
  return token;
}

const Keys<AdminConfig>& admin_keys() {
  static const Keys<AdminConfig> keys{
      {"listen", Need::required,
       [](Loader& l, const Field& f, AdminConfig& admin) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         auto bind = parse_bind_address(text);
         if (!bind) {
           l.error(f, bind.error());
         } else if (l.binds.claim(*bind, BindUse{f.key, l.line_of(*f.value)})) {
           l.error(f, "address " + quote(text) + " is already used by a listener");
         } else {
           admin.listen = *bind;
           admin.enabled = true;
         }
       }},
      {"token", Need::optional, into_string(&AdminConfig::token)},
      {"token_file", Need::optional,
       [](Loader& l, const Field& f, AdminConfig& admin) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         // Read into `token` (so token_file wins over an inline token): the endpoint and
         // `hubrelay stats` use the same field whichever way it was given.
         auto token = read_token_file(l.resolve(text));
         if (!token) return l.error(f, token.error());
         admin.token = std::move(*token);
       }},
  };
  return keys;
}

void read_admin(Loader& loader, const Field& f, Config& config) {
  if (!loader.expect(*f.value, toml::value_t::table, f.key)) return;
  config.admin.line = loader.line_of(*f.value);
  read_keys(loader, *f.value, f.key, admin_keys(), config.admin);
  const AdminConfig& admin = config.admin;
  if (!admin.enabled || !admin.token.empty() || f.value->contains("token_file")) return;  // a bad file: reported
  // Anyone who can reach a non-loopback address could change the queue or read it.
  const std::string_view address = admin.listen.address;
  if (!address.starts_with("127.") && address != "::1")
    loader.error(config.admin.line, f.key,
                 "listen = \"" + config.admin.listen.address +
                     "\" is not a loopback address: set token_file (the admin API needs a bearer token there)");
}

}  // namespace conf::reading
