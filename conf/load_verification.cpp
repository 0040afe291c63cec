// conf/load_verification.inc — reading the issue-6 verification keys of [policy.NAME]:
// DNSBL zones and recipient verification (static list/file, callout).
//
// Owns: turning those keys into the PolicyConfig fields after `auth_users`, with
// file:line:key diagnostics (bad zone, bad action, bad return code, TTL out of range,
// missing or unreadable list file, bad list line as "FILE:LINE" of the list itself).
// Included once by conf/load.cpp inside its anonymous namespace, so it uses the Loader's
// typed readers; kept apart so the feature stays out of the rest of the loader.
// Reads the valid_recipients_file (bounded: 16 MiB) at every load, so a SIGHUP picks
// up a changed list. Never resolves zones or contacts hops. See docs/policy.md.

namespace verification_keys {

using limits::dnsbl_timeout;  // ranges live in the one table, conf/limits.hpp
using limits::dnsbl_ttl;
using limits::callout_timeout;
using limits::callout_ttl;
using limits::callout_cache_size;
inline constexpr std::size_t max_list_file_bytes = 16 * 1024 * 1024;
inline constexpr std::size_t max_zones = 32;

}  // namespace verification_keys

void Loader::read_policy_verification(const Section& s, PolicyConfig& policy) {
  namespace vk = verification_keys;
  if (const Value* v = s.find("dnsbl")) {
    const std::string key = s.key("dnsbl");
    if (expect(*v, toml::value_t::array, key)) {
      const auto& zones = v->as_array();
      if (zones.size() > vk::max_zones) error(line_of(*v), key, "at most " + std::to_string(vk::max_zones) + " zones");
      for (std::size_t i = 0; i < zones.size() && i < vk::max_zones; ++i) {
        const std::string zkey = key + "[" + std::to_string(i) + "]";
        if (!expect(zones[i], toml::value_t::table, zkey)) continue;
        Section z(*this, zones[i], zkey, {"zone", "action", "match"});
        PolicyConfig::DnsblZone zone{.line = line_of(zones[i])};
        bool ok = true;
        if (const Value* name = z.require("zone")) {
          std::string text;
          ok = read_string(*name, z.key("zone"), text) && ok;
          while (text.ends_with('.')) text.pop_back();
          const auto pattern = DomainPattern::parse(text);
          if (!text.empty() && (!pattern || text.find('*') != std::string::npos || text.find('.') == std::string::npos)) {
            error(line_of(*name), z.key("zone"), "invalid DNSBL zone " + quote(text) + " (a DNS name such as \"zen.example.org\")");
            ok = false;
          }
          for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          zone.zone = std::move(text);
        } else {
          ok = false;
        }
        if (const Value* action = z.find("action")) {
          std::string text;
          if (read_string(*action, z.key("action"), text)) {
            if (text == "tag") {
              zone.tag = true;
            } else if (text != "reject") {
              error(line_of(*action), z.key("action"), "expected \"reject\" or \"tag\", found " + quote(text));
              ok = false;
            }
          }
        }
        if (const Value* match = z.find("match")) {
          std::vector<Item> codes;
          read_string_array(*match, z.key("match"), codes);
          for (Item& code : codes) {
            if (code.text.find('/') != std::string::npos || code.text.find(':') != std::string::npos ||
                !check_cidr(code.text)) {
              error(code.line, code.key, "expected an IPv4 return code such as \"127.0.0.2\", found " + quote(code.text));
              ok = false;
            } else {
              zone.match.push_back(std::move(code.text));
            }
          }
        }
        if (ok) policy.dnsbl.push_back(std::move(zone));
      }
    }
  }
  if (const Value* v = s.find("dnsbl_check")) {
    std::string text;
    if (read_string(*v, s.key("dnsbl_check"), text)) {
      if (text == "connect") {
        policy.dnsbl_at_connect = true;
      } else if (text != "rcpt") {
        error(line_of(*v), s.key("dnsbl_check"), "expected \"rcpt\" or \"connect\", found " + quote(text));
      }
    }
  }
  if (const Value* v = s.find("dnsbl_timeout")) read_duration(*v, s.key("dnsbl_timeout"), vk::dnsbl_timeout, policy.dnsbl_timeout);
  if (const Value* v = s.find("dnsbl_min_ttl")) read_seconds(*v, s.key("dnsbl_min_ttl"), vk::dnsbl_ttl, policy.dnsbl_min_ttl);
  if (const Value* v = s.find("dnsbl_max_ttl")) read_seconds(*v, s.key("dnsbl_max_ttl"), vk::dnsbl_ttl, policy.dnsbl_max_ttl);
  if (policy.dnsbl_min_ttl > policy.dnsbl_max_ttl) {
    error(s.line(), s.key("dnsbl_min_ttl"), "must not be greater than dnsbl_max_ttl");
  }

  if (const Value* v = s.find("valid_recipients")) {
    policy.static_recipients = true;
    std::vector<Item> entries;
    read_string_array(*v, s.key("valid_recipients"), entries);
    for (Item& entry : entries) {
      auto normalized = normalize_recipient_entry(entry.text);
      if (!normalized) {
        error(entry.line, entry.key, normalized.error());
      } else {
        policy.valid_recipients.push_back(std::move(*normalized));
      }
    }
  }
  if (const Value* v = s.find("valid_recipients_file")) {
    std::string path;
    if (read_string(*v, s.key("valid_recipients_file"), path)) {
      policy.static_recipients = true;
      path = resolve_path(file_, path);
      policy.valid_recipients_file = path;
      std::error_code ec;
      const auto size = std::filesystem::file_size(path, ec);
      std::ifstream in(path, std::ios::binary);
      if (ec || !in) {
        error(line_of(*v), s.key("valid_recipients_file"), "cannot read " + quote(path) + ": " +
                                                               (ec ? ec.message() : std::string(std::strerror(errno))));
      } else if (size > vk::max_list_file_bytes) {
        error(line_of(*v), s.key("valid_recipients_file"), quote(path) + " is larger than 16 MiB");
      } else {
        std::string text(static_cast<std::size_t>(size), '\0');
        in.read(text.data(), static_cast<std::streamsize>(text.size()));
        for (const auto& problem : parse_recipient_list(text, policy.valid_recipients)) {
          error(line_of(*v), s.key("valid_recipients_file"),
                path + ":" + std::to_string(problem.line) + ": " + problem.message);
        }
      }
    }
  }
  if (const Value* v = s.find("recipient_callout")) read_bool(*v, s.key("recipient_callout"), policy.recipient_callout);
  if (const Value* v = s.find("callout_sender")) {
    std::string text;
    if (read_string(*v, s.key("callout_sender"), text)) {
      auto normalized = normalize_recipient_entry(text);
      if (!text.empty() && (!normalized || normalized->starts_with('@'))) {
        error(line_of(*v), s.key("callout_sender"), "expected an address (user@domain) or \"\" for <>");
      } else {
        policy.callout_sender = std::move(text);
      }
    }
  }
  if (const Value* v = s.find("callout_timeout")) read_seconds(*v, s.key("callout_timeout"), vk::callout_timeout, policy.callout_timeout);
  if (const Value* v = s.find("callout_positive_ttl")) {
    read_seconds(*v, s.key("callout_positive_ttl"), vk::callout_ttl, policy.callout_positive_ttl);
  }
  if (const Value* v = s.find("callout_negative_ttl")) {
    read_seconds(*v, s.key("callout_negative_ttl"), vk::callout_ttl, policy.callout_negative_ttl);
  }
  if (const Value* v = s.find("callout_on_failure")) {
    std::string text;
    if (read_string(*v, s.key("callout_on_failure"), text)) {
      if (text == "accept") {
        policy.callout_accept_on_failure = true;
      } else if (text != "defer") {
        error(line_of(*v), s.key("callout_on_failure"), "expected \"defer\" or \"accept\", found " + quote(text));
      }
    }
  }
  if (const Value* v = s.find("callout_cache_size")) {
    read_integer(*v, s.key("callout_cache_size"), vk::callout_cache_size, policy.callout_cache_size);
  }
}
