// conf/load_tls_reporting.cpp — the [tls_reporting] table: daily TLS reports (RFC 8460).
//
// Owns: the keys of [tls_reporting] (enabled, organization, contact, from, send_hour),
// their limits, and the defaults taken from [relay] hostname (read after [relay]).
// See docs/tls-policy.md and docs/configuration.md.
#include "conf/reader.hpp"

namespace conf::reading {
namespace {

constexpr Limit tls_reporting_send_hour{"tls_reporting.send_hour", LimitKind::integer, 0, 23};

}  // namespace

const Keys<TlsReportingConfig>& tls_reporting_keys() {
  static const Keys<TlsReportingConfig> keys{
      {"enabled", Need::optional, into_bool(&TlsReportingConfig::enabled)},
      {"organization", Need::optional, into_string(&TlsReportingConfig::organization)},
      {"contact", Need::optional, into_string(&TlsReportingConfig::contact)},
      {"from", Need::optional,
       [](Loader& l, const Field& f, TlsReportingConfig& reporting) {
         if (l.read_string(*f.value, f.key, reporting.from) &&
             (reporting.from.find('@') == std::string::npos ||
              reporting.from.find_first_of(" <>\r\n") != std::string::npos))
           l.error(f, quote(reporting.from) + " is not a mail address");
       }},
      {"send_hour", Need::optional, into_integer(&TlsReportingConfig::send_hour, tls_reporting_send_hour)},
  };
  return keys;
}

void read_tls_reporting(Loader& loader, const Field& f, Config& config) {
  if (f.value != nullptr && loader.expect(*f.value, toml::value_t::table, f.key))
    read_keys(loader, *f.value, f.key, tls_reporting_keys(), config.tls_reporting);
  auto& reporting = config.tls_reporting;
  const std::string& hostname = config.relay.hostname;
  if (reporting.organization.empty()) reporting.organization = hostname;
  if (reporting.contact.empty()) reporting.contact = "mailto:postmaster@" + hostname;
  if (reporting.from.empty()) reporting.from = "postmaster@" + hostname;
}

}  // namespace conf::reading
