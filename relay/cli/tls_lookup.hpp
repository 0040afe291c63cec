// relay/cli/tls_lookup.hpp — the DNS facts `hubrelay route explain` shows for outbound TLS.
//
// Owns: asking the relay's resolver (routing::DnsResolver with [dns], the same servers,
// static hosts and dnssec setting delivery uses) what delivery would ask before
// connecting: the domain's MX answer (or a smart host's name), each host's addresses and,
// where routing/dane_policy wants them, its TLSA records. Runs its own io_context until
// the answers are in; every question has the resolver's timeout.
// Never: connects to a hop. Errors: lookup failures are facts in the answer.
#pragma once

#include <string_view>

#include "conf/config.hpp"
#include "relay/cli/tls_explain.hpp"

namespace relay {

/// The facts for `hop` (type "mx": the MX hosts of `domain`, at most as many as delivery
/// tries; a smart host: its host name).
HopTlsFacts look_up_tls_facts(const conf::Config& config, const conf::HopConfig& hop, std::string_view domain);

}  // namespace relay
