// relay/dkim/dns_record.cpp — see dns_record.hpp.
#include "relay/dkim/dns_record.hpp"

#include <optional>

namespace relay::dkim {
namespace {

constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

/// The value of `tag` in a tag-list; nothing when absent.
std::optional<std::string> tag_value(std::string_view list, std::string_view tag) {
  while (!list.empty()) {
    const auto semicolon = list.find(';');
    const std::string_view spec = list.substr(0, semicolon);
    list = semicolon == std::string_view::npos ? std::string_view{} : list.substr(semicolon + 1);
    const auto equals = spec.find('=');
    if (equals == std::string_view::npos || trim(spec.substr(0, equals)) != tag) continue;
    std::string value;
    for (const char c : spec.substr(equals + 1))
      if (!is_space(c)) value.push_back(c);
    return value;
  }
  return std::nullopt;
}

}  // namespace

std::string record_text(std::string_view k, std::string_view p) {
  return "v=DKIM1; k=" + std::string(k) + "; p=" + std::string(p);
}

std::string zone_file_record(std::string_view selector, std::string_view domain, std::string_view k,
                             std::string_view p) {
  const std::string text = record_text(k, p);
  std::string out = std::string(selector) + "._domainkey." + std::string(domain) + ". IN TXT";
  for (std::size_t i = 0; i < text.size(); i += 255) out += " \"" + text.substr(i, 255) + "\"";
  return out;
}

RecordMatch compare_record(std::string_view published, std::string_view k, std::string_view p) {
  if (trim(published).empty()) return RecordMatch::missing;
  if (const auto v = tag_value(published, "v"); v && *v != "DKIM1") return RecordMatch::malformed;
  const auto key = tag_value(published, "p");
  if (!key) return RecordMatch::malformed;
  if (key->empty()) return RecordMatch::revoked;
  const std::string type = tag_value(published, "k").value_or("rsa");  // k= defaults to rsa
  return type == k && *key == p ? RecordMatch::match : RecordMatch::mismatch;
}

}  // namespace relay::dkim
