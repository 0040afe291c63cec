// policy/dnsbl.cpp — query names, return-code matching and combining DNSBL answers.
//
// Why the default match excludes 127.255.255.0/24: large lists answer 127.255.255.x to
// say "your query was refused" (e.g. a public resolver, or over quota), which is an
// error report, not a listing; counting it would block every client at once. 127.0.0.1
// is excluded for the same reason (RFC 5782 §5: lists must not use it as a listing).
#include "policy/dnsbl.hpp"

#include <algorithm>

namespace policy {
namespace {

constexpr std::string_view hex = "0123456789abcdef";

bool default_listing(const IpAddress& code) noexcept {
  if (!code.v4) return false;
  const auto& b = code.bytes;
  if (b[12] != 127) return false;
  if (b[13] == 255 && b[14] == 255) return false;
  return !(b[13] == 0 && b[14] == 0 && b[15] == 1);
}

}  // namespace

std::string dnsbl_query_name(const IpAddress& client, std::string_view zone) {
  const IpAddress ip = client.canonical();
  std::string name;
  if (ip.v4) {
    for (int i = 15; i >= 12; --i) name += std::to_string(ip.bytes[static_cast<std::size_t>(i)]) + ".";
  } else {
    for (int i = 15; i >= 0; --i) {
      const std::uint8_t byte = ip.bytes[static_cast<std::size_t>(i)];
      name += hex[byte & 0x0f];
      name += '.';
      name += hex[byte >> 4];
      name += '.';
    }
  }
  name.append(zone);
  return name;
}

std::expected<std::vector<DnsblZone>, std::string> compile_dnsbl(const std::vector<conf::PolicyConfig::DnsblZone>& zones) {
  std::vector<DnsblZone> out;
  for (const auto& zone : zones) {
    DnsblZone compiled{zone.zone, zone.tag, {}};
    for (const auto& code : zone.match) {
      const auto ip = IpAddress::parse(code);
      if (!ip || !ip->canonical().v4) return std::unexpected("dnsbl zone " + zone.zone + ": bad return code '" + code + "'");
      compiled.match.push_back(ip->canonical());
    }
    out.push_back(std::move(compiled));
  }
  return out;
}

std::string dnsbl_listing(const DnsblZone& zone, const DnsblLookup& lookup) {
  if (lookup.failed) return {};
  for (const auto& text : lookup.addresses) {
    const auto code = IpAddress::parse(text);
    if (!code) continue;
    const IpAddress canonical = code->canonical();
    const bool listed = zone.match.empty() ? default_listing(canonical) : std::ranges::find(zone.match, canonical) != zone.match.end();
    if (listed) return canonical.to_string();
  }
  return {};
}

DnsblOutcome interpret_dnsbl(std::span<const DnsblZone> zones, std::span<const DnsblLookup> lookups) {
  DnsblOutcome outcome;
  const std::size_t n = std::min(zones.size(), lookups.size());
  for (std::size_t i = 0; i < n; ++i) {
    const std::string code = dnsbl_listing(zones[i], lookups[i]);
    if (code.empty()) continue;
    if (!zones[i].tag) {
      if (outcome.reject_zone.empty()) {
        outcome.reject_zone = zones[i].zone;
        outcome.reject_reason = dnsbl_reason(lookups[i].reason);
      }
    } else {
      outcome.tags.push_back(zones[i].zone + "=" + code);
    }
  }
  // A rejected client sends no message, so tags are irrelevant then.
  if (!outcome.reject_zone.empty()) {
    outcome.decision = Decision::reject(Reason::dnsbl_listed);
    outcome.tags.clear();
  }
  return outcome;
}

std::string dnsbl_reason(std::string_view txt) {
  constexpr std::size_t max_length = 200;
  std::string out;
  bool space = false;
  for (const char c : txt) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {  // spaces, tabs, CR, LF and other controls
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += u < 0x7F ? c : '?';
    if (out.size() >= max_length) break;
  }
  if (out.size() > max_length) out.resize(max_length);
  if (!out.empty() && out.back() == ' ') out.pop_back();  // a cut right after a space
  return out;
}

std::string dnsbl_tag_header(std::span<const std::string> tags) {
  if (tags.empty()) return {};
  std::string header = "X-Hubrelay-DNSBL: ";
  for (std::size_t i = 0; i < tags.size(); ++i) header += (i == 0 ? "" : ", ") + tags[i];
  return header + "\r\n";
}

std::chrono::seconds dnsbl_cache_ttl(std::chrono::seconds dns_ttl, std::chrono::seconds min, std::chrono::seconds max) {
  return std::clamp(dns_ttl, min, std::max(min, max));
}

std::string dnsbl_cache_key(std::string_view zone, const IpAddress& client) {
  return std::string(zone) + " " + client.canonical().to_string();
}

}  // namespace policy
