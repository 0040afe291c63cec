// tests/relay/client/client_settings_test.cpp — what "TLS-Required: No" (RFC 8689 §4.1)
// does to a smart host's session settings (relay/client/client_settings).
#include "relay/client/client_settings.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

using conf::TlsPolicy;

TEST(ClientSettings, HopsThatCanHoldMailBackForWantOfTlsDemandIt) {
  EXPECT_TRUE(demands_tls(TlsPolicy::required, false));
  EXPECT_TRUE(demands_tls(TlsPolicy::verify, false));
  EXPECT_TRUE(demands_tls(TlsPolicy::dane, true));  // a smart host's own TLSA records
  EXPECT_TRUE(demands_tls(TlsPolicy::automatic, true));  // DANE when the host has TLSA records
  EXPECT_FALSE(demands_tls(TlsPolicy::automatic, false));  // no TLSA lookup: opportunistic
  EXPECT_FALSE(demands_tls(TlsPolicy::opportunistic, true));
  EXPECT_FALSE(demands_tls(TlsPolicy::none, true));
}

TEST(ClientSettings, WaivingDropsDaneAndVerificationButNeverAddsTls) {
  ClientSettings dane;
  dane.tls = TlsPolicy::dane;
  dane.dane_records.push_back(routing::TlsaRecord{3, 1, 1, {}});
  dane.dane_names = {"example.com"};
  waive_tls_requirement(dane);
  EXPECT_EQ(dane.tls, TlsPolicy::opportunistic);
  EXPECT_TRUE(dane.dane_records.empty());
  EXPECT_TRUE(dane.dane_names.empty());

  ClientSettings verify;
  verify.tls = TlsPolicy::verify;
  waive_tls_requirement(verify);
  EXPECT_EQ(verify.tls, TlsPolicy::opportunistic);

  ClientSettings plain;
  waive_tls_requirement(plain);
  EXPECT_EQ(plain.tls, TlsPolicy::none);
}

}  // namespace
}  // namespace relay
