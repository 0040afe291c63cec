// conf/load_milter.cpp — the key table of [milter.NAME], a content filter spoken to with
// the Sendmail milter protocol.
//
// Owns: one row per key: address ("inet:HOST:PORT", an IPv6 host in brackets, or
// "unix:/path", resolved against the file's directory), the three timeouts, the
// default action, and the per-stage macro overrides (a table of stage = "names", each
// name one letter or {name}). The listeners' `milters` lists are checked against these
// tables in load_listener.cpp, which is read after this section.
// Never: connects to the filter. See docs/configuration.md#milter.
#include <algorithm>
#include <array>
#include <charconv>

#include "conf/ascii.hpp"
#include "conf/reader.hpp"

namespace conf::reading {

namespace {

constexpr std::array<std::string_view, 7> macro_stages{"connect", "helo", "mail", "rcpt", "data", "eoh", "eom"};

// "inet:HOST:PORT" (IPv6 as [addr]) or "unix:/path"; the error says what is wrong.
std::string parse_milter_address(Loader& l, const std::string& text, MilterConfig& milter) {
  if (text.starts_with("unix:")) {
    const std::string path = text.substr(5);
    if (path.empty()) return "a unix socket needs a path: \"unix:/run/filter.sock\"";
    milter.socket_path = l.resolve(path);
    return {};
  }
  if (!text.starts_with("inet:")) return "use \"inet:HOST:PORT\" or \"unix:/path\"";
  const std::string_view rest = std::string_view(text).substr(5);
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return "\"inet:\" needs HOST:PORT";
  std::string_view host = rest.substr(0, colon);
  const std::string_view port = rest.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return "an IPv6 host is written [address]";
    host = host.substr(1, host.size() - 2);
  } else if (!is_hostname(std::string(host)) && host.find_first_not_of("0123456789.") != std::string_view::npos) {
    return "invalid host " + quote(std::string(host));
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return "invalid port " + quote(std::string(port)) + " (1 to 65535)";
  milter.host = std::string(host);
  milter.port = static_cast<std::uint16_t>(value);
  return {};
}

// One letter ("j") or a braced name ("{client_addr}"), as filters ask for macros.
bool valid_macro_name(std::string_view name) {
  const bool printable = std::ranges::all_of(name, [](char c) { return c > 0x20 && c < 0x7f && c != ','; });
  if (!printable || name.empty() || name.size() > 64) return false;
  if (name.front() == '{') return name.size() >= 3 && name.back() == '}';
  return name.size() == 1;
}

}  // namespace

const Keys<MilterConfig>& milter_keys() {
  static const Keys<MilterConfig> keys{
      {"address", Need::required,
       [](Loader& l, const Field& f, MilterConfig& milter) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (const std::string error = parse_milter_address(l, text, milter); !error.empty()) {
           l.error(f, "invalid address " + quote(text) + ": " + error);
         } else {
           milter.address = text;
         }
       }},
      {"connect_timeout", Need::optional, into_duration(&MilterConfig::connect_timeout, limits::milter_timeout)},
      {"command_timeout", Need::optional, into_duration(&MilterConfig::command_timeout, limits::milter_timeout)},
      {"content_timeout", Need::optional, into_duration(&MilterConfig::content_timeout, limits::milter_timeout)},
      {"default_action", Need::optional,
       [](Loader& l, const Field& f, MilterConfig& milter) {
         using Action = MilterConfig::DefaultAction;
         static constexpr std::array<std::pair<std::string_view, Action>, 4> choices{{{"tempfail", Action::tempfail},
                                                                                      {"accept", Action::accept},
                                                                                      {"reject", Action::reject},
                                                                                      {"shutdown", Action::shutdown}}};
         read_choice(l, *f.value, f.key, choices, milter.default_action);
       }},
      {"macros", Need::optional,
       [](Loader& l, const Field& f, MilterConfig& milter) {
         if (!l.expect(*f.value, toml::value_t::table, f.key)) return;
         for (const auto& [stage, value] : f.value->as_table()) {
           const std::string key = f.key + "." + stage;
           if (std::ranges::find(macro_stages, stage) == macro_stages.end()) {
             l.error(l.line_of(value), key, "unknown stage (use connect, helo, mail, rcpt, data, eoh or eom)");
             continue;
           }
           std::string text;
           if (!l.read_string(value, key, text)) continue;
           std::vector<std::string> names;
           bool good = true;
           for (std::size_t start = 0; start < text.size();) {
             const auto end = std::min(text.find(' ', start), text.size());
             const std::string name = text.substr(start, end - start);
             if (!name.empty() && !valid_macro_name(name)) {
               l.error(l.line_of(value), key, "invalid macro name " + quote(name) + " (one letter or {name})");
               good = false;
             } else if (!name.empty()) {
               names.push_back(name);
             }
             start = end + 1;
           }
           if (good) milter.macros.emplace_back(stage, std::move(names));
         }
       }},
  };
  return keys;
}

}  // namespace conf::reading
