// conf/reader.hpp — private to conf/: what the section readers of the loader share.
//
// Owns: the Loader (diagnostics, line numbers, the Config being built, cross-entry state such
// as names and bound addresses), the typed reads (string, bool, integer, duration, size,
// string and domain arrays) that report file:line:key diagnostics, and the key tables.
// A key table lists every key of one TOML table, one row per key: its name, whether it is
// required, and the reader that judges its value. The same table drives the unknown-key
// check and the reads (read_keys), so a key cannot be read without being known, nor known
// without being read; adding a key is adding one row.
// Each section's table and reader lives in its own file (load_*.cpp, see the declarations at
// the end); conf/load.cpp holds the top-level table and the entry points of conf/load.hpp.
// Errors: every problem becomes a Diagnostic; nothing here throws on bad input.
// Never: included outside conf/ (toml11 is a private dependency of hubrelay_conf).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <toml.hpp>
#include <utility>
#include <vector>

#include "conf/key_tables.hpp"
#include "conf/limits.hpp"
#include "conf/load.hpp"
#include "conf/rate_syntax.hpp"

namespace conf::reading {

using Value = toml::value;

// --- text helpers for diagnostics ----------------------------------------------------------

/// "a string", "an integer", ...: the TOML type as a diagnostic names it.
std::string describe(toml::value_t type);
/// Diagnostics are one line each; TOML keys and strings may hold any character.
std::string printable(std::string text);
/// A value echoed in a diagnostic, cut short so one absurd value cannot flood the output.
std::string quote(std::string_view text);
/// " (defined: a, b)" or " (no [TABLE.NAME] tables are defined)", after an unknown name.
std::string defined_names(const std::vector<std::string>& names, std::string_view table);
/// Relative paths in the file are relative to the file's own directory, so the same file
/// works whatever the daemon's working directory is.
std::string resolve_path(const std::string& config_file, const std::string& path);

/// Line numbers by byte offset. toml11's value.location() recounts the newlines from the
/// start of the file on every call, which makes reading a large file quadratic.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);
  int line_of(const Value& v) const;

 private:
  std::vector<std::size_t> newlines_;
};

/// One string from an array, remembered with where it came from.
struct Item {
  std::string text;
  std::string key;
  int line = 0;
};

struct BindUse {
  std::string key;
  int line = 0;
};

/// Every listener address seen so far. Two sockets cannot bind the same address and port,
/// and on Linux a wildcard address (0.0.0.0, ::) collides with every specific address of
/// its family on the same port.
class BindRegistry {
 public:
  /// The earlier use this address collides with, if any. Records the address either way.
  std::optional<BindUse> claim(const BindAddress& bind, const BindUse& use);

 private:
  std::map<std::string, BindUse> exact_;             // "address port"
  std::map<std::string, BindUse> first_on_port_;     // "family port"
  std::map<std::string, BindUse> wildcard_on_port_;  // "family port"
};

class Loader;

/// One TOML table being read. It reports unknown keys when constructed, so a misspelt key
/// never silently falls back to a default.
class Section {
 public:
  Section(Loader& loader, const Value& table, std::string path,
          const std::function<bool(std::string_view)>& known);

  const Value* find(std::string_view key) const;
  /// Like find(), but a missing key is reported.
  const Value* require(std::string_view key) const;
  /// Reports `name` as a missing required key (for rows that judge absence themselves).
  void missing(std::string_view name) const;
  std::string key(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  const std::string& path() const { return path_; }
  int line() const { return line_; }

 private:
  Loader& loader_;
  const Value& table_;
  std::string path_;
  int line_ = 0;
};

// --- key tables ----------------------------------------------------------------------------

/// One key as its row's reader sees it.
struct Field {
  const Value* value;      // null when the key is absent (only Need::always rows see that)
  std::string_view name;   // the key's name in its table, "tls"
  std::string key;         // dotted path for diagnostics, "listener[0].tls"
  const Section& section;  // the table it is in: its line, its other keys
};

/// Judges one key's value and stores it in the target; reports what is wrong instead.
template <typename Target>
using Reader = std::function<void(Loader&, const Field&, Target&)>;

enum class Need : std::uint8_t {
  optional,  // read when present
  required,  // absent: "missing required key"; read when present
  always,    // read either way: the key's absence means something, or the row checks the
             // key against keys read before it (rows are read in table order)
};

template <typename Target>
struct Key {
  std::string_view name;
  Need need;
  Reader<Target> read;
};

template <typename Target>
using Keys = std::vector<Key<Target>>;

template <typename Target>
bool has_key(const Keys<Target>& keys, std::string_view name) {
  for (const Key<Target>& k : keys) {
    if (k.name == name) return true;
  }
  return false;
}

template <typename Target>
KeyTable key_table(std::string path, const Keys<Target>& keys) {
  KeyTable table{std::move(path), {}};
  for (const Key<Target>& k : keys) table.keys.emplace_back(k.name);
  return table;
}

/// The rows of several tables, in order: a table whose keys come from several features.
template <typename Target>
Keys<Target> concat(std::initializer_list<const Keys<Target>*> parts) {
  Keys<Target> out;
  for (const Keys<Target>* part : parts) out.insert(out.end(), part->begin(), part->end());
  return out;
}

/// The rows of a table of Inner, reading into the Inner member of an Outer target.
template <typename Outer, typename Inner>
Keys<Outer> lift(const Keys<Inner>& keys, Inner Outer::*member) {
  Keys<Outer> out;
  for (const Key<Inner>& k : keys) {
    out.push_back(Key<Outer>{k.name, k.need, [read = k.read, member](Loader& l, const Field& f, Outer& o) {
                               read(l, f, o.*member);
                             }});
  }
  return out;
}

/// Reads `table` (at dotted `path`) into `target`: reports keys that are not in `keys`,
/// then reads the rows in order. A target with an `abandoned` member stops the reading when
/// a row sets it (a check without a valid type: its other keys mean nothing).
template <typename Target>
void read_keys(Loader& loader, const Value& table, std::string path, const Keys<Target>& keys,
               Target& target) {
  const Section s(loader, table, std::move(path),
                  [&keys](std::string_view name) { return has_key(keys, name); });
  for (const Key<Target>& k : keys) {
    if constexpr (requires { target.abandoned; }) {
      if (target.abandoned) return;
    }
    const Value* v = k.need == Need::required ? s.require(k.name) : s.find(k.name);
    if (v != nullptr || k.need == Need::always) k.read(loader, Field{v, k.name, s.key(k.name), s}, target);
  }
}

// --- the loader ----------------------------------------------------------------------------

class Loader {
 public:
  Loader(std::string file, std::string_view text) : file_(std::move(file)), lines_(text) {}

  void error(int line, std::string key, std::string message);
  /// At the line of the field's value, under its key.
  void error(const Field& f, std::string message) { error(line_of(*f.value), f.key, std::move(message)); }
  int line_of(const Value& v) const { return lines_.line_of(v); }
  /// A path from the file, resolved against the file's directory.
  std::string resolve(const std::string& path) const { return resolve_path(file_, path); }
  const std::string& file() const { return file_; }

  Config& config() { return config_; }
  /// The Config when nothing was reported, else every diagnostic in line order.
  LoadResult finish();

  // Typed reads. Each reports what is wrong with the value and returns false; `out` is
  // only written when the value is good.
  bool expect(const Value& v, toml::value_t type, const std::string& key);
  bool read_string(const Value& v, const std::string& key, std::string& out);
  bool read_bool(const Value& v, const std::string& key, bool& out);
  template <typename T>
  bool read_integer(const Value& v, const std::string& key, const Limit& limit, T& out) {
    if (!expect(v, toml::value_t::integer, key)) return false;
    const std::int64_t value = v.as_integer();
    if (!in_range(value, key, limit, line_of(v))) return false;
    out = static_cast<T>(value);
    return true;
  }
  bool read_duration(const Value& v, const std::string& key, const Limit& limit, Millis& out);
  bool read_seconds(const Value& v, const std::string& key, const Limit& limit, Seconds& out);
  bool read_size(const Value& v, const std::string& key, const Limit& limit, std::uint64_t& out);
  bool read_string_array(const Value& v, const std::string& key, std::vector<Item>& out);
  /// Domain patterns, lower-cased. `any_allowed`: whether "*" (every domain) makes sense.
  bool read_domains(const Value& v, const std::string& key, bool any_allowed,
                    std::vector<std::string>& out, std::vector<Item>* items = nullptr);
  /// CIDR networks or single addresses; the good ones are appended to `out`.
  void read_networks(const Value& v, const std::string& key, std::vector<std::string>& out);
  /// The entries of a table of named tables ([policy.NAME]) in file order.
  std::vector<std::pair<std::string, const Value*>> named_tables(const Value& parent,
                                                                 const std::string& key);

  // Cross-entry state: name → line of first use, and every address bound so far.
  std::map<std::string, int> listener_names;
  std::map<std::string, int> route_names;
  BindRegistry binds;
  // "direction pattern" → name and line of the route that claimed it first.
  std::map<std::string, std::pair<std::string, int>> routed_domains;

 private:
  bool in_range(std::int64_t value, const std::string& key, const Limit& limit, int line);

  std::string file_;
  LineIndex lines_;
  Config config_;
  std::vector<Diagnostic> diagnostics_;
};

// --- rows for plain fields -----------------------------------------------------------------
// For Need::optional and Need::required rows: they read a value that is there.

template <typename T>
Reader<T> into_string(std::string T::*field) {
  return [field](Loader& l, const Field& f, T& t) { l.read_string(*f.value, f.key, t.*field); };
}

template <typename T>
Reader<T> into_bool(bool T::*field) {
  return [field](Loader& l, const Field& f, T& t) { l.read_bool(*f.value, f.key, t.*field); };
}

template <typename T, typename N>
Reader<T> into_integer(N T::*field, const Limit& limit) {
  return [field, &limit](Loader& l, const Field& f, T& t) { l.read_integer(*f.value, f.key, limit, t.*field); };
}

template <typename T>
Reader<T> into_duration(Millis T::*field, const Limit& limit) {
  return [field, &limit](Loader& l, const Field& f, T& t) { l.read_duration(*f.value, f.key, limit, t.*field); };
}

template <typename T>
Reader<T> into_seconds(Seconds T::*field, const Limit& limit) {
  return [field, &limit](Loader& l, const Field& f, T& t) { l.read_seconds(*f.value, f.key, limit, t.*field); };
}

template <typename T>
Reader<T> into_size(std::uint64_t T::*field, const Limit& limit) {
  return [field, &limit](Loader& l, const Field& f, T& t) { l.read_size(*f.value, f.key, limit, t.*field); };
}

/// A rate, "N/period" or "off" (conf/rate_syntax): listener and hop rate limits.
template <typename T>
Reader<T> into_rate(ListenerConfig::Rate T::*field) {
  return [field](Loader& l, const Field& f, T& t) {
    std::string text;
    if (!l.read_string(*f.value, f.key, text)) return;
    if (auto parsed = parse_rate(text)) {
      t.*field = *parsed;
    } else {
      l.error(f, "invalid rate " + quote(text) + ": " + parsed.error());
    }
  };
}

/// One of a fixed set of words, each standing for a value of Enum.
template <typename Enum, std::size_t N>
bool read_choice(Loader& loader, const Value& v, const std::string& key,
                 const std::array<std::pair<std::string_view, Enum>, N>& choices, Enum& out) {
  std::string text;
  if (!loader.read_string(v, key, text)) return false;
  std::string allowed;
  for (const auto& [name, value] : choices) {
    if (name == text) {
      out = value;
      return true;
    }
    allowed += (allowed.empty() ? "" : ", ") + quote(name);
  }
  loader.error(loader.line_of(v), key, quote(text) + " is not one of " + allowed);
  return false;
}

/// "inbound" or "outbound", for listeners and routes.
bool read_direction(Loader& loader, const Value& v, const std::string& key, Direction& out);

/// The top-level row of a single table such as [log]: checks that it is a table and reads
/// it with `keys` into config.*member.
template <typename T>
Reader<Config> table_into(T Config::*member, const Keys<T>& (*keys)()) {
  return [member, keys](Loader& l, const Field& f, Config& config) {
    if (l.expect(*f.value, toml::value_t::table, f.key)) read_keys(l, *f.value, f.key, keys(), config.*member);
  };
}

/// The top-level row of a table of named tables such as [hop.NAME]: each good entry is read
/// with `keys` and appended to config.*list, in file order, even when some of its keys are
/// bad (so what refers to it by name is not reported too).
template <typename T>
Reader<Config> named_tables_into(std::vector<T> Config::*list, const Keys<T>& (*keys)()) {
  return [list, keys](Loader& l, const Field& f, Config& config) {
    if (!l.expect(*f.value, toml::value_t::table, f.key)) return;
    for (const auto& [name, table] : l.named_tables(*f.value, f.key)) {
      T entry;
      entry.name = name;
      entry.line = l.line_of(*table);
      read_keys(l, *table, f.key + "." + name, keys(), entry);
      (config.*list).push_back(std::move(entry));
    }
  };
}

// --- the sections ----------------------------------------------------------------------------
// Each section file defines its key tables and, where table_into() or named_tables_into() do
// not do, the reader the top-level table (conf/load.cpp) calls with the section's value
// (null when absent: only for [relay] and [[listener]], which must be there).

// conf/load_service.cpp: [relay] [log] [queue] [delivery] [dns] [mta_sts] [bounce] [admin]
const Keys<RelayConfig>& relay_keys();
const Keys<LogConfig>& log_keys();
const Keys<QueueConfig>& queue_keys();
const Keys<DeliveryConfig>& delivery_keys();
const Keys<DnsConfig>& dns_keys();
/// [dns], then what the hops' TLS policies need of it (DANE: dnssec, MX hops only).
void read_dns(Loader& loader, const Field& f, Config& config);
const Keys<BounceConfig>& bounce_keys();
const Keys<MtaStsConfig>& mta_sts_keys();
/// conf/load_hop_route.cpp: a key naming an existing file, relative to the config file.
void read_config_file(Loader& l, const Field& f, std::string& out);
const Keys<AdminConfig>& admin_keys();
void read_relay(Loader& loader, const Field& f, Config& config);
void read_admin(Loader& loader, const Field& f, Config& config);

// conf/load_queue_backend.cpp: [queue] backend and node, [queue.postgresql]
const Keys<QueueConfig>& queue_backend_keys();
KeyTable queue_postgresql_key_table();
/// [queue], or only the node's default name when the table is absent.
void read_queue(Loader& loader, const Field& f, Config& config);

// conf/load_tracking.cpp: [tracking]
const Keys<TrackingConfig>& tracking_keys();
void read_tracking(Loader& loader, const Field& f, Config& config);

// conf/load_tls_reporting.cpp: [tls_reporting]
const Keys<TlsReportingConfig>& tls_reporting_keys();
void read_tls_reporting(Loader& loader, const Field& f, Config& config);

// conf/load_listener.cpp: [[listener]]
const Keys<ListenerConfig>& listener_keys();
// conf/load_milter.cpp: [milter.NAME]
const Keys<MilterConfig>& milter_keys();
void read_listeners(Loader& loader, const Field& f, Config& config);

// conf/load_policy.cpp: [policy.NAME], built from the rows of the three policy files
const Keys<PolicyConfig>& policy_keys();
// conf/load_verification.cpp: DNSBL and recipient verification keys of [policy.NAME]
struct ZoneEntry;
const Keys<PolicyConfig>& policy_verification_keys();
const Keys<ZoneEntry>& dnsbl_zone_keys();
// conf/load_policy_rules.cpp: access rule keys of [policy.NAME]
const Keys<PolicyConfig>& policy_rule_keys();
const Keys<PolicyConfig::SenderRestriction>& sender_restriction_keys();

// conf/load_hop_route.cpp: [hop.NAME] and [[route]]
struct RouteEntry;
struct RouteHopEntry;
const Keys<HopConfig>& hop_keys();
const Keys<RouteEntry>& route_keys();
const Keys<RouteHopEntry>& route_hop_keys();
void read_routes(Loader& loader, const Field& f, Config& config);

// conf/load_health.cpp: [path.NAME], the health keys of [hop.NAME], [alerts]
struct RunWindow;
struct CheckEntry;
const Keys<PathConfig>& path_keys();
const Keys<RunWindow>& down_after_keys();
const Keys<RunWindow>& up_after_keys();
const Keys<CheckEntry>& check_keys();
const Keys<MaintenanceWindow>& maintenance_keys();
const Keys<PathConfig>& hop_check_keys();
const Keys<HopConfig>& hop_health_keys();
/// initial_connections, max_message_rate, max_connection_rate, suspend_on (conf/load_hop_limits.cpp).
const Keys<HopConfig>& hop_limit_keys();
const Keys<AlertsConfig>& alerts_keys();

// conf/load_dkim.cpp: [dkim] (its own keys) and [dkim.NAME]
const Keys<DkimSigningConfig>& dkim_signing_keys();
const Keys<DkimConfig>& dkim_keys();
void read_dkim(Loader& loader, const Field& f, Config& config);

}  // namespace conf::reading
