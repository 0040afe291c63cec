// relay/client/client_settings.hpp — how the SMTP client talks to one hop.
//
// Owns: the client's per-connection settings (HELO name, timeouts, TLS, AUTH, source
// address) and the one place they are built from the configuration, for delivery and
// for recipient callouts alike (a callout only shortens every step to its own timeout).
// Never: performs I/O.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "routing/dns_message.hpp"

namespace relay {

struct ClientSettings {
  std::string helo_name;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  // --- per-hop session: defaults keep a plain, anonymous session ---
  conf::TlsPolicy tls = conf::TlsPolicy::none;
  std::string tls_server_name;  // name to verify and send as SNI (the configured host)
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string auth_user;        // AUTH PLAIN, else LOGIN (RFC 4954) when non-empty
  std::string auth_password;
  std::string source_address;   // bind before connect when non-empty
  /// DANE for this connection (routing/dane_policy said "authenticate"): STARTTLS is then
  /// mandatory and the certificate must match one of these records, whatever `tls` says.
  std::vector<routing::TlsaRecord> dane_records;
  std::vector<std::string> dane_names;  // DANE-TA(2) names besides tls_server_name
  /// MTA-STS for this connection (routing/mta_sts_policy said "verify" or "report"): the
  /// certificate must chain to the system store (plus `sts_ca_file`) and name
  /// tls_server_name, the MX host. `verify`: STARTTLS is mandatory and a failed check ends
  /// the session; `report` (policy mode testing): checked, but the mail goes anyway.
  enum class Sts : std::uint8_t { off, verify, report };
  Sts sts = Sts::off;
  std::string sts_ca_file;
};

/// The settings for a session with `hop`, verifying (and sending as SNI) `server_name`:
/// the hop's own timeouts where set, else [delivery]'s.
ClientSettings client_settings(const conf::Config& config, const conf::HopConfig& hop, std::string server_name);

/// A message said "TLS-Required: No" (RFC 8689 §4.1): a hop's demand for TLS (required,
/// verify, DANE) becomes opportunistic TLS; a hop without TLS stays without.
void waive_tls_requirement(ClientSettings& settings);

/// Whether a smart host's `tls` can keep a message from being sent for want of TLS:
/// required, verify, dane, and auto when it looks up the host's TLSA records (`dnssec`,
/// [dns] dnssec). A "TLS-Required: No" message to such a hop goes on a session of its own
/// with waive_tls_requirement; the hop's pooled sessions keep its policy.
bool demands_tls(conf::TlsPolicy tls, bool dnssec) noexcept;

/// The same for a recipient callout: every step, the connect included, within `step`.
ClientSettings callout_settings(const conf::Config& config, const conf::HopConfig& hop, std::chrono::seconds step);

}  // namespace relay
