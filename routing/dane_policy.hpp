// routing/dane_policy.hpp — whether DANE applies to one MX host or smart host, as a pure
// decision.
//
// Owns: the RFC 7672 rules that turn DNS facts (was the MX answer DNSSEC-validated, were
// the host's addresses, what did the TLSA lookup find) and the hop's tls policy into one
// verdict: use the hop's ordinary TLS behaviour, authenticate the host with these TLSA
// records, or defer the mail. The delivery engine gathers the facts and acts on the verdict.
// Never: performs I/O or reads the clock.
// Standards: RFC 7672 §2.1 (secure MX and address records), §2.2 (TLSA lookup failures,
// unusable TLSA sets), §2.2.2 (TLSA base name of a next hop not found by MX lookup),
// §3.1 (usable usages); RFC 6698.
#pragma once

#include <string>
#include <vector>

#include "conf/config.hpp"
#include "routing/dns_message.hpp"

namespace routing {

/// What the TLSA lookup of _25._tcp.<host> found.
struct TlsaLookup {
  enum class Status : std::uint8_t {
    answered,  // an answer: records (maybe none, NXDOMAIN or NODATA), `secure` from the AD bit
    failed,    // SERVFAIL, timeout, refused: a validating resolver says SERVFAIL for bogus data
  };
  Status status = Status::answered;
  bool secure = false;
  std::vector<TlsaRecord> records;
  std::string error;  // failed: what the resolver said
};

/// The DNS facts about one MX host, and the hop's policy.
struct DaneFacts {
  conf::TlsPolicy mode = conf::TlsPolicy::opportunistic;
  bool dnssec = false;          // [dns] dnssec: the resolver's AD bit is trusted
  bool mx_secure = false;       // the MX answer (or the implicit-MX NODATA) had AD
  bool address_secure = false;  // every address answer of the host had AD
};

struct DaneVerdict {
  enum class Kind : std::uint8_t {
    ordinary,      // no DANE for this host: the hop's own TLS behaviour (opportunistic for auto)
    authenticate,  // STARTTLS is mandatory and the certificate must match `records`
    defer,         // no delivery to this host now (`why` says what was missing)
  };
  Kind kind = Kind::ordinary;
  std::vector<TlsaRecord> records;  // authenticate: the usable records only
  std::string why;                  // defer, and for logs when ordinary under auto
};

/// The facts for a smart host (type = "smarthost": its name is configured, not learnt from
/// an MX answer). There is no MX answer an attacker could have forged, so only the host's
/// address answers must be validated, and its TLSA records are _PORT._tcp.HOST (RFC 7672
/// §2.2.2; Postfix does the same for a next hop without MX lookup).
DaneFacts smart_host_facts(conf::TlsPolicy mode, bool dnssec, bool address_secure) noexcept;

/// Whether TLSA needs to be looked up for a host with `facts` (false: decide_dane gives
/// the verdict without it). RFC 7672 §2.2.2: not for insecure MX or address records.
bool wants_tlsa(const DaneFacts& facts) noexcept;

/// The verdict for one MX host. `tlsa` is ignored when wants_tlsa(facts) is false.
DaneVerdict decide_dane(const DaneFacts& facts, const TlsaLookup& tlsa);

}  // namespace routing
