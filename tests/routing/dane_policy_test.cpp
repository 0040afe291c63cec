// tests/routing/dane_policy_test.cpp — the RFC 7672 decision: secure MX and addresses,
// TLSA answers (validated or not, usable or not, failed), tls = "dane" versus "auto";
// a smart host (no MX answer) needs only its addresses validated.
#include <gtest/gtest.h>

#include "routing/dane_policy.hpp"

namespace routing {
namespace {

using Kind = DaneVerdict::Kind;
using conf::TlsPolicy;

const TlsaRecord ee{3, 1, 1, std::vector<std::uint8_t>(32, 7)};
const TlsaRecord pkix{1, 1, 1, std::vector<std::uint8_t>(32, 7)};

DaneFacts secure(TlsPolicy mode) { return {mode, true, true, true}; }
TlsaLookup found(std::vector<TlsaRecord> records, bool is_secure = true) {
  return {TlsaLookup::Status::answered, is_secure, std::move(records), {}};
}

TEST(DanePolicy, UsableValidatedTlsaAuthenticates) {
  for (const auto mode : {TlsPolicy::dane, TlsPolicy::automatic}) {
    ASSERT_TRUE(wants_tlsa(secure(mode)));
    const auto verdict = decide_dane(secure(mode), found({pkix, ee}));
    EXPECT_EQ(verdict.kind, Kind::authenticate);
    EXPECT_EQ(verdict.records, std::vector<TlsaRecord>{ee});  // the PKIX record is dropped
  }
}

TEST(DanePolicy, SmartHostNeedsOnlyItsAddressesValidated) {
  for (const auto mode : {TlsPolicy::dane, TlsPolicy::automatic}) {
    const DaneFacts signed_host = smart_host_facts(mode, true, true);
    ASSERT_TRUE(wants_tlsa(signed_host));  // the configured name stands in for an MX answer
    EXPECT_EQ(decide_dane(signed_host, found({ee})).kind, Kind::authenticate);
    const DaneFacts unsigned_host = smart_host_facts(mode, true, false);
    EXPECT_FALSE(wants_tlsa(unsigned_host));
    EXPECT_EQ(decide_dane(unsigned_host, {}).kind, mode == TlsPolicy::dane ? Kind::defer : Kind::ordinary);
  }
  // auto without TLSA stays opportunistic, as the documentation promised before.
  EXPECT_EQ(decide_dane(smart_host_facts(TlsPolicy::automatic, true, true), found({})).kind, Kind::ordinary);
  EXPECT_EQ(decide_dane(smart_host_facts(TlsPolicy::dane, true, true), found({})).kind, Kind::defer);
  EXPECT_FALSE(wants_tlsa(smart_host_facts(TlsPolicy::automatic, false, true)));  // no [dns] dnssec
}

TEST(DanePolicy, OtherPoliciesAndNoDnssecNeverUseDane) {
  for (const auto mode : {TlsPolicy::none, TlsPolicy::opportunistic, TlsPolicy::required, TlsPolicy::verify}) {
    EXPECT_FALSE(wants_tlsa(secure(mode)));
    EXPECT_EQ(decide_dane(secure(mode), found({ee})).kind, Kind::ordinary);
  }
  DaneFacts untrusted = secure(TlsPolicy::automatic);
  untrusted.dnssec = false;
  EXPECT_FALSE(wants_tlsa(untrusted));
  EXPECT_EQ(decide_dane(untrusted, found({ee})).kind, Kind::ordinary);
}

TEST(DanePolicy, InsecureMxOrAddressesMeanNoDane) {
  for (const bool mx : {false, true}) {
    DaneFacts facts = secure(TlsPolicy::automatic);
    facts.mx_secure = mx;
    facts.address_secure = !mx;
    EXPECT_FALSE(wants_tlsa(facts));
    EXPECT_EQ(decide_dane(facts, found({ee})).kind, Kind::ordinary);
    facts.mode = TlsPolicy::dane;
    const auto verdict = decide_dane(facts, found({ee}));
    EXPECT_EQ(verdict.kind, Kind::defer);
    EXPECT_NE(verdict.why.find("not DNSSEC-validated"), std::string::npos) << verdict.why;
  }
}

TEST(DanePolicy, MissingUnusableOrUnvalidatedTlsa) {
  const TlsaLookup cases[] = {found({}), found({pkix}), found({ee}, false), found({}, false)};
  for (const auto& tlsa : cases) {
    EXPECT_EQ(decide_dane(secure(TlsPolicy::automatic), tlsa).kind, Kind::ordinary);
    EXPECT_EQ(decide_dane(secure(TlsPolicy::dane), tlsa).kind, Kind::defer);
  }
}

TEST(DanePolicy, FailedTlsaLookupOnASecureHostDefers) {
  const TlsaLookup failed{TlsaLookup::Status::failed, false, {}, "_25._tcp.mx.example TLSA: Server failure"};
  for (const auto mode : {TlsPolicy::dane, TlsPolicy::automatic}) {
    const auto verdict = decide_dane(secure(mode), failed);
    EXPECT_EQ(verdict.kind, Kind::defer);
    EXPECT_NE(verdict.why.find("Server failure"), std::string::npos);
  }
}

}  // namespace
}  // namespace routing
