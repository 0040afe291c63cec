// conf/load_verification.cpp — the DNSBL and recipient verification rows of [policy.NAME].
//
// Owns: the key table of those policy keys (DNSBL zones, static recipient list and list
// file, callout) and of each `dnsbl` zone entry, with file:line:key diagnostics (bad zone,
// bad action, bad return code, TTL out of range, missing or unreadable list file, bad list
// line as "FILE:LINE" of the list itself). conf/load_policy.cpp puts these rows into the
// [policy.NAME] table after `auth_users`.
// Reads the valid_recipients_file (bounded: 16 MiB) at every load, so a SIGHUP picks
// up a changed list. Never resolves zones or contacts hops. See docs/policy.md.
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "conf/domain_pattern.hpp"
#include "conf/ascii.hpp"
#include "conf/recipient_list.hpp"
#include "conf/reader.hpp"

namespace conf::reading {

/// One entry of `dnsbl`; kept only when every key of it is good.
struct ZoneEntry {
  PolicyConfig::DnsblZone zone;
  bool ok = true;
};

namespace {

inline constexpr std::size_t max_list_file_bytes = 16 * 1024 * 1024;
inline constexpr std::size_t max_zones = 32;

void read_dnsbl(Loader& l, const Field& f, PolicyConfig& policy) {
  if (!l.expect(*f.value, toml::value_t::array, f.key)) return;
  const auto& zones = f.value->as_array();
  if (zones.size() > max_zones) l.error(f, "at most " + std::to_string(max_zones) + " zones");
  for (std::size_t i = 0; i < zones.size() && i < max_zones; ++i) {
    const std::string zkey = f.key + "[" + std::to_string(i) + "]";
    if (!l.expect(zones[i], toml::value_t::table, zkey)) continue;
    ZoneEntry entry{.zone = {.line = l.line_of(zones[i])}};
    read_keys(l, zones[i], zkey, dnsbl_zone_keys(), entry);
    if (entry.ok) policy.dnsbl.push_back(std::move(entry.zone));
  }
}

/// A word that turns a bool on; `off_word` leaves it as it is; anything else is reported.
Reader<PolicyConfig> switch_word(bool PolicyConfig::*field, std::string_view on_word, std::string_view off_word) {
  return [=](Loader& l, const Field& f, PolicyConfig& policy) {
    std::string text;
    if (!l.read_string(*f.value, f.key, text)) return;
    if (text == on_word) {
      policy.*field = true;
    } else if (text != off_word) {
      l.error(f, "expected \"" + std::string(off_word) + "\" or \"" + std::string(on_word) + "\", found " +
                     quote(text));
    }
  };
}

void read_recipients_file(Loader& l, const Field& f, PolicyConfig& policy) {
  std::string path;
  if (!l.read_string(*f.value, f.key, path)) return;
  policy.static_recipients = true;
  path = l.resolve(path);
  policy.valid_recipients_file = path;
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) {
    l.error(f, "cannot read " + quote(path) + ": " + (ec ? ec.message() : std::string(std::strerror(errno))));
  } else if (size > max_list_file_bytes) {
    l.error(f, quote(path) + " is larger than 16 MiB");
  } else {
    std::string text(static_cast<std::size_t>(size), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& problem : parse_recipient_list(text, policy.valid_recipients)) {
      l.error(f, path + ":" + std::to_string(problem.line) + ": " + problem.message);
    }
  }
}

}  // namespace

const Keys<ZoneEntry>& dnsbl_zone_keys() {
  static const Keys<ZoneEntry> keys{
      {"zone", Need::always,
       [](Loader& l, const Field& f, ZoneEntry& entry) {
         if (f.value == nullptr) {
           f.section.missing(f.name);
           entry.ok = false;
           return;
         }
         std::string text;
         entry.ok = l.read_string(*f.value, f.key, text) && entry.ok;
         while (text.ends_with('.')) text.pop_back();
         const auto pattern = DomainPattern::parse(text);
         if (!text.empty() &&
             (!pattern || text.find('*') != std::string::npos || text.find('.') == std::string::npos)) {
           l.error(f, "invalid DNSBL zone " + quote(text) + " (a DNS name such as \"zen.example.org\")");
           entry.ok = false;
         }
         entry.zone.zone = ascii_lowercase(text);
       }},
      {"action", Need::optional,
       [](Loader& l, const Field& f, ZoneEntry& entry) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         if (text == "tag") {
           entry.zone.tag = true;
         } else if (text != "reject") {
           l.error(f, "expected \"reject\" or \"tag\", found " + quote(text));
           entry.ok = false;
         }
       }},
      {"match", Need::optional,
       [](Loader& l, const Field& f, ZoneEntry& entry) {
         std::vector<Item> codes;
         l.read_string_array(*f.value, f.key, codes);
         for (Item& code : codes) {
           if (code.text.find('/') != std::string::npos || code.text.find(':') != std::string::npos ||
               !check_cidr(code.text)) {
             l.error(code.line, code.key,
                     "expected an IPv4 return code such as \"127.0.0.2\", found " + quote(code.text));
             entry.ok = false;
           } else {
             entry.zone.match.push_back(std::move(code.text));
           }
         }
       }},
  };
  return keys;
}

const Keys<PolicyConfig>& policy_verification_keys() {
  static const Keys<PolicyConfig> keys{
      {"dnsbl", Need::optional, read_dnsbl},
      {"dnsbl_check", Need::optional, switch_word(&PolicyConfig::dnsbl_at_connect, "connect", "rcpt")},
      {"dnsbl_timeout", Need::optional, into_duration(&PolicyConfig::dnsbl_timeout, limits::dnsbl_timeout)},
      {"dnsbl_min_ttl", Need::optional, into_seconds(&PolicyConfig::dnsbl_min_ttl, limits::dnsbl_ttl)},
      {"dnsbl_max_ttl", Need::always,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         if (f.value != nullptr) l.read_seconds(*f.value, f.key, limits::dnsbl_ttl, policy.dnsbl_max_ttl);
         if (policy.dnsbl_min_ttl > policy.dnsbl_max_ttl) {
           l.error(f.section.line(), f.section.key("dnsbl_min_ttl"), "must not be greater than dnsbl_max_ttl");
         }
       }},
      {"valid_recipients", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         policy.static_recipients = true;
         std::vector<Item> entries;
         l.read_string_array(*f.value, f.key, entries);
         for (Item& entry : entries) {
           auto normalized = normalize_recipient_entry(entry.text);
           if (!normalized) {
             l.error(entry.line, entry.key, normalized.error());
           } else {
             policy.valid_recipients.push_back(std::move(*normalized));
           }
         }
       }},
      {"valid_recipients_file", Need::optional, read_recipients_file},
      {"recipient_callout", Need::optional, into_bool(&PolicyConfig::recipient_callout)},
      {"callout_sender", Need::optional,
       [](Loader& l, const Field& f, PolicyConfig& policy) {
         std::string text;
         if (!l.read_string(*f.value, f.key, text)) return;
         auto normalized = normalize_recipient_entry(text);
         if (!text.empty() && (!normalized || normalized->starts_with('@'))) {
           l.error(f, "expected an address (user@domain) or \"\" for <>");
         } else {
           policy.callout_sender = std::move(text);
         }
       }},
      {"callout_timeout", Need::optional, into_seconds(&PolicyConfig::callout_timeout, limits::callout_timeout)},
      {"callout_positive_ttl", Need::optional,
       into_seconds(&PolicyConfig::callout_positive_ttl, limits::callout_ttl)},
      {"callout_negative_ttl", Need::optional,
       into_seconds(&PolicyConfig::callout_negative_ttl, limits::callout_ttl)},
      {"callout_on_failure", Need::optional,
       switch_word(&PolicyConfig::callout_accept_on_failure, "accept", "defer")},
      {"callout_cache_size", Need::optional,
       into_integer(&PolicyConfig::callout_cache_size, limits::callout_cache_size)},
  };
  return keys;
}

}  // namespace conf::reading
