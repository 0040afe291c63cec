// conf/load_health.inc — reading the health keys: [path.NAME], hop `paths`/`check`, [alerts].
//
// Owns: turning those TOML tables into conf::PathConfig / AlertsConfig with file:line:key
// diagnostics. Included once by conf/load.cpp inside its anonymous namespace, so it uses
// the Loader's typed readers; kept in its own file so the health feature (issue 5) stays
// out of the rest of the loader.
// Never: resolves names or probes anything (targets are only checked for syntax).
// A hop with `check` gets a synthesized path "hop:NAME" holding one SMTP check of the
// hop itself; the hop lists it among its paths, so "usable" is one rule for both.
// See docs/health.md for every key.

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

void Loader::read_rules(const Section& s, HealthRules& rules) {
  if (const Value* v = s.find("interval")) read_duration(*v, s.key("interval"), limits::path_interval, rules.interval);
  if (const Value* v = s.find("fast_interval"))
    read_duration(*v, s.key("fast_interval"), limits::path_fast_interval, rules.fast_interval);
  if (const Value* v = s.find("jitter")) read_duration(*v, s.key("jitter"), limits::path_jitter, rules.jitter);
  if (const Value* v = s.find("fail_threshold"))
    read_integer(*v, s.key("fail_threshold"), limits::path_fail_threshold, rules.fail_threshold);
  const auto pair = [&](const char* name, const char* count_key, std::uint32_t& runs, std::uint32_t& count) {
    const Value* v = s.find(name);
    if (v == nullptr) return;
    const std::string key = s.key(name);
    if (!v->is_table()) {
      error(line_of(*v), key,
            std::string("expected a table such as { runs = 2, ") + count_key + " = 2 }, found " + describe(v->type()));
      return;
    }
    Section t(*this, *v, key, {"runs", count_key});
    std::uint32_t r = runs;
    std::uint32_t c = count;
    if (const Value* x = t.find("runs")) read_integer(*x, t.key("runs"), limits::path_runs, r);
    if (const Value* x = t.find(count_key)) read_integer(*x, t.key(count_key), limits::path_runs, c);
    if (c > r) {
      error(line_of(*v), key, std::string(count_key) + " (" + std::to_string(c) + ") cannot exceed runs (" +
                                  std::to_string(r) + ")");
      return;
    }
    runs = r;
    count = c;
  };
  pair("down_after", "failed", rules.down_runs, rules.down_failed);
  pair("up_after", "succeeded", rules.up_runs, rules.up_succeeded);
  if (const Value* v = s.find("initial_state")) {
    std::string text;
    if (read_string(*v, s.key("initial_state"), text)) {
      if (text == "up" || text == "down") {
        rules.initial_up = text == "up";
      } else {
        error(line_of(*v), s.key("initial_state"), "must be \"up\" or \"down\", not " + quote(text));
      }
    }
  }
}

void Loader::read_window(const Value& v, const std::string& path, MaintenanceWindow& out) {
  if (!v.is_table()) {
    error(line_of(v), path,
          "expected a table such as { days = [\"sat\"], start = \"22:00\", end = \"02:00\", time_zone = \"UTC\" }");
    return;
  }
  Section s(*this, v, path, {"days", "start", "end", "time_zone"});
  out.line = s.line();
  if (const Value* d = s.find("days")) {
    std::vector<Item> days;
    if (read_string_array(*d, s.key("days"), days)) {
      std::uint8_t mask = 0;
      for (const Item& item : days) {
        if (const auto day = health_keys::weekday(item.text)) {
          mask = static_cast<std::uint8_t>(mask | (1u << *day));
        } else {
          error(item.line, item.key, "unknown day " + quote(item.text) + " (use mon, tue, wed, thu, fri, sat, sun)");
        }
      }
      if (days.empty()) error(line_of(*d), s.key("days"), "must list at least one day");
      if (mask != 0) out.days = mask;
    }
  }
  for (const auto& [name, target] : {std::pair{"start", &out.start_minute}, std::pair{"end", &out.end_minute}}) {
    if (const Value* t = s.require(name)) {
      std::string text;
      if (read_string(*t, s.key(name), text)) {
        if (const auto minute = health_keys::clock_time(text)) {
          *target = *minute;
        } else {
          error(line_of(*t), s.key(name), "invalid time " + quote(text) + " (use \"HH:MM\", 24-hour)");
        }
      }
    }
  }
  if (const Value* z = s.find("time_zone")) {
    std::string text;
    if (read_string(*z, s.key("time_zone"), text)) {
      if (const auto offset = health_keys::utc_offset(text)) {
        out.utc_offset_minutes = *offset;
      } else {
        error(line_of(*z), s.key("time_zone"),
              "unsupported time zone " + quote(text) + " (use \"UTC\" or a fixed offset such as \"+02:00\")");
      }
    }
  }
}

void Loader::read_check(const Value& v, const std::string& path, PathConfig& out) {
  if (!v.is_table()) {
    error(line_of(v), path, "expected a table such as { type = \"tcp\", target = \"192.0.2.1:443\" }");
    return;
  }
  Section s(*this, v, path,
            {"type", "target", "url", "source", "timeout", "count", "min_replies", "reply_timeout",
             "expect_status", "body_contains", "ca_file", "server", "name"});
  CheckConfig check{.line = s.line()};
  const Value* type = s.require("type");
  std::string type_text;
  if (type == nullptr || !read_string(*type, s.key("type"), type_text)) return;
  const auto kind = health_keys::check_kind(type_text);
  if (!kind) {
    error(line_of(*type), s.key("type"),
          "unknown check type " + quote(type_text) + " (use icmp, tcp, http, https, smtp or dns)");
    return;
  }
  check.kind = *kind;
  const auto read_target = [&](const char* key, std::uint16_t default_port) {
    const Value* t = s.require(key);
    std::string text;
    if (t == nullptr || !read_string(*t, s.key(key), text)) return;
    const auto parsed = health_keys::host_port(text, default_port);
    if (!parsed) {
      error(line_of(*t), s.key(key),
            quote(text) + (default_port == 0 ? " is not \"host:port\"" : " is not a host or \"host:port\""));
      return;
    }
    check.host = parsed->first;
    check.port = parsed->second;
  };
  switch (check.kind) {
    case CheckKind::icmp: {
      read_target("target", 1);  // the port is ignored
      check.port = 0;
      check.label = "icmp " + check.host;
      break;
    }
    case CheckKind::tcp:
      read_target("target", 0);
      check.label = "tcp " + check.host + ":" + std::to_string(check.port);
      break;
    case CheckKind::smtp:
      read_target("target", 25);
      check.label = "smtp " + check.host + ":" + std::to_string(check.port);
      break;
    case CheckKind::dns: {
      read_target("server", 53);
      if (const Value* n = s.require("name")) {
        if (read_string(*n, s.key("name"), check.query_name) && !is_hostname(check.query_name))
          error(line_of(*n), s.key("name"), quote(check.query_name) + " is not a valid host name");
      }
      check.label = "dns " + check.query_name + " @" + check.host;
      break;
    }
    case CheckKind::http:
    case CheckKind::https: {
      const Value* u = s.require("url");
      std::string url;
      if (u == nullptr || !read_string(*u, s.key("url"), url)) break;
      const std::string scheme = check.kind == CheckKind::http ? "http://" : "https://";
      if (!url.starts_with(scheme)) {
        error(line_of(*u), s.key("url"), quote(url) + " must start with " + scheme);
        break;
      }
      const std::string rest = url.substr(scheme.size());
      const auto slash = rest.find('/');
      const auto parsed =
          health_keys::host_port(rest.substr(0, slash), check.kind == CheckKind::http ? 80 : 443);
      if (!parsed) {
        error(line_of(*u), s.key("url"), quote(url) + " has no valid host[:port]");
        break;
      }
      check.host = parsed->first;
      check.port = parsed->second;
      check.url_path = slash == std::string::npos ? "/" : rest.substr(slash);
      check.url = url;
      check.label = type_text + " " + url;
      break;
    }
  }
  if (const Value* x = s.find("source")) {
    if (read_string(*x, s.key("source"), check.source) && !is_ip_literal(check.source))
      error(line_of(*x), s.key("source"), quote(check.source) + " is not an IP address");
  }
  if (const Value* x = s.find("timeout")) read_duration(*x, s.key("timeout"), limits::check_timeout, check.timeout);
  const bool icmp = check.kind == CheckKind::icmp;
  const bool http = check.kind == CheckKind::http || check.kind == CheckKind::https;
  const auto only = [&](const char* key, bool allowed) -> const Value* {
    const Value* x = s.find(key);
    if (x != nullptr && !allowed) {
      error(line_of(*x), s.key(key), std::string("not used by a ") + type_text + " check");
      return nullptr;
    }
    return x;
  };
  if (const Value* x = only("count", icmp)) read_integer(*x, s.key("count"), limits::check_icmp_count, check.count);
  if (const Value* x = only("min_replies", icmp))
    read_integer(*x, s.key("min_replies"), limits::check_icmp_count, check.min_replies);
  if (const Value* x = only("reply_timeout", icmp))
    read_duration(*x, s.key("reply_timeout"), limits::check_timeout, check.reply_timeout);
  if (icmp && check.min_replies > check.count)
    error(check.line, s.key("min_replies"), "cannot exceed count (" + std::to_string(check.count) + ")");
  if (const Value* x = only("expect_status", http)) {
    if (expect(*x, toml::value_t::array, s.key("expect_status"))) {
      std::vector<std::uint16_t> codes;
      const auto& array = x->as_array();
      for (std::size_t i = 0; i < array.size(); ++i) {
        std::uint16_t code = 0;
        if (read_integer(array[i], s.key("expect_status") + "[" + std::to_string(i) + "]", limits::check_status, code))
          codes.push_back(code);
      }
      if (array.empty()) error(line_of(*x), s.key("expect_status"), "must list at least one status code");
      if (!codes.empty()) check.expect_status = std::move(codes);
    }
  }
  if (const Value* x = only("body_contains", http)) read_string(*x, s.key("body_contains"), check.body_contains);
  if (const Value* x = only("ca_file", check.kind == CheckKind::https)) {
    if (read_string(*x, s.key("ca_file"), check.ca_file)) check.ca_file = resolve_path(file_, check.ca_file);
  }
  if (!check.source.empty()) check.label += " from " + check.source;
  out.checks.push_back(std::move(check));
}

void Loader::read_paths(const Value& root) {
  if (!root.as_table().contains("path")) return;
  const Value& parent = root.as_table().at("path");
  if (!expect(parent, toml::value_t::table, "path")) return;
  for (const auto& [name, table] : named_tables(parent, "path")) {
    Section s(*this, *table, "path." + name,
              {"interval", "fast_interval", "jitter", "fail_threshold", "down_after", "up_after", "initial_state",
               "check", "maintenance", "maintenance_state"});
    PathConfig path{.name = name, .line = s.line()};
    read_rules(s, path.rules);
    if (const Value* v = s.require("check")) {
      if (expect(*v, toml::value_t::array, s.key("check"))) {
        const auto& array = v->as_array();
        if (array.empty()) error(line_of(*v), s.key("check"), "must list at least one check");
        if (array.size() > limits::path_max_checks)
          error(line_of(*v), s.key("check"), "at most " + std::to_string(limits::path_max_checks) + " checks");
        for (std::size_t i = 0; i < array.size() && i < limits::path_max_checks; ++i)
          read_check(array[i], s.key("check") + "[" + std::to_string(i) + "]", path);
      }
    }
    if (!path.checks.empty() && path.rules.fail_threshold > path.checks.size()) {
      error(path.line, s.key("fail_threshold"),
            "is " + std::to_string(path.rules.fail_threshold) + " but the path has only " +
                std::to_string(path.checks.size()) + " check(s): a run could never fail");
    }
    if (const Value* v = s.find("maintenance")) {
      if (expect(*v, toml::value_t::array, s.key("maintenance"))) {
        const auto& array = v->as_array();
        for (std::size_t i = 0; i < array.size(); ++i) {
          MaintenanceWindow window;
          read_window(array[i], s.key("maintenance") + "[" + std::to_string(i) + "]", window);
          path.maintenance.push_back(window);
        }
      }
    }
    if (const Value* v = s.find("maintenance_state")) {
      std::string text;
      if (read_string(*v, s.key("maintenance_state"), text)) {
        if (text == "hold") path.maintenance_state = MaintenanceState::hold;
        else if (text == "up") path.maintenance_state = MaintenanceState::up;
        else if (text == "down") path.maintenance_state = MaintenanceState::down;
        else error(line_of(*v), s.key("maintenance_state"), "must be \"hold\", \"up\" or \"down\", not " + quote(text));
      }
    }
    config_.paths.push_back(std::move(path));
  }
}

void Loader::read_hop_health(const Section& s, HopConfig& hop) {
  if (const Value* v = s.find("paths")) {
    std::vector<Item> names;
    read_string_array(*v, s.key("paths"), names);
    for (const Item& item : names) {
      if (config_.find_path(item.text) == nullptr) {
        std::vector<std::string> known;
        for (const auto& p : config_.paths)
          if (p.hop.empty()) known.push_back(p.name);
        error(item.line, item.key, "unknown path " + quote(item.text) + defined_names(known, "path"));
      } else if (std::ranges::find(hop.paths, item.text) != hop.paths.end()) {
        error(item.line, item.key, "path " + quote(item.text) + " is listed twice");
      } else {
        hop.paths.push_back(item.text);
      }
    }
  }
  const Value* v = s.find("check");
  if (v == nullptr) return;
  PathConfig own{.name = "hop:" + hop.name, .hop = hop.name, .line = line_of(*v)};
  own.rules.interval = std::chrono::seconds(30);
  if (v->is_boolean()) {
    hop.check = v->as_boolean();
  } else if (v->is_table()) {
    hop.check = true;
    Section t(*this, *v, s.key("check"),
              {"interval", "fast_interval", "jitter", "down_after", "up_after", "initial_state", "timeout"});
    read_rules(t, own.rules);
    if (const Value* x = t.find("timeout")) {
      Millis timeout{};
      if (read_duration(*x, t.key("timeout"), limits::check_timeout, timeout))
        own.checks.push_back(CheckConfig{.timeout = timeout});
    }
  } else {
    error(line_of(*v), s.key("check"),
          "expected true/false or a table such as { interval = \"30s\", down_after = { runs = 2, failed = 2 } }");
    return;
  }
  if (!hop.check) return;
  if (hop.mx) {
    // An MX hop has no one host to probe: its targets come from DNS per recipient domain,
    // and a dead MX host is ejected passively (docs/routing.md).
    error(line_of(*v), s.key("check"), "an MX hop (type = \"mx\") has no single host to check; use paths");
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
  config_.paths.push_back(std::move(own));
}

void Loader::read_alerts(const Value& root) {
  if (!root.as_table().contains("alerts")) return;
  const Value& table = root.as_table().at("alerts");
  if (!expect(table, toml::value_t::table, "alerts")) return;
  Section s(*this, table, "alerts", {"to", "from", "hook", "hook_timeout"});
  AlertsConfig& alerts = config_.alerts;
  if (const Value* v = s.find("to")) {
    std::vector<Item> items;
    read_string_array(*v, s.key("to"), items);
    for (const Item& item : items) {
      const auto at = item.text.rfind('@');
      if (at == std::string::npos || at == 0 || !is_hostname(item.text.substr(at + 1)) ||
          item.text.find_first_of(" <>\r\n") != std::string::npos) {
        error(item.line, item.key, quote(item.text) + " is not a mail address such as \"ops@example.com\"");
      } else {
        alerts.to.push_back(item.text);
      }
    }
  }
  if (const Value* v = s.find("from")) {
    if (read_string(*v, s.key("from"), alerts.from) &&
        (alerts.from.find('@') == std::string::npos || alerts.from.find_first_of(" <>\r\n") != std::string::npos))
      error(line_of(*v), s.key("from"), quote(alerts.from) + " is not a mail address");
  }
  if (const Value* v = s.find("hook")) {
    if (read_string(*v, s.key("hook"), alerts.hook)) alerts.hook = resolve_path(file_, alerts.hook);
  }
  if (const Value* v = s.find("hook_timeout"))
    read_seconds(*v, s.key("hook_timeout"), limits::alerts_hook_timeout, alerts.hook_timeout);
}
