// relay/cli/tls_explain.cpp — the outbound TLS lines of `route explain` (see the header).
#include "relay/cli/tls_explain.hpp"

#include <fmt/format.h>

namespace relay {
namespace {

// What the hop's tls setting means, in one phrase.
std::string_view meaning(conf::TlsPolicy policy, bool dnssec) {
  switch (policy) {
    case conf::TlsPolicy::none: return "never STARTTLS";
    case conf::TlsPolicy::opportunistic: return "STARTTLS when offered, any certificate";
    case conf::TlsPolicy::required: return "STARTTLS must succeed, any certificate";
    case conf::TlsPolicy::verify: return "STARTTLS must succeed, chain and name verified";
    case conf::TlsPolicy::dane: return "each host must be authenticated by its TLSA records, else the mail waits";
    case conf::TlsPolicy::mta_sts:
      return "the domain's MTA-STS policy: only the MX hosts it names, chain and name verified, else the mail waits";
    case conf::TlsPolicy::automatic:
      return dnssec ? "DANE for hosts with validated TLSA records, else MTA-STS when the domain publishes a policy, "
                      "else opportunistic"
                    : "MTA-STS when the domain publishes a policy, else opportunistic ([dns] dnssec is off: no TLSA "
                      "is looked up)";
  }
  return "";
}

// What DNS says about the host's TLSA records.
std::string tlsa_state(const HostTlsFacts& h) {
  if (!h.facts.mx_secure) return "MX answer not DNSSEC-validated, TLSA not looked up";
  if (!h.facts.address_secure) return "address records not DNSSEC-validated, TLSA not looked up";
  if (!h.tlsa) return "TLSA not looked up";
  const routing::TlsaLookup& t = *h.tlsa;
  if (t.status == routing::TlsaLookup::Status::failed) return "TLSA lookup failed: " + t.error;
  if (!t.secure) return t.records.empty() ? "no TLSA (answer not validated)" : "TLSA insecure (no AD)";
  if (t.records.empty()) return "no TLSA";
  return "";  // validated records: the verdict says whether any is usable
}

}  // namespace

bool dane_may_apply(const conf::Config& config, const conf::HopConfig& hop) noexcept {
  return config.dns.dnssec && (hop.tls == conf::TlsPolicy::automatic || hop.tls == conf::TlsPolicy::dane);
}

std::string host_tls_line(const HostTlsFacts& host) {
  if (!host.error.empty()) return fmt::format("{}: address lookup failed: {}", host.host, host.error);
  const routing::DaneVerdict verdict =
      routing::decide_dane(host.facts, host.tlsa.value_or(routing::TlsaLookup{}));
  std::string state = tlsa_state(host);
  switch (verdict.kind) {
    case routing::DaneVerdict::Kind::authenticate:
      return fmt::format("{}: DANE ({} usable TLSA record{}, DNSSEC-validated): STARTTLS required, the certificate "
                         "must match",
                         host.host, verdict.records.size(), verdict.records.size() == 1 ? "" : "s");
    case routing::DaneVerdict::Kind::defer:
      return fmt::format("{}: {}: skipped, nothing is sent to it", host.host, state.empty() ? verdict.why : state);
    case routing::DaneVerdict::Kind::ordinary: break;
  }
  return fmt::format("{}: {}: opportunistic TLS", host.host, state.empty() ? verdict.why : state);
}

std::string hop_tls_explanation(const conf::Config& config, const conf::HopConfig& hop, const HopTlsFacts* facts) {
  std::string text = fmt::format("  {}: tls = {} ({})\n", hop.name, conf::to_string(hop.tls),
                                 meaning(hop.tls, config.dns.dnssec));
  if (facts != nullptr) {
    if (!facts->error.empty()) text += fmt::format("    {}\n", facts->error);
    for (const auto& host : facts->hosts) text += "    " + host_tls_line(host) + "\n";
  }
  // MTA-STS (RFC 8461), once implemented, adds the domain's policy mode as its own line here.
  return text;
}

}  // namespace relay
