// conf/load.cpp — hubrelay.toml text → validated conf::Config, every problem reported.
//
// Owns: walking the TOML document section by section, type checks, range checks against
// conf/limits.hpp, unknown-key detection, relative path resolution, and the checks that
// relate values to each other (listener → policy, route → hop, unique names, duplicate
// listener addresses, two routes claiming the same domain). Single values are judged by
// conf/validate.cpp.
// Errors: a Diagnostic per problem, with file, line and dotted key ("listener[1].bind[0]"),
// sorted by line; the walk never stops at the first problem. Exceptions from toml11 are
// caught here and never escape (a TOML syntax error is one Diagnostic: toml11 stops there).
// Never: logs, or reads anything but the one file in load_file().
#include "conf/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <toml.hpp>
#include <tuple>
#include <utility>
#include <vector>

#include "conf/address_pattern.hpp"  // issue 6
#include "conf/domain_pattern.hpp"
#include "conf/limits.hpp"
#include "conf/recipient_list.hpp"
#include "conf/rate_syntax.hpp"  // issue 6

namespace conf {

std::string Diagnostic::to_string() const {
  std::string out = file + ":" + std::to_string(line) + ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

namespace {

using Value = toml::value;

std::string describe(toml::value_t type) {
  switch (type) {
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a floating-point number";
    case toml::value_t::string:
      return "a string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
    case toml::value_t::local_date:
    case toml::value_t::local_time:
      return "a date or time";
    case toml::value_t::array:
      return "an array";
    case toml::value_t::table:
      return "a table";
    case toml::value_t::empty:
      break;
  }
  return "nothing";
}

/// Diagnostics are one line each; TOML keys and strings may hold any character.
std::string printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

/// A value echoed in a diagnostic, cut short so one absurd value cannot flood the output.
std::string quote(std::string_view text) {
  constexpr std::size_t max_echo = 80;
  if (text.size() <= max_echo) return "'" + printable(std::string(text)) + "'";
  return "'" + printable(std::string(text.substr(0, max_echo))) + "...'";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// Relative paths in the file are relative to the file's own directory, so the same file
/// works whatever the daemon's working directory is.
std::string resolve_path(const std::string& config_file, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  fs::path base = fs::path(config_file).parent_path();
  if (base.empty()) base = ".";
  std::error_code ec;
  const fs::path absolute_base = fs::absolute(base, ec);
  return ((ec ? base : absolute_base) / p).lexically_normal().string();
}

/// Line numbers by byte offset. toml11's value.location() recounts the newlines from the
/// start of the file on every call, which makes reading a large file quadratic.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') newlines_.push_back(i);
    }
  }

  int line_of(const Value& v) const {
    const auto* region = dynamic_cast<const toml::detail::region*>(toml::detail::get_region(v));
    if (region == nullptr || !region->is_ok()) return 0;  // a table toml11 made up
    const auto offset = static_cast<std::size_t>(region->first() - region->begin());
    const auto before = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
    return static_cast<int>(before - newlines_.begin()) + 1;
  }

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
  std::optional<BindUse> claim(const BindAddress& bind, const BindUse& use) {
    const bool v6 = bind.address.find(':') != std::string::npos;
    const bool wildcard = bind.address == "0.0.0.0" || bind.address == "::";
    const std::string port = std::to_string(bind.port);
    const std::string address_port = bind.address + " " + port;
    const std::string family_port = (v6 ? "6 " : "4 ") + port;
    std::optional<BindUse> earlier;
    if (const auto it = exact_.find(address_port); it != exact_.end()) {
      earlier = it->second;
    } else if (const auto w = wildcard_on_port_.find(family_port); w != wildcard_on_port_.end()) {
      earlier = w->second;
    } else if (const auto f = first_on_port_.find(family_port);
               wildcard && f != first_on_port_.end()) {
      earlier = f->second;
    }
    exact_.emplace(address_port, use);
    first_on_port_.emplace(family_port, use);
    if (wildcard) wildcard_on_port_.emplace(family_port, use);
    return earlier;
  }

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
          std::initializer_list<std::string_view> known);

  const Value* find(std::string_view key) const {
    const auto& table = table_.as_table();
    const auto it = table.find(std::string(key));
    return it == table.end() ? nullptr : &it->second;
  }
  /// Like find(), but a missing key is reported.
  const Value* require(std::string_view key) const;
  std::string key(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  int line() const { return line_; }

 private:
  Loader& loader_;
  const Value& table_;
  std::string path_;
  int line_ = 0;
};

class Loader {
 public:
  Loader(std::string file, std::string_view text) : file_(std::move(file)), lines_(text) {}

  void error(int line, std::string key, std::string message) {
    diagnostics_.push_back(
        Diagnostic{file_, line, printable(std::move(key)), printable(std::move(message))});
  }
  int line_of(const Value& v) const { return lines_.line_of(v); }

  LoadResult load(const Value& root);

  // Typed reads. Each reports what is wrong with the value and returns false; `out` is
  // only written when the value is good.
  bool expect(const Value& v, toml::value_t type, const std::string& key);
  bool read_string(const Value& v, const std::string& key, std::string& out);
  bool read_bool(const Value& v, const std::string& key, bool& out);
  template <typename T>
  bool read_integer(const Value& v, const std::string& key, const Limit& limit, T& out);
  bool read_duration(const Value& v, const std::string& key, const Limit& limit, Millis& out);
  bool read_seconds(const Value& v, const std::string& key, const Limit& limit, Seconds& out);
  bool read_size(const Value& v, const std::string& key, const Limit& limit, std::uint64_t& out);
  bool read_string_array(const Value& v, const std::string& key, std::vector<Item>& out);
  /// Domain patterns, lower-cased. `any_allowed`: whether "*" (every domain) makes sense.
  bool read_domains(const Value& v, const std::string& key, bool any_allowed,
                    std::vector<std::string>& out, std::vector<Item>* items = nullptr);

 private:
  bool in_range(std::int64_t value, const std::string& key, const Limit& limit, int line);
  /// The entries of a table of named tables ([policy.NAME]) in file order.
  std::vector<std::pair<std::string, const Value*>> named_tables(const Value& parent,
                                                                 const std::string& key);

  void read_relay(const Value& root);
  void read_log(const Value& root);
  void read_queue(const Value& root);
  void read_delivery(const Value& root);
  void read_policies(const Value& root);
  void read_hops(const Value& root);
  void read_listeners(const Value& root);
  void read_listener(const Value& table, const std::string& path);
  void read_listener_hardening(const Section& s, ListenerConfig& listener);
  void read_auth_users(const Value& v, const std::string& key, PolicyConfig& policy);
  void read_routes(const Value& root);
  void read_admin(const Value& root);
  void read_route(const Value& table, const std::string& path);
  void read_route_hop(const Value& v, const std::string& path, std::set<std::string>& seen,
                      RouteConfig& route);
  // Health (issue 5): [path.NAME], hop paths/check, [alerts]. See docs/health.md.
  void read_paths(const Value& root);
  void read_rules(const Section& s, HealthRules& rules);
  void read_check(const Value& v, const std::string& path, PathConfig& out);
  void read_window(const Value& v, const std::string& path, MaintenanceWindow& out);
  void read_hop_health(const Section& s, HopConfig& hop);
  void read_alerts(const Value& root);
  // Routing and delivery additions (issue 4), defined together near the end of the file.
  void read_hop_client(const Section& s, HopConfig& hop);
  void read_route_balance(const Section& s, RouteConfig& route);
  void read_dns(const Value& root);
  void read_bounce(const Value& root);
  // Issue 6: DNSBL and recipient verification keys of [policy.NAME] (load_verification.inc).
  void read_policy_verification(const Section& s, PolicyConfig& policy);
  // Issue 6: policy access rules and per-client listener limits (conf/load_policy_rules.inc).
  void read_policy_rules(const Section& s, PolicyConfig& policy);
  void read_listener_limits(const Section& s, ListenerConfig& listener);
  void read_cidr_list(const Value& v, const std::string& key, std::vector<std::string>& out);
  void read_address_patterns(const Value& v, const std::string& key, std::vector<std::string>& out);
  void read_sender_restrictions(const Value& v, const std::string& key, PolicyConfig& policy);

  std::string file_;
  LineIndex lines_;
  Config config_;
  std::vector<Diagnostic> diagnostics_;

  // Cross-entry state: name → line of first use.
  std::map<std::string, int> listener_names_;
  std::map<std::string, int> route_names_;
  BindRegistry binds_;
  // "direction pattern" → name and line of the route that claimed it first.
  std::map<std::string, std::pair<std::string, int>> routed_domains_;
};

Section::Section(Loader& loader, const Value& table, std::string path,
                 std::initializer_list<std::string_view> known)
    : loader_(loader), table_(table), path_(std::move(path)), line_(loader.line_of(table)) {
  std::vector<std::pair<int, std::string>> unknown;
  for (const auto& [name, value] : table.as_table()) {
    if (std::ranges::find(known, std::string_view(name)) == known.end()) {
      unknown.emplace_back(loader.line_of(value), name);
    }
  }
  std::ranges::sort(unknown);  // the table is unordered; keep the report deterministic
  for (const auto& [line, name] : unknown) loader.error(line, key(name), "unknown key");
}

const Value* Section::require(std::string_view name) const {
  const Value* v = find(name);
  if (v == nullptr) loader_.error(line_, key(name), "missing required key");
  return v;
}

bool Loader::expect(const Value& v, toml::value_t type, const std::string& key) {
  if (v.type() == type) return true;
  error(line_of(v), key, "expected " + describe(type) + ", found " + describe(v.type()));
  return false;
}

bool Loader::read_string(const Value& v, const std::string& key, std::string& out) {
  if (!expect(v, toml::value_t::string, key)) return false;
  out = v.as_string().str;
  return true;
}

bool Loader::read_bool(const Value& v, const std::string& key, bool& out) {
  if (!expect(v, toml::value_t::boolean, key)) return false;
  out = v.as_boolean();
  return true;
}

bool Loader::in_range(std::int64_t value, const std::string& key, const Limit& limit, int line) {
  if (value >= limit.min && value <= limit.max) return true;
  if (value == 0 && !limit.zero_means.empty()) return true;
  const std::string zero = limit.zero_means.empty() ? "" : "0 (" + std::string(limit.zero_means) + ") or ";
  error(line, key,
        "must be " + zero + "between " + format_limit_value(limit.kind, limit.min) + " and " +
            format_limit_value(limit.kind, limit.max) + " (got " +
            format_limit_value(limit.kind, value) + ")");
  return false;
}

template <typename T>
bool Loader::read_integer(const Value& v, const std::string& key, const Limit& limit, T& out) {
  if (!expect(v, toml::value_t::integer, key)) return false;
  const std::int64_t value = v.as_integer();
  if (!in_range(value, key, limit, line_of(v))) return false;
  out = static_cast<T>(value);
  return true;
}

bool Loader::read_duration(const Value& v, const std::string& key, const Limit& limit,
                           Millis& out) {
  std::expected<Millis, std::string> parsed;
  if (v.is_string()) {
    parsed = parse_duration(v.as_string().str);
  } else if (v.is_integer()) {
    parsed = parse_duration(std::to_string(v.as_integer()));
  } else {
    error(
        line_of(v), key,
        "expected a duration such as \"30s\" or a number of seconds, found " + describe(v.type()));
    return false;
  }
  if (!parsed) {
    error(line_of(v), key, parsed.error());
    return false;
  }
  if (!in_range(parsed->count(), key, limit, line_of(v))) return false;
  out = *parsed;
  return true;
}

bool Loader::read_seconds(const Value& v, const std::string& key, const Limit& limit,
                          Seconds& out) {
  Millis ms{};
  if (!read_duration(v, key, limit, ms)) return false;
  if (ms.count() % 1000 != 0) {
    error(line_of(v), key,
          "must be a whole number of seconds (got " +
              format_limit_value(LimitKind::duration, ms.count()) + ")");
    return false;
  }
  out = std::chrono::duration_cast<Seconds>(ms);
  return true;
}

bool Loader::read_size(const Value& v, const std::string& key, const Limit& limit,
                       std::uint64_t& out) {
  std::expected<std::uint64_t, std::string> parsed;
  if (v.is_string()) {
    parsed = parse_size(v.as_string().str);
  } else if (v.is_integer()) {
    parsed = parse_size(std::to_string(v.as_integer()));
  } else {
    error(line_of(v), key,
          "expected a size such as \"35MiB\" or a number of bytes, found " + describe(v.type()));
    return false;
  }
  if (!parsed) {
    error(line_of(v), key, parsed.error());
    return false;
  }
  constexpr auto signed_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto value = static_cast<std::int64_t>(std::min(*parsed, signed_max));
  if (!in_range(value, key, limit, line_of(v))) return false;
  out = *parsed;
  return true;
}

bool Loader::read_string_array(const Value& v, const std::string& key, std::vector<Item>& out) {
  if (!expect(v, toml::value_t::array, key)) return false;
  bool ok = true;
  const auto& array = v.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    Item item{.key = key + "[" + std::to_string(i) + "]", .line = line_of(array[i])};
    if (read_string(array[i], item.key, item.text)) {
      out.push_back(std::move(item));
    } else {
      ok = false;
    }
  }
  return ok;
}

bool Loader::read_domains(const Value& v, const std::string& key, bool any_allowed,
                          std::vector<std::string>& out, std::vector<Item>* items) {
  std::vector<Item> strings;
  bool ok = read_string_array(v, key, strings);
  for (Item& item : strings) {
    const auto pattern = DomainPattern::parse(item.text);
    if (!pattern) {
      error(item.line, item.key,
            "invalid domain pattern " + quote(item.text) +
                " (use \"example.com\", \"*.example.com\" or \"*\")");
      ok = false;
      continue;
    }
    if (!any_allowed && pattern->text() == "*") {
      // Accepting every domain from anyone is an open relay; DESIGN: never.
      error(item.line, item.key,
            "'*' is not allowed here: it would accept mail for every domain from anyone "
            "(an open relay)");
      ok = false;
      continue;
    }
    item.text = pattern->text();
    out.push_back(item.text);
    if (items != nullptr) items->push_back(std::move(item));
  }
  return ok;
}

std::vector<std::pair<std::string, const Value*>> Loader::named_tables(const Value& parent,
                                                                       const std::string& key) {
  std::vector<std::tuple<int, std::string, const Value*>> entries;
  for (const auto& [name, value] : parent.as_table()) {
    entries.emplace_back(line_of(value), name, &value);
  }
  std::ranges::sort(entries, [](const auto& a, const auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
  });
  std::vector<std::pair<std::string, const Value*>> out;
  for (const auto& [line, name, value] : entries) {
    const std::string path = key + "." + name;
    if (!is_name(name)) {
      error(line, path,
            "invalid name " + quote(name) + ": use 1 to 64 letters, digits, '-' or '_'");
    }
    if (expect(*value, toml::value_t::table, path)) out.emplace_back(name, value);
  }
  return out;
}

// --- [relay] [log] [queue] [delivery] ------------------------------------------------------

void Loader::read_relay(const Value& root) {
  const Value* table = root.as_table().contains("relay") ? &root.as_table().at("relay") : nullptr;
  if (table == nullptr) {
    error(0, "relay.hostname", "missing required key (add a [relay] table with hostname = ...)");
    return;
  }
  if (!expect(*table, toml::value_t::table, "relay")) return;
  Section s(*this, *table, "relay", {"hostname", "state_dir", "accepted_domains", "user"});
  RelayConfig& relay = config_.relay;

  if (const Value* v = s.require("hostname")) {
    std::string hostname;
    if (read_string(*v, s.key("hostname"), hostname)) {
      if (hostname.empty()) {
        error(line_of(*v), s.key("hostname"), "must not be empty");
      } else if (!is_hostname(hostname)) {
        error(line_of(*v), s.key("hostname"),
              quote(hostname) + " is not a valid host name (RFC 1123)");
      } else {
        relay.hostname = hostname;
      }
    }
  }
  if (const Value* v = s.find("state_dir")) {
    std::string dir;
    if (read_string(*v, s.key("state_dir"), dir)) {
      if (dir.empty()) {
        error(line_of(*v), s.key("state_dir"), "must not be empty");
      } else {
        relay.state_dir = dir;
      }
    }
  }
  relay.state_dir = resolve_path(file_, relay.state_dir);
  if (const Value* v = s.find("accepted_domains")) {
    read_domains(*v, s.key("accepted_domains"), false, relay.accepted_domains);
  }
  if (const Value* v = s.find("user")) read_string(*v, s.key("user"), relay.user);
}

void Loader::read_log(const Value& root) {
  if (!root.as_table().contains("log")) return;
  const Value& table = root.as_table().at("log");
  if (!expect(table, toml::value_t::table, "log")) return;
  Section s(*this, table, "log", {"level", "file", "max_size", "max_files", "syslog"});
  if (const Value* v = s.find("level")) {
    constexpr std::array<std::string_view, 7> levels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};
    std::string level;
    if (read_string(*v, s.key("level"), level)) {
      if (std::ranges::find(levels, level) == levels.end()) {
        error(line_of(*v), s.key("level"),
              "unknown level " + quote(level) +
                  " (use trace, debug, info, warn, error, critical or off)");
      } else {
        config_.log.level = level;
      }
    }
  }
  if (const Value* v = s.find("file")) {
    std::string file;
    if (read_string(*v, s.key("file"), file) && !file.empty()) {
      config_.log.file = resolve_path(file_, file);
    }
  }
  if (const Value* v = s.find("max_size")) read_size(*v, s.key("max_size"), limits::log_max_size, config_.log.max_size);
  if (const Value* v = s.find("max_files")) {
    read_integer(*v, s.key("max_files"), limits::log_max_files, config_.log.max_files);
  }
  if (const Value* v = s.find("syslog")) {
    read_bool(*v, s.key("syslog"), config_.log.syslog);
    if (config_.log.syslog && !config_.log.file.empty()) {
      error(line_of(*v), s.key("syslog"), "syslog = true and a log file are exclusive; choose one");
    }
  }
}

// --- [admin] (issue 7) ----------------------------------------------------------------------

void Loader::read_admin(const Value& root) {
  if (!root.as_table().contains("admin")) return;
  const Value& table = root.as_table().at("admin");
  if (!expect(table, toml::value_t::table, "admin")) return;
  Section s(*this, table, "admin", {"listen", "token"});
  AdminConfig& admin = config_.admin;
  admin.line = line_of(table);
  if (const Value* v = s.require("listen")) {
    std::string text;
    if (read_string(*v, s.key("listen"), text)) {
      auto bind = parse_bind_address(text);
      if (!bind) {
        error(line_of(*v), s.key("listen"), bind.error());
      } else if (binds_.claim(*bind, BindUse{s.key("listen"), line_of(*v)})) {
        error(line_of(*v), s.key("listen"), "address " + quote(text) + " is already used by a listener");
      } else {
        admin.listen = *bind;
        admin.enabled = true;
      }
    }
  }
  if (const Value* v = s.find("token")) read_string(*v, s.key("token"), admin.token);
}

void Loader::read_queue(const Value& root) {
  if (!root.as_table().contains("queue")) return;
  const Value& table = root.as_table().at("queue");
  if (!expect(table, toml::value_t::table, "queue")) return;
  Section s(*this, table, "queue",
            {"lifetime", "retry_schedule", "group_commit_max_batch", "delay_notice"});
  QueueConfig& queue = config_.queue;

  if (const Value* v = s.find("lifetime")) {
    Millis lifetime{};
    if (read_duration(*v, s.key("lifetime"), limits::queue_lifetime, lifetime)) {
      queue.lifetime = std::chrono::ceil<std::chrono::hours>(lifetime);
    }
  }
  if (const Value* v = s.find("retry_schedule")) {
    const std::string key = s.key("retry_schedule");
    if (expect(*v, toml::value_t::array, key)) {
      const auto& array = v->as_array();
      if (array.empty()) {
        error(line_of(*v), key, "must list at least one delay");
      } else if (array.size() > limits::queue_retry_schedule_max_entries) {
        error(line_of(*v), key,
              "must list at most " + std::to_string(limits::queue_retry_schedule_max_entries) +
                  " delays (the last one repeats)");
      } else {
        std::vector<Seconds> schedule;
        for (std::size_t i = 0; i < array.size(); ++i) {
          Seconds delay{};
          if (read_seconds(array[i], key + "[" + std::to_string(i) + "]", limits::queue_retry_delay,
                           delay)) {
            schedule.push_back(delay);
          }
        }
        if (schedule.size() == array.size()) queue.retry_schedule = std::move(schedule);
      }
    }
  }
  if (const Value* v = s.find("group_commit_max_batch")) {
    read_integer(*v, s.key("group_commit_max_batch"), limits::queue_group_commit_max_batch,
                 queue.group_commit_max_batch);
  }
  if (const Value* v = s.find("delay_notice")) {
    read_seconds(*v, s.key("delay_notice"), limits::queue_delay_notice, queue.delay_notice);
  }
}

void Loader::read_delivery(const Value& root) {
  if (!root.as_table().contains("delivery")) return;
  const Value& table = root.as_table().at("delivery");
  if (!expect(table, toml::value_t::table, "delivery")) return;
  Section s(*this, table, "delivery",
            {"helo_name", "connect_timeout", "command_timeout", "data_timeout", "hop_backoff",
             "idle_timeout", "max_in_flight"});
  DeliveryConfig& delivery = config_.delivery;

  if (const Value* v = s.find("helo_name")) {
    std::string name;
    if (read_string(*v, s.key("helo_name"), name)) {
      if (!name.empty() && !is_hostname(name)) {
        error(line_of(*v), s.key("helo_name"),
              quote(name) + " is not a valid host name (RFC 1123)");
      } else {
        delivery.helo_name = name;
      }
    }
  }
  const std::array<std::tuple<std::string_view, const Limit*, Seconds*>, 5> timeouts{{
      {"connect_timeout", &limits::delivery_connect_timeout, &delivery.connect_timeout},
      {"command_timeout", &limits::delivery_command_timeout, &delivery.command_timeout},
      {"data_timeout", &limits::delivery_data_timeout, &delivery.data_timeout},
      {"hop_backoff", &limits::delivery_hop_backoff, &delivery.hop_backoff},
      {"idle_timeout", &limits::delivery_idle_timeout, &delivery.idle_timeout},
  }};
  for (const auto& [name, limit, field] : timeouts) {
    if (const Value* v = s.find(name)) read_seconds(*v, s.key(name), *limit, *field);
  }
  if (const Value* v = s.find("max_in_flight")) {
    read_integer(*v, s.key("max_in_flight"), limits::delivery_max_in_flight,
                 delivery.max_in_flight);
  }
}

// --- [policy.NAME] [hop.NAME] --------------------------------------------------------------

void Loader::read_policies(const Value& root) {
  if (!root.as_table().contains("policy")) return;
  const Value& parent = root.as_table().at("policy");
  if (!expect(parent, toml::value_t::table, "policy")) return;
  for (const auto& [name, table] : named_tables(parent, "policy")) {
    Section s(*this, *table, "policy." + name,
              {"trusted_networks", "accepted_domains", "require_trusted", "auth_users",
               // issue 6: DNSBL and recipient verification (conf/load_verification.inc)
               "dnsbl", "dnsbl_check", "dnsbl_timeout", "dnsbl_min_ttl", "dnsbl_max_ttl", "valid_recipients",
               "valid_recipients_file", "recipient_callout", "callout_sender", "callout_timeout",
               "callout_positive_ttl", "callout_negative_ttl", "callout_on_failure", "callout_cache_size",
               // Issue 6 keys (read by read_policy_rules).
               "client_networks", "own_domains", "reject_spoofed_senders", "sender_allow", "sender_deny",
               "recipient_allow", "recipient_deny", "helo_required_fqdn", "helo_reject_own_name",
               "allowed_sender_domains", "sender_restriction"});
    PolicyConfig policy{.name = name, .line = s.line()};
    if (const Value* v = s.find("trusted_networks")) {
      std::vector<Item> networks;
      read_string_array(*v, s.key("trusted_networks"), networks);
      for (Item& network : networks) {
        if (auto checked = check_cidr(network.text); !checked) {
          error(network.line, network.key, checked.error());
        } else {
          policy.trusted_networks.push_back(std::move(network.text));
        }
      }
    }
    if (const Value* v = s.find("accepted_domains")) {
      read_domains(*v, s.key("accepted_domains"), false, policy.accepted_domains);
    }
    if (const Value* v = s.find("require_trusted")) {
      read_bool(*v, s.key("require_trusted"), policy.require_trusted);
    }
    if (const Value* v = s.find("auth_users")) read_auth_users(*v, s.key("auth_users"), policy);
    read_policy_verification(s, policy);  // issue 6
    read_policy_rules(s, policy);
    // Kept even when broken so listeners naming it are not also reported.
    config_.policies.push_back(std::move(policy));
  }
}

void Loader::read_hops(const Value& root) {
  if (!root.as_table().contains("hop")) return;
  const Value& parent = root.as_table().at("hop");
  if (!expect(parent, toml::value_t::table, "hop")) return;
  for (const auto& [name, table] : named_tables(parent, "hop")) {
    Section s(*this, *table, "hop." + name,
              {"host", "port", "max_connections", "max_messages_per_connection", "paths", "check",
               "type", "tls", "tls_ca_file", "tls_cert_file", "tls_key_file", "auth_user", "auth_password",
               "auth_password_file", "source_address", "connect_timeout", "command_timeout"});
    HopConfig hop{.name = name, .line = s.line()};
    read_hop_client(s, hop);
    if (hop.mx && !s.find("host")) {
      // type = "mx" needs no host.
    } else if (const Value* v = s.require("host")) {
      std::string host;
      if (read_string(*v, s.key("host"), host)) {
        if (!is_ip_literal(host) && !is_hostname(host)) {
          error(line_of(*v), s.key("host"),
                quote(host) + " is neither an IP address nor a valid host name");
        } else {
          hop.host = host;
          if (host == "mx") hop.mx = true;
        }
      }
    }
    if (const Value* v = s.find("port")) {
      read_integer(*v, s.key("port"), limits::hop_port, hop.port);
    }
    if (const Value* v = s.find("max_connections")) {
      read_integer(*v, s.key("max_connections"), limits::hop_max_connections, hop.max_connections);
    }
    if (const Value* v = s.find("max_messages_per_connection")) {
      read_integer(*v, s.key("max_messages_per_connection"),
                   limits::hop_max_messages_per_connection, hop.max_messages_per_connection);
    }
    read_hop_health(s, hop);
    config_.hops.push_back(std::move(hop));
  }
}

// --- [[listener]] --------------------------------------------------------------------------

std::string defined_names(const std::vector<std::string>& names, std::string_view table) {
  if (names.empty()) return " (no [" + std::string(table) + ".NAME] tables are defined)";
  return " (defined: " + joined(names) + ")";
}

bool read_direction(Loader& loader, const Value& v, const std::string& key, Direction& out) {
  std::string text;
  if (!loader.read_string(v, key, text)) return false;
  if (text == "inbound") {
    out = Direction::inbound;
  } else if (text == "outbound") {
    out = Direction::outbound;
  } else {
    loader.error(loader.line_of(v), key,
                 "unknown direction " + quote(text) + " (use \"inbound\" or \"outbound\")");
    return false;
  }
  return true;
}

void Loader::read_listeners(const Value& root) {
  const auto& top = root.as_table();
  if (!top.contains("listener")) {
    error(0, "listener", "at least one [[listener]] table is required");
    return;
  }
  const Value& listeners = top.at("listener");
  if (!listeners.is_array()) {
    error(line_of(listeners), "listener",
          "expected an array of tables ([[listener]]), found " + describe(listeners.type()));
    return;
  }
  if (listeners.as_array().empty()) {
    error(line_of(listeners), "listener", "at least one [[listener]] table is required");
  }
  const auto& array = listeners.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = "listener[" + std::to_string(i) + "]";
    if (!expect(array[i], toml::value_t::table, path)) continue;
    read_listener(array[i], path);
  }
}

void Loader::read_listener(const Value& table, const std::string& path) {
  Section s(*this, table, path,
            {"name", "direction", "bind", "policy", "max_message_size", "max_recipients",
             "max_connections", "max_errors", "command_timeout", "data_timeout",
             "session_timeout",
             // Issue 3 keys (read by read_listener_hardening).
             "tls", "tls_certificate", "tls_key", "bare_line_endings", "greeting_delay",
             "max_header_size", "auth", "auth_plaintext_trusted", "proxy_protocol", "proxy_from",
             // Issue 6 keys (read by read_listener_limits).
             "max_connections_per_client", "connection_rate", "message_rate", "recipient_rate",
             "limits_exempt_trusted"});
  ListenerConfig listener{.line = s.line()};

  if (const Value* v = s.require("name")) {
    if (read_string(*v, s.key("name"), listener.name)) {
      if (!is_name(listener.name)) {
        error(line_of(*v), s.key("name"),
              "invalid name " + quote(listener.name) + ": use 1 to 64 letters, digits, '-' or '_'");
      } else if (const auto [it, added] = listener_names_.emplace(listener.name, line_of(*v));
                 !added) {
        error(line_of(*v), s.key("name"),
              "duplicate listener name " + quote(listener.name) + " (first used on line " +
                  std::to_string(it->second) + ")");
      }
    }
  }
  if (const Value* v = s.require("direction")) {
    read_direction(*this, *v, s.key("direction"), listener.direction);
  }
  if (const Value* v = s.require("bind")) {
    std::vector<Item> binds;
    if (read_string_array(*v, s.key("bind"), binds) && binds.empty()) {
      error(line_of(*v), s.key("bind"), "must list at least one \"ip:port\" address");
    }
    for (const Item& item : binds) {
      auto bind = parse_bind_address(item.text);
      if (!bind) {
        error(item.line, item.key, bind.error());
        continue;
      }
      if (const auto earlier = binds_.claim(*bind, BindUse{item.key, item.line})) {
        error(item.line, item.key,
              "address " + quote(item.text) + " is already used by " + earlier->key + " (line " +
                  std::to_string(earlier->line) + ")");
      }
      listener.bind.push_back(std::move(*bind));
    }
  }
  if (const Value* v = s.require("policy")) {
    if (read_string(*v, s.key("policy"), listener.policy) &&
        config_.find_policy(listener.policy) == nullptr) {
      std::vector<std::string> known;
      for (const auto& p : config_.policies) known.push_back(p.name);
      error(line_of(*v), s.key("policy"),
            "unknown policy " + quote(listener.policy) + defined_names(known, "policy"));
    }
  }
  if (const Value* v = s.find("max_message_size")) {
    read_size(*v, s.key("max_message_size"), limits::listener_max_message_size,
              listener.max_message_size);
  }
  const std::array<std::tuple<std::string_view, const Limit*, std::uint32_t*>, 3> counts{{
      {"max_recipients", &limits::listener_max_recipients, &listener.max_recipients},
      {"max_connections", &limits::listener_max_connections, &listener.max_connections},
      {"max_errors", &limits::listener_max_errors, &listener.max_errors},
  }};
  for (const auto& [name, limit, field] : counts) {
    if (const Value* v = s.find(name)) read_integer(*v, s.key(name), *limit, *field);
  }
  const std::array<std::tuple<std::string_view, const Limit*, Seconds*>, 3> timeouts{{
      {"command_timeout", &limits::listener_command_timeout, &listener.timeouts.command},
      {"data_timeout", &limits::listener_data_timeout, &listener.timeouts.data_block},
      {"session_timeout", &limits::listener_session_timeout, &listener.timeouts.session_total},
  }};
  for (const auto& [name, limit, field] : timeouts) {
    if (const Value* v = s.find(name)) read_seconds(*v, s.key(name), *limit, *field);
  }
  read_listener_hardening(s, listener);
  read_listener_limits(s, listener);
  config_.listeners.push_back(std::move(listener));
}

// Issue 3: TLS, line-ending policy, early talkers, header cap. Certificate files are
// checked for existence here so check-config catches a typo; their content is judged
// when the TLS context is built at start-up (relay/tls_context).
void Loader::read_listener_hardening(const Section& s, ListenerConfig& listener) {
  if (const Value* v = s.find("tls")) {
    std::string text;
    if (read_string(*v, s.key("tls"), text)) {
      if (text == "off") {
        listener.tls = ListenerTls::off;
      } else if (text == "offered") {
        listener.tls = ListenerTls::offered;
      } else if (text == "required") {
        listener.tls = ListenerTls::required;
      } else if (text == "implicit") {
        listener.tls = ListenerTls::implicit;
      } else {
        error(line_of(*v), s.key("tls"),
              "unknown TLS mode " + quote(text) + " (use \"off\", \"offered\", \"required\" or \"implicit\")");
      }
    }
  }
  const std::array<std::pair<std::string_view, std::string*>, 2> files{{
      {"tls_certificate", &listener.tls_certificate},
      {"tls_key", &listener.tls_key},
  }};
  for (const auto& [name, field] : files) {
    const Value* v = s.find(name);
    if (v == nullptr) {
      if (listener.tls != ListenerTls::off) error(s.line(), s.key(name), "required when tls is not \"off\"");
      continue;
    }
    if (!read_string(*v, s.key(name), *field)) continue;
    *field = resolve_path(file_, *field);  // like every other path: relative to this file
    std::error_code ec;
    if (!std::filesystem::is_regular_file(*field, ec)) {
      error(line_of(*v), s.key(name), "no such file " + quote(*field));
    }
  }
  if (const Value* v = s.find("bare_line_endings")) {
    std::string text;
    if (read_string(*v, s.key("bare_line_endings"), text)) {
      if (text == "normalize" || text == "reject") {
        listener.reject_bare_line_endings = text == "reject";
      } else {
        error(line_of(*v), s.key("bare_line_endings"),
              "unknown value " + quote(text) + " (use \"normalize\" or \"reject\")");
      }
    }
  }
  if (const Value* v = s.find("greeting_delay")) {
    read_duration(*v, s.key("greeting_delay"), limits::listener_greeting_delay, listener.greeting_delay);
  }
  if (const Value* v = s.find("max_header_size")) {
    read_size(*v, s.key("max_header_size"), limits::listener_max_header_size, listener.max_header_size);
  }
  if (const Value* v = s.find("auth")) read_bool(*v, s.key("auth"), listener.auth);
  if (const Value* v = s.find("proxy_protocol")) read_bool(*v, s.key("proxy_protocol"), listener.proxy_protocol);
  if (const Value* v = s.find("proxy_from")) {
    std::vector<Item> networks;
    read_string_array(*v, s.key("proxy_from"), networks);
    for (Item& network : networks) {
      if (auto checked = check_cidr(network.text); !checked) {
        error(network.line, network.key, checked.error());
      } else {
        listener.proxy_from.push_back(std::move(network.text));
      }
    }
  }
  if (listener.proxy_protocol && listener.proxy_from.empty()) {
    error(s.line(), s.key("proxy_from"), "required when proxy_protocol = true (the load balancers' addresses)");
  }
  if (const Value* v = s.find("auth_plaintext_trusted")) {
    read_bool(*v, s.key("auth_plaintext_trusted"), listener.auth_plaintext_trusted);
  }
}

// auth_users = { alice = "$pbkdf2-sha256$600000$SALT$KEY" }. Only the shape is checked
// here; policy::parse_password_hash judges the numbers when the policy is compiled.
void Loader::read_auth_users(const Value& v, const std::string& key, PolicyConfig& policy) {
  if (!expect(v, toml::value_t::table, key)) return;
  for (const auto& [name, secret] : v.as_table()) {
    const std::string user_key = key + "." + name;
    std::string text;
    if (!read_string(secret, user_key, text)) continue;
    if (name.empty() || name.size() > 256) {
      error(line_of(secret), user_key, "user names are 1 to 256 characters");
    } else if (!text.starts_with("$pbkdf2-sha256$") || std::ranges::count(text, '$') != 4) {
      // Never echo the value: it may be a plaintext password pasted by mistake.
      error(line_of(secret), user_key, "expected a hash from `hubrelay hash-password` (\"$pbkdf2-sha256$...\")");
    } else {
      policy.auth_users.push_back(PolicyConfig::AuthUser{name, std::move(text), line_of(secret)});
    }
  }
}

// --- [[route]] -----------------------------------------------------------------------------

void Loader::read_routes(const Value& root) {
  const auto& top = root.as_table();
  if (!top.contains("route")) return;
  const Value& routes = top.at("route");
  if (!routes.is_array()) {
    error(line_of(routes), "route",
          "expected an array of tables ([[route]]), found " + describe(routes.type()));
    return;
  }
  const auto& array = routes.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string path = "route[" + std::to_string(i) + "]";
    if (!expect(array[i], toml::value_t::table, path)) continue;
    read_route(array[i], path);
  }
}

void Loader::read_route(const Value& table, const std::string& path) {
  Section s(*this, table, path,
            {"name", "direction", "domains", "hops", "balance", "when_all_down"});
  RouteConfig route{.line = s.line()};

  if (const Value* v = s.require("name")) {
    if (read_string(*v, s.key("name"), route.name)) {
      if (!is_name(route.name)) {
        error(line_of(*v), s.key("name"),
              "invalid name " + quote(route.name) + ": use 1 to 64 letters, digits, '-' or '_'");
      } else if (const auto [it, added] = route_names_.emplace(route.name, line_of(*v)); !added) {
        error(line_of(*v), s.key("name"),
              "duplicate route name " + quote(route.name) + " (first used on line " +
                  std::to_string(it->second) + ")");
      }
    }
  }
  const Value* direction = s.require("direction");
  const bool direction_ok = direction != nullptr &&
                            read_direction(*this, *direction, s.key("direction"), route.direction);

  if (const Value* v = s.require("domains")) {
    std::vector<Item> items;
    if (read_domains(*v, s.key("domains"), true, route.domains, &items) && items.empty() &&
        v->as_array().empty()) {
      error(line_of(*v), s.key("domains"), "must list at least one domain pattern");
    }
    std::set<std::string> in_route;
    for (const Item& item : items) {
      std::string normal = item.text;
      if (normal.size() > 1 && normal.back() == '.') normal.pop_back();  // matching ignores it
      if (!in_route.insert(normal).second) {
        error(item.line, item.key, "domain pattern " + quote(item.text) + " is listed twice");
        continue;
      }
      if (!direction_ok) continue;
      const std::string claim = std::string(to_string(route.direction)) + " " + normal;
      const auto [it, added] = routed_domains_.emplace(claim, std::pair{route.name, item.line});
      if (!added) {
        // Which route wins would depend on file order: refuse instead of guessing.
        error(item.line, item.key,
              "domain pattern " + quote(item.text) + " for " + to_string(route.direction) +
                  " mail is already routed by route " + quote(it->second.first) + " (line " +
                  std::to_string(it->second.second) + ")");
      }
    }
  }
  if (const Value* v = s.require("hops")) {
    const std::string key = s.key("hops");
    if (expect(*v, toml::value_t::array, key)) {
      const auto& array = v->as_array();
      if (array.empty()) error(line_of(*v), key, "must list at least one hop");
      std::set<std::string> seen;
      for (std::size_t i = 0; i < array.size(); ++i) {
        read_route_hop(array[i], key + "[" + std::to_string(i) + "]", seen, route);
      }
    }
  }
  read_route_balance(s, route);
  config_.routes.push_back(std::move(route));
}

void Loader::read_route_hop(const Value& v, const std::string& path, std::set<std::string>& seen,
                            RouteConfig& route) {
  if (!v.is_table()) {
    error(line_of(v), path,
          "expected a table such as { hop = \"NAME\", cost = 10, weight = 1 }, found " +
              describe(v.type()));
    return;
  }
  Section s(*this, v, path, {"hop", "cost", "weight"});
  RouteHop hop;
  if (const Value* name = s.require("hop")) {
    if (read_string(*name, s.key("hop"), hop.hop)) {
      if (config_.find_hop(hop.hop) == nullptr) {
        std::vector<std::string> known;
        for (const auto& h : config_.hops) known.push_back(h.name);
        error(line_of(*name), s.key("hop"),
              "unknown hop " + quote(hop.hop) + defined_names(known, "hop"));
      } else if (!seen.insert(hop.hop).second) {
        error(line_of(*name), s.key("hop"),
              "hop " + quote(hop.hop) + " is listed twice in this route");
      }
    }
  }
  if (const Value* cost = s.find("cost")) {
    read_integer(*cost, s.key("cost"), limits::route_hop_cost, hop.cost);
  }
  if (const Value* weight = s.find("weight")) {
    read_integer(*weight, s.key("weight"), limits::route_hop_weight, hop.weight);
  }
  route.hops.push_back(std::move(hop));
}

#include "conf/load_health.cpp"  // NOLINT(bugprone-suspicious-include): compiled into this unit for now
#include "conf/load_verification.cpp"  // NOLINT(bugprone-suspicious-include)
#include "conf/load_policy_rules.cpp"  // NOLINT(bugprone-suspicious-include)
// --- routing and delivery additions (issue 4): hop client settings, balance, [dns], [bounce] --

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

void Loader::read_hop_client(const Section& s, HopConfig& hop) {
  if (const Value* v = s.find("type")) {
    std::string type;
    if (read_string(*v, s.key("type"), type)) {
      if (type == "mx") hop.mx = true;
      else if (type != "smarthost") error(line_of(*v), s.key("type"), quote(type) + " is not \"smarthost\" or \"mx\"");
    }
  }
  if (const Value* v = s.find("tls")) {
    static constexpr std::array<std::pair<std::string_view, TlsPolicy>, 4> policies{{
        {"none", TlsPolicy::none},
        {"opportunistic", TlsPolicy::opportunistic},
        {"required", TlsPolicy::required},
        {"verify", TlsPolicy::verify},
    }};
    read_choice(*this, *v, s.key("tls"), policies, hop.tls);
  }
  const std::array<std::pair<std::string_view, std::string*>, 3> files{{
      {"tls_ca_file", &hop.tls_ca_file},
      {"tls_cert_file", &hop.tls_cert_file},
      {"tls_key_file", &hop.tls_key_file},
  }};
  for (const auto& [name, field] : files) {
    if (const Value* v = s.find(name)) {
      std::string path;
      if (read_string(*v, s.key(name), path)) {
        path = resolve_path(file_, path);
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec)) {
          error(line_of(*v), s.key(name), "cannot read file " + quote(path));
        } else {
          *field = path;
        }
      }
    }
  }
  if (hop.tls_cert_file.empty() != hop.tls_key_file.empty()) {
    error(s.line(), s.key("tls_cert_file"), "tls_cert_file and tls_key_file go together");
  }
  if (const Value* v = s.find("auth_user")) read_string(*v, s.key("auth_user"), hop.auth_user);
  if (const Value* v = s.find("auth_password")) {
    read_string(*v, s.key("auth_password"), hop.auth_password);
  }
  if (const Value* v = s.find("auth_password_file")) {
    std::string path;
    if (read_string(*v, s.key("auth_password_file"), path)) {
      path = resolve_path(file_, path);
      std::ifstream in(path, std::ios::binary);
      std::string secret;
      if (!in || !std::getline(in, secret)) {
        error(line_of(*v), s.key("auth_password_file"), "cannot read file " + quote(path));
      } else {
        while (!secret.empty() && (secret.back() == '\r' || secret.back() == '\n')) secret.pop_back();
        hop.auth_password = std::move(secret);
      }
    }
  }
  if (!hop.auth_user.empty() && hop.auth_password.empty()) {
    error(s.line(), s.key("auth_user"), "needs auth_password or auth_password_file");
  }
  if (const Value* v = s.find("source_address")) {
    std::string address;
    if (read_string(*v, s.key("source_address"), address)) {
      if (!is_ip_literal(address)) {
        error(line_of(*v), s.key("source_address"), quote(address) + " is not an IP address");
      } else {
        hop.source_address = address;
      }
    }
  }
  if (const Value* v = s.find("connect_timeout")) {
    read_seconds(*v, s.key("connect_timeout"), limits::hop_connect_timeout, hop.connect_timeout);
  }
  if (const Value* v = s.find("command_timeout")) {
    read_seconds(*v, s.key("command_timeout"), limits::hop_command_timeout, hop.command_timeout);
  }
}

void Loader::read_route_balance(const Section& s, RouteConfig& route) {
  if (const Value* v = s.find("balance")) {
    static constexpr std::array<std::pair<std::string_view, RouteConfig::Balance>, 2> choices{{
        {"weighted_round_robin", RouteConfig::Balance::weighted_round_robin},
        {"least_outstanding", RouteConfig::Balance::least_outstanding},
    }};
    read_choice(*this, *v, s.key("balance"), choices, route.balance);
  }
  if (const Value* v = s.find("when_all_down")) {
    static constexpr std::array<std::pair<std::string_view, RouteConfig::WhenAllDown>, 2> choices{{
        {"queue", RouteConfig::WhenAllDown::queue},
        {"try_anyway", RouteConfig::WhenAllDown::try_anyway},
    }};
    read_choice(*this, *v, s.key("when_all_down"), choices, route.when_all_down);
  }
}

void Loader::read_dns(const Value& root) {
  if (!root.as_table().contains("dns")) return;
  const Value& table = root.as_table().at("dns");
  if (!expect(table, toml::value_t::table, "dns")) return;
  Section s(*this, table, "dns", {"servers", "hosts", "timeout"});
  if (const Value* v = s.find("servers")) {
    std::vector<Item> servers;
    read_string_array(*v, s.key("servers"), servers);
    for (Item& server : servers) {
      // "ip" or "ip:port" / "[v6]:port"; c-ares takes the same csv syntax.
      const bool ok = is_ip_literal(server.text) || parse_bind_address(server.text).has_value();
      if (!ok) error(server.line, server.key, quote(server.text) + " is not an IP address or ip:port");
      else config_.dns.servers.push_back(std::move(server.text));
    }
  }
  if (const Value* v = s.find("hosts")) {
    if (expect(*v, toml::value_t::table, s.key("hosts"))) {
      for (const auto& [name, addresses] : v->as_table()) {
        const std::string key = s.key("hosts") + "." + name;
        if (!is_hostname(name)) {
          error(line_of(addresses), key, quote(name) + " is not a valid host name");
          continue;
        }
        std::vector<Item> items;
        read_string_array(addresses, key, items);
        std::vector<std::string> list;
        for (Item& item : items) {
          if (!is_ip_literal(item.text)) error(item.line, item.key, quote(item.text) + " is not an IP address");
          else list.push_back(std::move(item.text));
        }
        if (items.empty()) error(line_of(addresses), key, "must list at least one address");
        std::string lower = name;
        for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        config_.dns.hosts.emplace_back(std::move(lower), std::move(list));
      }
      std::ranges::sort(config_.dns.hosts);  // the table is unordered; keep it deterministic
    }
  }
  if (const Value* v = s.find("timeout")) read_seconds(*v, s.key("timeout"), limits::dns_timeout, config_.dns.timeout);
}

void Loader::read_bounce(const Value& root) {
  if (!root.as_table().contains("bounce")) return;
  const Value& table = root.as_table().at("bounce");
  if (!expect(table, toml::value_t::table, "bounce")) return;
  Section s(*this, table, "bounce", {"from", "text", "lifetime"});
  if (const Value* v = s.find("from")) {
    std::string from;
    if (read_string(*v, s.key("from"), from)) {
      if (from.find('@') == std::string::npos || from.find_first_of("<> \r\n") != std::string::npos) {
        error(line_of(*v), s.key("from"), quote(from) + " is not an address such as MAILER-DAEMON@relay.example");
      } else {
        config_.bounce.from = from;
      }
    }
  }
  if (const Value* v = s.find("text")) read_string(*v, s.key("text"), config_.bounce.text);
  if (const Value* v = s.find("lifetime")) {
    Millis lifetime{};
    if (read_duration(*v, s.key("lifetime"), limits::bounce_lifetime, lifetime)) {
      config_.bounce.lifetime = std::chrono::ceil<std::chrono::hours>(lifetime);
    }
  }
}

// --- the whole file ------------------------------------------------------------------------

LoadResult Loader::load(const Value& root) {
  config_.source_file = file_.empty() ? file_ : resolve_path("", file_);
  Section top(*this, root, "",
              {"relay", "log", "queue", "delivery", "listener", "policy", "hop", "route", "path", "alerts",
               "dns", "bounce", "admin"});
  // Policies and hops first: listeners and routes refer to them.
  read_relay(root);
  read_log(root);
  read_queue(root);
  read_delivery(root);
  read_policies(root);
  read_paths(root);  // before hops: hops name the paths they depend on
  read_hops(root);
  read_alerts(root);
  read_listeners(root);
  read_routes(root);
  read_dns(root);
  read_bounce(root);
  read_admin(root);

  if (diagnostics_.empty()) return std::make_shared<const Config>(std::move(config_));
  std::ranges::stable_sort(diagnostics_, {}, &Diagnostic::line);
  return std::unexpected(std::move(diagnostics_));
}

/// toml11 stops at the first syntax error. Its message names the rule that failed on the
/// first line and then shows the source with markers: " 12 | key = " lines, each followed by
/// "    |     ^--- what is wrong". The last numbered line is the one that broke the parse.
Diagnostic syntax_diagnostic(const std::string& file, const toml::syntax_error& e) {
  Diagnostic d{file, static_cast<int>(e.location().line()), "", "TOML syntax error"};
  std::istringstream text(e.what());
  std::string line;
  std::string summary;
  std::string marker;
  bool first = true;
  while (std::getline(text, line)) {
    if (first) {
      first = false;
      summary = line;
      if (summary.starts_with("[error] ")) summary.erase(0, 8);
      if (summary.starts_with("toml::")) {
        if (const auto colon = summary.find(": "); colon != std::string::npos) {
          summary.erase(0, colon + 2);
        }
      }
      continue;
    }
    const auto bar = line.find(" | ");
    if (bar == std::string::npos) continue;
    const std::string_view number = std::string_view(line).substr(0, bar);
    const auto digits = number.find_first_not_of(' ');
    if (digits != std::string_view::npos &&
        number.substr(digits).find_first_not_of("0123456789") == std::string_view::npos) {
      d.line = std::stoi(std::string(number.substr(digits)));
    } else {
      // "    |     ^--- expected value" or "    | ~~~ value defined twice"
      const auto text_start = line.find_first_not_of(" ^~-", bar + 3);
      if (text_start != std::string::npos) marker = line.substr(text_start);
    }
  }
  const auto tidy = [](std::string& s) {
    while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  };
  tidy(summary);
  tidy(marker);
  if (!summary.empty()) d.message += ": " + summary;
  if (!marker.empty() && marker != summary && marker != "here") d.message += " (" + marker + ")";
  d.message = printable(std::move(d.message));
  return d;
}

}  // namespace

LoadResult load_string(std::string_view text, const std::string& file_name) {
  if (const auto shape = check_input_shape(text); !shape) {
    return std::unexpected(
        std::vector{Diagnostic{file_name, shape.error().line, "", shape.error().message}});
  }
  Value root;
  try {
    std::istringstream in{std::string(text)};
    root = toml::parse(in, file_name);
  } catch (const toml::syntax_error& e) {
    Diagnostic d = syntax_diagnostic(file_name, e);
    // toml11 appends a newline to a file that lacks one and may then report the line after
    // the last; an error at the end of the file belongs to its last line.
    const auto newlines = static_cast<int>(std::ranges::count(text, '\n'));
    const int last_line = std::max(1, newlines + (text.empty() || text.back() == '\n' ? 0 : 1));
    d.line = std::min(d.line, last_line);
    return std::unexpected(std::vector{std::move(d)});
  } catch (const std::exception& e) {
    return std::unexpected(
        std::vector{Diagnostic{file_name, 0, "", std::string("cannot parse: ") + e.what()}});
  }
  Loader loader(file_name, text);
  return loader.load(root);
}

LoadResult load_file(const std::string& path) {
  const auto fail = [&](const std::string& why) {
    return std::unexpected(std::vector{Diagnostic{path, 0, "", "cannot read file: " + why}});
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return fail("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::strerror(errno));
  // Read one byte past the limit so an oversized file is reported, not truncated.
  std::string text(limits::max_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return fail(std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return load_string(text, path);
}

}  // namespace conf
