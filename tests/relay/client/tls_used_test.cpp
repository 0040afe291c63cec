// tests/relay/client/tls_used_test.cpp — the names of what protected a session, as the log
// line, the queue's history and the counters print them (relay/tls_used.hpp).
#include "relay/tls_used.hpp"

#include <gtest/gtest.h>

namespace relay {
namespace {

TEST(TlsUsed, EveryKindHasItsName) {
  EXPECT_EQ(to_string(TlsKind::none), "none");
  EXPECT_EQ(to_string(TlsKind::opportunistic), "opportunistic");
  EXPECT_EQ(to_string(TlsKind::verified), "verified");
  EXPECT_EQ(to_string(TlsKind::dane), "dane");
}

TEST(TlsUsed, WhichKindsAuthenticatedTheServer) {
  EXPECT_FALSE(verified(TlsKind::none));
  EXPECT_FALSE(verified(TlsKind::opportunistic));
  EXPECT_TRUE(verified(TlsKind::verified));
  EXPECT_TRUE(verified(TlsKind::dane));
  EXPECT_TRUE(verified(TlsKind::mta_sts));
}

TEST(TlsUsed, LogFieldsAndHistoryText) {
  const TlsUsed dane{TlsKind::dane, "TLSv1.3", "TLS_AES_256_GCM_SHA384"};
  EXPECT_EQ(log_fields(dane), "tls=dane tls_protocol=TLSv1.3 tls_cipher=TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(describe(dane), "dane TLSv1.3 TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(log_fields(TlsUsed{}), "tls=none");  // plain text: no protocol, no cipher
  EXPECT_EQ(describe(TlsUsed{}), "none");
}

}  // namespace
}  // namespace relay
