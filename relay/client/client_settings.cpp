// relay/client/client_settings.cpp — client settings from the configuration.
#include "relay/client/client_settings.hpp"

#include <algorithm>

namespace relay {

ClientSettings client_settings(const conf::Config& config, const conf::HopConfig& hop, std::string server_name) {
  ClientSettings settings{config.delivery.helo_name.empty() ? config.relay.hostname : config.delivery.helo_name,
                          hop.connect_timeout.count() > 0 ? hop.connect_timeout : config.delivery.connect_timeout,
                          hop.command_timeout.count() > 0 ? hop.command_timeout : config.delivery.command_timeout,
                          config.delivery.data_timeout};
  settings.tls = hop.tls;
  settings.tls_server_name = std::move(server_name);
  settings.tls_ca_file = hop.tls_ca_file;
  settings.tls_cert_file = hop.tls_cert_file;
  settings.tls_key_file = hop.tls_key_file;
  settings.auth_user = hop.auth_user;
  settings.auth_password = hop.auth_password;
  settings.source_address = hop.source_address;
  return settings;
}

void waive_tls_requirement(ClientSettings& settings) {
  if (settings.tls != conf::TlsPolicy::none) settings.tls = conf::TlsPolicy::opportunistic;
  settings.dane_records.clear();
  settings.dane_names.clear();
}

bool demands_tls(conf::TlsPolicy tls, bool dnssec) noexcept {
  switch (tls) {
    case conf::TlsPolicy::required:
    case conf::TlsPolicy::verify:
    case conf::TlsPolicy::dane: return true;
    case conf::TlsPolicy::automatic: return dnssec;  // DANE when the host has TLSA records
    case conf::TlsPolicy::none:
    case conf::TlsPolicy::opportunistic:
    case conf::TlsPolicy::mta_sts: return false;  // mta-sts: MX hops only
  }
  return false;
}

ClientSettings callout_settings(const conf::Config& config, const conf::HopConfig& hop, std::chrono::seconds step) {
  ClientSettings settings = client_settings(config, hop, hop.host);
  settings.connect_timeout = std::min(settings.connect_timeout, step);
  settings.command_timeout = step;
  settings.data_timeout = step;
  return settings;
}

}  // namespace relay
