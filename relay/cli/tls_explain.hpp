// relay/cli/tls_explain.hpp — the "outbound tls:" part of `hubrelay route explain`.
//
// Owns: what the outbound TLS policy of a route's hops would do for one recipient
// domain: each hop's tls setting and, for hops where DANE can apply (tls = "auto" or
// "dane" with [dns] dnssec), each host (the domain's MX hosts, or a smart host's own
// name) with what DNS says about it: validated TLSA records ("DANE"), none ("no TLSA"),
// records without the AD bit ("TLSA insecure (no AD)"), or why TLSA is not looked up,
// and what delivery would then do (routing/dane_policy decides, as for a delivery).
// Pure: the DNS facts come from the caller (relay/cli/tls_lookup asks the resolver).
// Standards: RFC 7672 §2.1, §2.2.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "routing/dane_policy.hpp"

namespace relay {

/// What DNS said about one host of a hop.
struct HostTlsFacts {
  std::string host;
  routing::DaneFacts facts;                 // the hop's policy and the AD bits seen
  std::optional<routing::TlsaLookup> tlsa;  // nullopt: not looked up (routing::wants_tlsa false)
  std::string error;                        // the host's addresses could not be resolved
};

/// The hosts of one hop for one domain, in the order delivery tries them.
struct HopTlsFacts {
  std::vector<HostTlsFacts> hosts;
  std::string error;  // the MX lookup failed (or the domain has a null MX)
};

/// Looks up the facts of `hop` for mail to `domain` (only asked for hops where DANE can apply).
using TlsFactsLookup =
    std::function<HopTlsFacts(const conf::Config& config, const conf::HopConfig& hop, std::string_view domain)>;

/// Whether DANE can apply to `hop` at all: tls = "auto" or "dane", and [dns] dnssec.
bool dane_may_apply(const conf::Config& config, const conf::HopConfig& hop) noexcept;

/// One host's line: "mx.example.com: DANE (2 usable TLSA records, DNSSEC-validated)".
std::string host_tls_line(const HostTlsFacts& host);

/// The lines of one hop under "outbound tls:" (two-space indented, newline-terminated).
/// `facts` is null when DANE cannot apply (or nothing was looked up).
std::string hop_tls_explanation(const conf::Config& config, const conf::HopConfig& hop, const HopTlsFacts* facts);

}  // namespace relay
