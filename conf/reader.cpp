// conf/reader.cpp — the reading helpers every section of the loader shares.
//
// Owns: the diagnostic text helpers, line numbers by offset, the listener address registry,
// Section (unknown keys, missing keys) and the Loader's typed reads with their range checks
// against conf/limits.hpp. See conf/reader.hpp.
// Never: knows a section's keys; those are in the key tables of the load_*.cpp files.
#include "conf/reader.hpp"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <tuple>

#include "conf/domain_pattern.hpp"

namespace conf::reading {

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

std::string printable(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

std::string quote(std::string_view text) {
  constexpr std::size_t max_echo = 80;
  if (text.size() <= max_echo) return "'" + printable(std::string(text)) + "'";
  return "'" + printable(std::string(text.substr(0, max_echo))) + "...'";
}

std::string defined_names(const std::vector<std::string>& names, std::string_view table) {
  if (names.empty()) return " (no [" + std::string(table) + ".NAME] tables are defined)";
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  return " (defined: " + joined + ")";
}

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

LineIndex::LineIndex(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') newlines_.push_back(i);
  }
}

int LineIndex::line_of(const Value& v) const {
  const auto* region = dynamic_cast<const toml::detail::region*>(toml::detail::get_region(v));
  if (region == nullptr || !region->is_ok()) return 0;  // a table toml11 made up
  const auto offset = static_cast<std::size_t>(region->first() - region->begin());
  const auto before = std::lower_bound(newlines_.begin(), newlines_.end(), offset);
  return static_cast<int>(before - newlines_.begin()) + 1;
}

std::optional<BindUse> BindRegistry::claim(const BindAddress& bind, const BindUse& use) {
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

// --- Section ---------------------------------------------------------------------------------

Section::Section(Loader& loader, const Value& table, std::string path,
                 const std::function<bool(std::string_view)>& known)
    : loader_(loader), table_(table), path_(std::move(path)), line_(loader.line_of(table)) {
  std::vector<std::pair<int, std::string>> unknown;
  for (const auto& [name, value] : table.as_table()) {
    if (!known(name)) unknown.emplace_back(loader.line_of(value), name);
  }
  std::ranges::sort(unknown);  // the table is unordered; keep the report deterministic
  for (const auto& [line, name] : unknown) loader.error(line, key(name), "unknown key");
}

const Value* Section::find(std::string_view key) const {
  const auto& table = table_.as_table();
  const auto it = table.find(std::string(key));
  return it == table.end() ? nullptr : &it->second;
}

const Value* Section::require(std::string_view name) const {
  const Value* v = find(name);
  if (v == nullptr) missing(name);
  return v;
}

void Section::missing(std::string_view name) const {
  loader_.error(line_, key(name), "missing required key");
}

// --- Loader ----------------------------------------------------------------------------------

void Loader::error(int line, std::string key, std::string message) {
  diagnostics_.push_back(
      Diagnostic{file_, line, printable(std::move(key)), printable(std::move(message))});
}

LoadResult Loader::finish() {
  if (diagnostics_.empty()) return std::make_shared<const Config>(std::move(config_));
  std::ranges::stable_sort(diagnostics_, {}, &Diagnostic::line);
  return std::unexpected(std::move(diagnostics_));
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

void Loader::read_networks(const Value& v, const std::string& key, std::vector<std::string>& out) {
  std::vector<Item> networks;
  read_string_array(v, key, networks);
  for (Item& network : networks) {
    if (auto checked = check_cidr(network.text); !checked) {
      error(network.line, network.key, checked.error());
    } else {
      out.push_back(std::move(network.text));
    }
  }
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

}  // namespace conf::reading
