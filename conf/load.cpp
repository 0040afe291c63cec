// conf/load.cpp — hubrelay.toml text → validated conf::Config, every problem reported.
//
// Owns: the entry points of conf/load.hpp (the file read, the raw-input guards, the TOML
// parse and its syntax error as one Diagnostic), the top-level key table (which sections
// exist and the order they are read in: policies, paths and hops before the listeners and
// routes that refer to them), and the list of every key table (conf/key_tables.hpp).
// Each section's keys are read by its own file through conf/reader.hpp: load_service.cpp
// ([relay] [log] [queue] [delivery] [dns] [bounce] [admin]), load_queue_backend.cpp ([queue]
// backend and node, [queue.postgresql]), load_listener.cpp, load_policy.cpp with load_verification.cpp and load_policy_rules.cpp, load_milter.cpp,
// load_hop_route.cpp, load_health.cpp, load_dkim.cpp, load_tracking.cpp. Single values are
// judged by conf/value_syntax.cpp.
// Errors: a Diagnostic per problem, with file, line and dotted key ("listener[1].bind[0]"),
// sorted by line; the walk never stops at the first problem. Exceptions from toml11 are
// caught here and never escape (a TOML syntax error is one Diagnostic: toml11 stops there).
// Never: logs, or reads anything but the one file in load_file() (and the files the
// configuration names: recipient lists, passwords; certificates are only checked to exist).
#include "conf/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "conf/reader.hpp"

namespace conf {

std::string Diagnostic::to_string() const {
  std::string out = file + ":" + std::to_string(line) + ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

namespace reading {
namespace {

/// The sections of the file, in reading order: policies and milters before listeners, paths before hops
/// (hops name the paths they depend on), hops before routes.
const Keys<Config>& top_keys() {
  static const Keys<Config> keys{
      {"relay", Need::always, read_relay},
      {"log", Need::optional, table_into(&Config::log, log_keys)},
      {"queue", Need::always, read_queue},
      {"delivery", Need::optional, table_into(&Config::delivery, delivery_keys)},
      {"policy", Need::optional, named_tables_into(&Config::policies, policy_keys)},
      {"path", Need::optional, named_tables_into(&Config::paths, path_keys)},
      {"hop", Need::optional, named_tables_into(&Config::hops, hop_keys)},
      {"alerts", Need::optional, table_into(&Config::alerts, alerts_keys)},
      {"milter", Need::optional, named_tables_into(&Config::milters, milter_keys)},
      {"listener", Need::always, read_listeners},
      {"route", Need::optional, read_routes},
      {"dns", Need::always, read_dns},
      {"mta_sts", Need::optional, table_into(&Config::mta_sts, mta_sts_keys)},
      {"bounce", Need::optional, table_into(&Config::bounce, bounce_keys)},
      {"admin", Need::optional, read_admin},
      {"tracking", Need::always, read_tracking},
      {"tls_reporting", Need::always, read_tls_reporting},
      {"dkim", Need::optional, read_dkim},
  };
  return keys;
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
}  // namespace reading

std::vector<KeyTable> key_tables() {
  using namespace reading;
  return {
      key_table("", top_keys()),
      key_table("relay", relay_keys()),
      key_table("log", log_keys()),
      key_table("queue", queue_keys()),
      queue_postgresql_key_table(),
      key_table("delivery", delivery_keys()),
      key_table("policy", policy_keys()),
      key_table("policy.dnsbl[]", dnsbl_zone_keys()),
      key_table("policy.sender_restriction[]", sender_restriction_keys()),
      key_table("path", path_keys()),
      key_table("path.down_after", down_after_keys()),
      key_table("path.up_after", up_after_keys()),
      key_table("path.check[]", check_keys()),
      key_table("path.maintenance[]", maintenance_keys()),
      key_table("hop", hop_keys()),
      key_table("hop.check", hop_check_keys()),
      key_table("alerts", alerts_keys()),
      key_table("milter", milter_keys()),
      key_table("listener", listener_keys()),
      key_table("route", route_keys()),
      key_table("route.hops[]", route_hop_keys()),
      key_table("dns", dns_keys()),
      key_table("mta_sts", mta_sts_keys()),
      key_table("bounce", bounce_keys()),
      key_table("admin", admin_keys()),
      key_table("tracking", tracking_keys()),
      key_table("tls_reporting", tls_reporting_keys()),
      key_table("[dkim]", dkim_signing_keys()),
      key_table("dkim", dkim_keys()),
  };
}

LoadResult load_string(std::string_view text, const std::string& file_name) {
  if (const auto shape = check_input_shape(text); !shape) {
    return std::unexpected(
        std::vector{Diagnostic{file_name, shape.error().line, "", shape.error().message}});
  }
  reading::Value root;
  try {
    std::istringstream in{std::string(text)};
    root = toml::parse(in, file_name);
  } catch (const toml::syntax_error& e) {
    Diagnostic d = reading::syntax_diagnostic(file_name, e);
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
  reading::Loader loader(file_name, text);
  loader.config().source_file = file_name.empty() ? file_name : reading::resolve_path("", file_name);
  reading::read_keys(loader, root, "", reading::top_keys(), loader.config());
  return loader.finish();
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
