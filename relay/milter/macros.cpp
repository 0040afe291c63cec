// relay/milter/macros.cpp — macros per stage (see macros.hpp).
#include "relay/milter/macros.hpp"

#include <algorithm>

#include "relay/milter/packet.hpp"

namespace relay::milter {

MacroLists default_macro_lists() {
  MacroLists lists;
  lists[static_cast<std::size_t>(MacroStage::connect)] = {"j", "_", "{daemon_name}", "{client_addr}", "{client_name}",
                                                          "{client_port}", "{if_addr}"};
  lists[static_cast<std::size_t>(MacroStage::helo)] = {"{tls_version}", "{cipher}"};
  lists[static_cast<std::size_t>(MacroStage::mail)] = {"i", "{auth_type}", "{auth_authen}", "{mail_addr}"};
  lists[static_cast<std::size_t>(MacroStage::rcpt)] = {"{rcpt_addr}"};
  lists[static_cast<std::size_t>(MacroStage::data)] = {"i"};
  lists[static_cast<std::size_t>(MacroStage::eoh)] = {"i"};
  lists[static_cast<std::size_t>(MacroStage::eom)] = {"i"};
  return lists;
}

namespace {
constexpr std::array<std::string_view, macro_stage_count> stage_names = {"connect", "helo", "mail", "rcpt",
                                                                         "data",    "eom",  "eoh"};
}

std::optional<MacroStage> macro_stage_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i < stage_names.size(); ++i)
    if (stage_names[i] == name) return static_cast<MacroStage>(i);
  return std::nullopt;
}

std::string_view to_string(MacroStage stage) noexcept {
  const auto index = static_cast<std::size_t>(stage);
  return index < stage_names.size() ? stage_names[index] : "unknown";
}

std::optional<std::vector<std::string>> parse_macro_names(std::string_view text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start < text.size()) {
    while (start < text.size() && (text[start] == ' ' || text[start] == ',')) ++start;
    std::size_t end = start;
    while (end < text.size() && text[end] != ' ' && text[end] != ',') ++end;
    if (end > start) {
      const std::string_view name = text.substr(start, end - start);
      const bool clean = std::ranges::all_of(name, [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7f;
      });
      const bool braced = name.front() == '{';
      if (!clean || name.size() > 64 || braced != (name.back() == '}') || (braced && name.size() < 3)) return std::nullopt;
      if (!braced && name.size() > 1) return std::nullopt;  // long names are written {name}
      names.emplace_back(name);
    }
    start = end;
  }
  return names;
}

std::string macro_packet(char before_command, const std::vector<std::string>& names, const MacroValues& values) {
  std::string data(1, before_command);
  bool any = false;
  for (const auto& name : names) {
    const auto found = std::ranges::find_if(values, [&](const auto& pair) { return pair.first == name; });
    if (found == values.end()) continue;
    append_cstring(data, name);
    // A value is one line of text; a control character in it (never expected) is dropped
    // rather than sent to a filter that may log it.
    std::string value;
    for (const char c : found->second)
      if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') value += c;
    append_cstring(data, value);
    any = true;
  }
  return any ? encode_packet(command::macro, data) : std::string();
}

}  // namespace relay::milter
