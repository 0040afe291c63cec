// routing/dane_policy.cpp — the RFC 7672 decision table (see the header).
#include "routing/dane_policy.hpp"

#include <algorithm>

namespace routing {
namespace {

bool dane_mode(conf::TlsPolicy mode) noexcept {
  return mode == conf::TlsPolicy::dane || mode == conf::TlsPolicy::automatic;
}

// Under "dane" every missing piece defers; under "auto" it means no DANE for this host.
DaneVerdict without_dane(const DaneFacts& facts, std::string why) {
  if (facts.mode == conf::TlsPolicy::dane) return {DaneVerdict::Kind::defer, {}, std::move(why)};
  return {DaneVerdict::Kind::ordinary, {}, std::move(why)};
}

}  // namespace

DaneFacts smart_host_facts(conf::TlsPolicy mode, bool dnssec, bool address_secure) noexcept {
  return {mode, dnssec, true, address_secure};
}

bool wants_tlsa(const DaneFacts& facts) noexcept {
  return dane_mode(facts.mode) && facts.dnssec && facts.mx_secure && facts.address_secure;
}

DaneVerdict decide_dane(const DaneFacts& facts, const TlsaLookup& tlsa) {
  if (!dane_mode(facts.mode) || !facts.dnssec) return {};
  // §2.1/§2.2.2: an MX or address answer an attacker could have forged cannot lead to
  // TLSA records that mean anything.
  if (!facts.mx_secure) return without_dane(facts, "MX records not DNSSEC-validated");
  if (!facts.address_secure) return without_dane(facts, "address records not DNSSEC-validated");
  // §2.2: a failed lookup on a signed host may be an attacker hiding the records (a
  // validating resolver answers SERVFAIL for bogus data): defer, even under auto.
  if (tlsa.status == TlsaLookup::Status::failed)
    return {DaneVerdict::Kind::defer, {}, "TLSA lookup failed: " + tlsa.error};
  if (!tlsa.secure) return without_dane(facts, "TLSA answer not DNSSEC-validated");
  if (tlsa.records.empty()) return without_dane(facts, "no TLSA records");
  DaneVerdict verdict{DaneVerdict::Kind::authenticate, {}, {}};
  std::ranges::copy_if(tlsa.records, std::back_inserter(verdict.records), usable_for_smtp);
  // §2.2: a set without usable records counts as no TLSA (mandatory TLS is not asked of it).
  if (verdict.records.empty()) return without_dane(facts, "no usable TLSA records");
  return verdict;
}

}  // namespace routing
