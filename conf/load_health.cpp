// conf/load_health.cpp — the key tables of the health keys: [path.NAME] with its checks and
// maintenance windows, the hop keys `paths` and `check`, and [alerts].
//
// Owns: one row per key of those tables, turning them into conf::PathConfig / AlertsConfig
// with file:line:key diagnostics. The decision rules (interval ... initial_state) are one
// table shared by [path.NAME] and a hop's `check = { ... }`.
// Never: resolves names or probes anything (targets are only checked for syntax).
// A hop with `check` gets a synthesized path "hop:NAME" holding one SMTP check of the
// hop itself; the hop lists it among its paths, so "usable" is one rule for both.
// See docs/health.md for every key.
#include <algorithm>
#include <optional>

#include "conf/reader.hpp"

namespace conf::reading {

/// down_after = { runs, failed } or up_after = { runs, succeeded }, read into a copy so a
/// bad pair leaves the rules as they were.
struct RunWindow {
  std::uint32_t runs = 0;
  std::uint32_t count = 0;
  bool ok = true;
};

/// One entry of a path's `check`. Without a valid type its other keys mean nothing, so the
/// reading stops there (abandoned) and the entry is dropped.
struct CheckEntry {
  CheckConfig check;
  std::string type;
  bool abandoned = false;
};

namespace health_keys {

std::optional<CheckKind> check_kind(std::string_view text) {
  if (text == "icmp") return CheckKind::icmp;
  if (text == "tcp") return CheckKind::tcp;
  if (text == "http") return CheckKind::http;
  if (text == "https") return CheckKind::https;
  if (text == "smtp") return CheckKind::smtp;
  if (text == "dns") return CheckKind::dns;
  return std::nullopt;
}

/// "host:port", "[v6]:port" or (when default_port != 0) a bare host.
std::optional<std::pair<std::string, std::uint16_t>> host_port(std::string_view text,
                                                               std::uint16_t default_port) {
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (!rest.starts_with(':')) return std::nullopt;
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      host = std::string(text);
    }
  }
  if (!is_ip_literal(host) && !is_hostname(host)) return std::nullopt;
  std::uint32_t port = default_port;
  if (!port_text.empty()) {
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) return std::nullopt;
      port = port * 10 + static_cast<std::uint32_t>(c - '0');
    }
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return std::pair{host, static_cast<std::uint16_t>(port)};
}

/// "HH:MM" → minutes after midnight ("24:00" allowed as an end).
std::optional<std::uint16_t> clock_time(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u})
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return static_cast<std::uint16_t>(h * 60 + m);
}

/// "UTC", "Z" or "+HH:MM"/"-HH:MM" → offset east of UTC in minutes. Named TZ database
/// zones are not supported: g++ 12's libstdc++ has no std::chrono::locate_zone.
std::optional<std::int32_t> utc_offset(std::string_view text) {
  if (text == "UTC" || text == "Z" || text == "GMT") return 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
  const auto t = clock_time(text.substr(1));
  if (!t || *t > 14 * 60) return std::nullopt;
  return text[0] == '-' ? -static_cast<std::int32_t>(*t) : static_cast<std::int32_t>(*t);
}

std::optional<int> weekday(std::string_view text) {
  static constexpr std::array<std::string_view, 7> names{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  for (std::size_t i = 0; i < names.size(); ++i)
    if (text == names[i]) return static_cast<int>(i);
  return std::nullopt;
}

}  // namespace health_keys

namespace {

// --- the decision rules ----------------------------------------------------------------------

Keys<RunWindow> run_window_keys(std::string_view count_key) {
  return {
      {"runs", Need::optional,
       [](Loader& l, const Field& f, RunWindow& w) { l.read_integer(*f.value, f.key, limits::path_runs, w.runs); }},
      {count_key, Need::always,
       [count_key](Loader& l, const Field& f, RunWindow& w) {
         if (f.value != nullptr) l.read_integer(*f.value, f.key, limits::path_runs, w.count);
         if (w.count > w.runs) {
           l.error(f.section.line(), f.section.path(),
                   std::string(count_key) + " (" + std::to_string(w.count) + ") cannot exceed runs (" +
                       std::to_string(w.runs) + ")");
           w.ok = false;
         }
       }},
  };
}

Reader<HealthRules> run_window(std::string_view count_key, const Keys<RunWindow>& (*keys)(),
                               std::uint32_t HealthRules::*runs, std::uint32_t HealthRules::*count) {
  return [=](Loader& l, const Field& f, HealthRules& rules) {
    if (!f.value->is_table()) {
      l.error(f, "expected a table such as { runs = 2, " + std::string(count_key) + " = 2 }, found " +
                     describe(f.value->type()));
      return;
    }
    RunWindow window{.runs = rules.*runs, .count = rules.*count};
    read_keys(l, *f.value, f.key, keys(), window);
    if (!window.ok) return;
    rules.*runs = window.runs;
    rules.*count = window.count;
  };
}

/// The rules of a path; a hop's own check has them all but fail_threshold (it has one check).
Keys<HealthRules> rule_keys(bool with_fail_threshold) {
  Keys<HealthRules> keys{
      {"interval", Need::optional, into_duration(&HealthRules::interval, limits::path_interval)},
      {"fast_interval", Need::optional, into_duration(&HealthRules::fast_interval, limits::path_fast_interval)},
      {"jitter", Need::optional, into_duration(&HealthRules::jitter, limits::path_jitter)},
      {"fail_threshold", Need::optional, into_integer(&HealthRules::fail_threshold, limits::path_fail_threshold)},
      {"down_after", Need::optional,
       run_window("failed", down_after_keys, &HealthRules::down_runs, &HealthRules::down_failed)},
      {"up_after", Need::optional,
       run_window("succeeded", up_after_keys, &HealthRules::up_runs, &HealthRules::up_succeeded)},
      {"initial_state", Need::optional,
       [](Loader& l, const Field& f, HealthRules& rules) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text == "up" || text == "down") {
           rules.initial_up = text == "up";
         } else {
           l.error(f, "must be \"up\" or \"down\", not " + quote(text));
         }
       }},
  };
  if (!with_fail_threshold) std::erase_if(keys, [](const auto& k) { return k.name == "fail_threshold"; });
  return keys;
}

// --- checks ----------------------------------------------------------------------------------

/// target or server: "host:port", or a bare host when default_port != 0.
void read_check_target(Loader& l, const Field& f, CheckConfig& check, std::uint16_t default_port) {
  if (f.value == nullptr) {
    f.section.missing(f.name);
    return;
  }
  std::string text;
  if (!l.read_string(*f.value, f.key, text)) return;
  const auto parsed = health_keys::host_port(text, default_port);
  if (!parsed) {
    l.error(f, quote(text) + (default_port == 0 ? " is not \"host:port\"" : " is not a host or \"host:port\""));
    return;
  }
  check.host = parsed->first;
  check.port = parsed->second;
}

bool is_http(CheckKind kind) { return kind == CheckKind::http || kind == CheckKind::https; }

/// A key only some check types use: on another type it is reported and not read.
Reader<CheckEntry> only_for(bool (*allowed)(CheckKind), Reader<CheckEntry> read) {
  return [allowed, read](Loader& l, const Field& f, CheckEntry& e) {
    if (f.value != nullptr && !allowed(e.check.kind)) {
      l.error(f, "not used by a " + e.type + " check");
    } else if (f.value != nullptr) {
      read(l, f, e);
    }
  };
}

bool is_icmp(CheckKind kind) { return kind == CheckKind::icmp; }
bool is_https(CheckKind kind) { return kind == CheckKind::https; }

/// A row that reads its key, then checks it against the keys read before it.
Reader<CheckEntry> followed_by(Reader<CheckEntry> read, void (*after)(Loader&, const Field&, CheckEntry&)) {
  return [read, after](Loader& l, const Field& f, CheckEntry& e) {
    read(l, f, e);
    after(l, f, e);
  };
}

void read_reply_timeout(Loader& l, const Field& f, CheckEntry& e) {
  l.read_duration(*f.value, f.key, limits::check_timeout, e.check.reply_timeout);
}

void check_min_replies(Loader& l, const Field& f, CheckEntry& e) {
  const CheckConfig& check = e.check;
  if (is_icmp(check.kind) && check.min_replies > check.count)
    l.error(check.line, f.section.key("min_replies"), "cannot exceed count (" + std::to_string(check.count) + ")");
}

void read_ca_file(Loader& l, const Field& f, CheckEntry& e) {
  if (l.read_string(*f.value, f.key, e.check.ca_file)) e.check.ca_file = l.resolve(e.check.ca_file);
}

/// The label names the source address last, once every key that shapes it has been read.
void label_source(Loader&, const Field&, CheckEntry& e) {
  if (!e.check.source.empty()) e.check.label += " from " + e.check.source;
}

void read_url(Loader& l, const Field& f, CheckEntry& e) {
  CheckConfig& check = e.check;
  if (!is_http(check.kind)) return;
  if (f.value == nullptr) {
    f.section.missing(f.name);
    return;
  }
  std::string url;
  if (!l.read_string(*f.value, f.key, url)) return;
  const std::string scheme = check.kind == CheckKind::http ? "http://" : "https://";
  if (!url.starts_with(scheme)) {
    l.error(f, quote(url) + " must start with " + scheme);
    return;
  }
  const std::string rest = url.substr(scheme.size());
  const auto slash = rest.find('/');
  const auto parsed = health_keys::host_port(rest.substr(0, slash), check.kind == CheckKind::http ? 80 : 443);
  if (!parsed) {
    l.error(f, quote(url) + " has no valid host[:port]");
    return;
  }
  check.host = parsed->first;
  check.port = parsed->second;
  check.url_path = slash == std::string::npos ? "/" : rest.substr(slash);
  check.url = url;
  check.label = e.type + " " + url;
}

void read_expect_status(Loader& l, const Field& f, CheckEntry& e) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  std::vector<std::uint16_t> codes;
  const auto& array = f.value->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    std::uint16_t code = 0;
    if (l.read_integer(array[i], f.key + "[" + std::to_string(i) + "]", limits::check_status, code))
      codes.push_back(code);
  }
  if (array.empty()) l.error(f, "must list at least one status code");
  if (!codes.empty()) e.check.expect_status = std::move(codes);
}

void read_checks(Loader& l, const Field& f, PathConfig& path) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  const auto& array = f.value->as_array();
  if (array.empty()) l.error(f, "must list at least one check");
  if (array.size() > limits::path_max_checks)
    l.error(f, "at most " + std::to_string(limits::path_max_checks) + " checks");
  for (std::size_t i = 0; i < array.size() && i < limits::path_max_checks; ++i) {
    const std::string key = f.key + "[" + std::to_string(i) + "]";
    if (!array[i].is_table()) {
      l.error(l.line_of(array[i]), key, "expected a table such as { type = \"tcp\", target = \"192.0.2.1:443\" }");
      continue;
    }
    CheckEntry entry{.check = {.line = l.line_of(array[i])}};
    read_keys(l, array[i], key, check_keys(), entry);
    if (!entry.abandoned) path.checks.push_back(std::move(entry.check));
  }
  if (!path.checks.empty() && path.rules.fail_threshold > path.checks.size()) {
    l.error(path.line, f.section.key("fail_threshold"),
            "is " + std::to_string(path.rules.fail_threshold) + " but the path has only " +
                std::to_string(path.checks.size()) + " check(s): a run could never fail");
  }
}

void read_maintenance(Loader& l, const Field& f, PathConfig& path) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  const auto& array = f.value->as_array();
  for (std::size_t i = 0; i < array.size(); ++i) {
    const std::string key = f.key + "[" + std::to_string(i) + "]";
    MaintenanceWindow window;
    if (array[i].is_table()) {
      window.line = l.line_of(array[i]);
      read_keys(l, array[i], key, maintenance_keys(), window);
    } else {
      l.error(l.line_of(array[i]), key,
              "expected a table such as { days = [\"sat\"], start = \"22:00\", end = \"02:00\", time_zone = \"UTC\" }");
    }
    path.maintenance.push_back(window);  // the default window stands for a broken one
  }
}

Reader<MaintenanceWindow> clock_time(std::uint16_t MaintenanceWindow::*field) {
  return [field](Loader& l, const Field& f, MaintenanceWindow& window) {
    std::string text;
    if (!l.read_string(*f.value, f.key, text)) return;
    if (const auto minute = health_keys::clock_time(text)) {
      window.*field = *minute;
    } else {
      l.error(f, "invalid time " + quote(text) + " (use \"HH:MM\", 24-hour)");
    }
  };
}

// --- a hop's paths and own check ---------------------------------------------------------------

void read_hop_paths(Loader& l, const Field& f, HopConfig& hop) {
  std::vector<Item> names;
  l.read_string_array(*f.value, f.key, names);
  for (const Item& item : names) {
    if (l.config().find_path(item.text) == nullptr) {
      std::vector<std::string> known;
      for (const auto& p : l.config().paths)
        if (p.hop.empty()) known.push_back(p.name);
      l.error(item.line, item.key, "unknown path " + quote(item.text) + defined_names(known, "path"));
    } else if (std::ranges::find(hop.paths, item.text) != hop.paths.end()) {
      l.error(item.line, item.key, "path " + quote(item.text) + " is listed twice");
    } else {
      hop.paths.push_back(item.text);
    }
  }
}

void read_hop_check(Loader& l, const Field& f, HopConfig& hop) {
  const Value& v = *f.value;
  PathConfig own{.name = "hop:" + hop.name, .hop = hop.name, .line = l.line_of(v)};
  own.rules.interval = std::chrono::seconds(30);
  if (v.is_boolean()) {
    hop.check = v.as_boolean();
  } else if (v.is_table()) {
    hop.check = true;
    read_keys(l, v, f.key, hop_check_keys(), own);
  } else {
    l.error(f, "expected true/false or a table such as { interval = \"30s\", down_after = { runs = 2, failed = 2 } }");
    return;
  }
  if (!hop.check) return;
  if (hop.mx) {
    // An MX hop has no one host to probe: its targets come from DNS per recipient domain,
    // and a dead MX host is ejected passively (docs/routing.md).
    l.error(f, "an MX hop (type = \"mx\") has no single host to check; use paths");
    hop.check = false;
    return;
  }
  CheckConfig check = own.checks.empty() ? CheckConfig{} : own.checks.front();
  own.checks.clear();
  check.kind = CheckKind::smtp;
  check.host = hop.host;
  check.port = hop.port;
  check.label = "smtp " + hop.host + ":" + std::to_string(hop.port);
  check.line = own.line;
  own.checks.push_back(std::move(check));
  hop.paths.push_back(own.name);
  l.config().paths.push_back(std::move(own));
}

}  // namespace

const Keys<RunWindow>& down_after_keys() {
  static const Keys<RunWindow> keys = run_window_keys("failed");
  return keys;
}

const Keys<RunWindow>& up_after_keys() {
  static const Keys<RunWindow> keys = run_window_keys("succeeded");
  return keys;
}

const Keys<CheckEntry>& check_keys() {
  static const Keys<CheckEntry> keys{
      {"type", Need::always,
       [](Loader& l, const Field& f, CheckEntry& e) {
         e.abandoned = true;
         if (f.value == nullptr) {
           f.section.missing(f.name);
           return;
         }
         if (!l.read_string(*f.value, f.key, e.type)) return;
         const auto kind = health_keys::check_kind(e.type);
         if (!kind) {
           l.error(f, "unknown check type " + quote(e.type) + " (use icmp, tcp, http, https, smtp or dns)");
           return;
         }
         e.check.kind = *kind;
         e.abandoned = false;
       }},
      {"target", Need::always,
       [](Loader& l, const Field& f, CheckEntry& e) {
         CheckConfig& check = e.check;
         switch (check.kind) {
           case CheckKind::icmp:
             read_check_target(l, f, check, 1);  // the port is ignored
             check.port = 0;
             check.label = "icmp " + check.host;
             break;
           case CheckKind::tcp:
             read_check_target(l, f, check, 0);
             check.label = "tcp " + check.host + ":" + std::to_string(check.port);
             break;
           case CheckKind::smtp:
             read_check_target(l, f, check, 25);
             check.label = "smtp " + check.host + ":" + std::to_string(check.port);
             break;
           case CheckKind::http:
           case CheckKind::https:
           case CheckKind::dns:
             break;  // accepted but ignored: they have url / server
         }
       }},
      {"url", Need::always, read_url},
      {"server", Need::always,
       [](Loader& l, const Field& f, CheckEntry& e) {
         if (e.check.kind == CheckKind::dns) read_check_target(l, f, e.check, 53);
       }},
      {"name", Need::always,
       [](Loader& l, const Field& f, CheckEntry& e) {
         CheckConfig& check = e.check;
         if (check.kind != CheckKind::dns) return;
         if (f.value == nullptr) {
           f.section.missing(f.name);
         } else if (l.read_string(*f.value, f.key, check.query_name) && !is_hostname(check.query_name)) {
           l.error(f, quote(check.query_name) + " is not a valid host name");
         }
         check.label = "dns " + check.query_name + " @" + check.host;
       }},
      {"source", Need::optional,
       [](Loader& l, const Field& f, CheckEntry& e) {
         if (l.read_string(*f.value, f.key, e.check.source) && !is_ip_literal(e.check.source))
           l.error(f, quote(e.check.source) + " is not an IP address");
       }},
      {"timeout", Need::optional,
       [](Loader& l, const Field& f, CheckEntry& e) {
         l.read_duration(*f.value, f.key, limits::check_timeout, e.check.timeout);
       }},
      {"count", Need::optional, only_for(is_icmp, [](Loader& l, const Field& f, CheckEntry& e) {
         l.read_integer(*f.value, f.key, limits::check_icmp_count, e.check.count);
       })},
      {"min_replies", Need::optional, only_for(is_icmp, [](Loader& l, const Field& f, CheckEntry& e) {
         l.read_integer(*f.value, f.key, limits::check_icmp_count, e.check.min_replies);
       })},
      {"reply_timeout", Need::always, followed_by(only_for(is_icmp, read_reply_timeout), check_min_replies)},
      {"expect_status", Need::optional, only_for(is_http, read_expect_status)},
      {"body_contains", Need::optional, only_for(is_http, [](Loader& l, const Field& f, CheckEntry& e) {
         l.read_string(*f.value, f.key, e.check.body_contains);
       })},
      {"ca_file", Need::always, followed_by(only_for(is_https, read_ca_file), label_source)},
  };
  return keys;
}

const Keys<MaintenanceWindow>& maintenance_keys() {
  static const Keys<MaintenanceWindow> keys{
      {"days", Need::optional,
       [](Loader& l, const Field& f, MaintenanceWindow& window) {
         std::vector<Item> days;
         if (!l.read_string_array(*f.value, f.key, days)) return;
         std::uint8_t mask = 0;
         for (const Item& item : days) {
           if (const auto day = health_keys::weekday(item.text)) {
             mask = static_cast<std::uint8_t>(mask | (1u << *day));
           } else {
             l.error(item.line, item.key, "unknown day " + quote(item.text) + " (use mon, tue, wed, thu, fri, sat, sun)");
           }
         }
         if (days.empty()) l.error(f, "must list at least one day");
         if (mask != 0) window.days = mask;
       }},
      {"start", Need::required, clock_time(&MaintenanceWindow::start_minute)},
      {"end", Need::required, clock_time(&MaintenanceWindow::end_minute)},
      {"time_zone", Need::optional,
       [](Loader& l, const Field& f, MaintenanceWindow& window) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (const auto offset = health_keys::utc_offset(text)) {
           window.utc_offset_minutes = *offset;
         } else {
           l.error(f, "unsupported time zone " + quote(text) + " (use \"UTC\" or a fixed offset such as \"+02:00\")");
         }
       }},
  };
  return keys;
}

const Keys<PathConfig>& path_keys() {
  static const Keys<PathConfig> own{
      {"check", Need::required, read_checks},
      {"maintenance", Need::optional, read_maintenance},
      {"maintenance_state", Need::optional,
       [](Loader& l, const Field& f, PathConfig& path) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text == "hold") path.maintenance_state = MaintenanceState::hold;
         else if (text == "up") path.maintenance_state = MaintenanceState::up;
         else if (text == "down") path.maintenance_state = MaintenanceState::down;
         else l.error(f, "must be \"hold\", \"up\" or \"down\", not " + quote(text));
       }},
  };
  static const Keys<PathConfig> rules = lift(rule_keys(true), &PathConfig::rules);
  static const Keys<PathConfig> keys = concat({&rules, &own});
  return keys;
}

const Keys<PathConfig>& hop_check_keys() {
  static const Keys<PathConfig> own{
      {"timeout", Need::optional,
       [](Loader& l, const Field& f, PathConfig& path) {
         Millis timeout{};
         if (l.read_duration(*f.value, f.key, limits::check_timeout, timeout))
           path.checks.push_back(CheckConfig{.timeout = timeout});
       }},
  };
  static const Keys<PathConfig> rules = lift(rule_keys(false), &PathConfig::rules);
  static const Keys<PathConfig> keys = concat({&rules, &own});
  return keys;
}

const Keys<HopConfig>& hop_health_keys() {
  static const Keys<HopConfig> keys{
      {"paths", Need::optional, read_hop_paths},
      {"check", Need::optional, read_hop_check},
  };
  return keys;
}

const Keys<AlertsConfig>& alerts_keys() {
  static const Keys<AlertsConfig> keys{
      {"to", Need::optional,
       [](Loader& l, const Field& f, AlertsConfig& alerts) {
         std::vector<Item> items;
         l.read_string_array(*f.value, f.key, items);
         for (const Item& item : items) {
           const auto at = item.text.rfind('@');
           if (at == std::string::npos || at == 0 || !is_hostname(item.text.substr(at + 1)) ||
               item.text.find_first_of(" <>\r\n") != std::string::npos) {
             l.error(item.line, item.key, quote(item.text) + " is not a mail address such as \"ops@example.com\"");
           } else {
             alerts.to.push_back(item.text);
           }
         }
       }},
      {"from", Need::optional,
       [](Loader& l, const Field& f, AlertsConfig& alerts) {
         if (l.read_string(*f.value, f.key, alerts.from) &&
             (alerts.from.find('@') == std::string::npos ||
              alerts.from.find_first_of(" <>\r\n") != std::string::npos))
           l.error(f, quote(alerts.from) + " is not a mail address");
       }},
      {"hook", Need::optional,
       [](Loader& l, const Field& f, AlertsConfig& alerts) {
         if (l.read_string(*f.value, f.key, alerts.hook)) alerts.hook = l.resolve(alerts.hook);
       }},
      {"hook_timeout", Need::optional, into_seconds(&AlertsConfig::hook_timeout, limits::alerts_hook_timeout)},
  };
  return keys;
}

}  // namespace conf::reading
