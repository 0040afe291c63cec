// tests/relay/dkim/dns_record_test.cpp — the record keygen prints (255-octet strings) and
// the comparison dkim check makes.
#include <gtest/gtest.h>

#include "relay/dkim/dns_record.hpp"

namespace relay::dkim {
namespace {

TEST(DnsRecord, ZoneFileLineSplitsLongText) {
  const std::string p(400, 'A');
  const std::string line = zone_file_record("s1", "example.com", "rsa", p);
  const std::string text = record_text("rsa", p);
  EXPECT_EQ(line, "s1._domainkey.example.com. IN TXT \"" + text.substr(0, 255) + "\" \"" + text.substr(255) + "\"");
  EXPECT_EQ(zone_file_record("e", "example.com", "ed25519", "KEY"),
            "e._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; p=KEY\"");
}

TEST(DnsRecord, Comparison) {
  EXPECT_EQ(compare_record("v=DKIM1; k=rsa; p=ABC", "rsa", "ABC"), RecordMatch::match);
  EXPECT_EQ(compare_record("p=A B\tC", "rsa", "ABC"), RecordMatch::match);  // k= defaults to rsa
  EXPECT_EQ(compare_record("v=DKIM1; k=ed25519; p=ABC", "rsa", "ABC"), RecordMatch::mismatch);
  EXPECT_EQ(compare_record("v=DKIM1; p=XYZ", "rsa", "ABC"), RecordMatch::mismatch);
  EXPECT_EQ(compare_record("v=DKIM1; p=", "rsa", "ABC"), RecordMatch::revoked);
  EXPECT_EQ(compare_record("", "rsa", "ABC"), RecordMatch::missing);
  EXPECT_EQ(compare_record("v=spf1 -all", "rsa", "ABC"), RecordMatch::malformed);
  EXPECT_EQ(compare_record("v=DKIM2; p=ABC", "rsa", "ABC"), RecordMatch::malformed);
}

}  // namespace
}  // namespace relay::dkim
