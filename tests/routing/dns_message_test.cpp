// tests/routing/dns_message_test.cpp — raw DNS answers: header bits, TLSA records,
// compressed names, truncated input; the AD bit set in a query.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "routing/dns_message.hpp"

namespace routing {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes name(const std::string& dotted) {
  Bytes out;
  std::size_t start = 0;
  while (start < dotted.size()) {
    const auto dot = dotted.find('.', start);
    const std::string label = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    out.push_back(static_cast<std::uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  out.push_back(0);
  return out;
}

// A response to "_25._tcp.mx.example TLSA" with `records` (each as its RDATA), answer
// owner names compressed to the question (0xC00C), as resolvers send them.
Bytes response(std::uint8_t flags2, const std::vector<Bytes>& rdatas, std::uint16_t type = dns_type_tlsa) {
  Bytes m{0x12, 0x34, 0x81, flags2, 0, 1, 0, static_cast<std::uint8_t>(rdatas.size()), 0, 0, 0, 0};
  const Bytes q = name("_25._tcp.mx.example");
  m.insert(m.end(), q.begin(), q.end());
  m.insert(m.end(), {0, 52, 0, 1});
  for (const auto& rdata : rdatas) {
    m.insert(m.end(), {0xC0, 0x0C, static_cast<std::uint8_t>(type >> 8), static_cast<std::uint8_t>(type), 0, 1,
                       0, 0, 0x0E, 0x10, 0, static_cast<std::uint8_t>(rdata.size())});
    m.insert(m.end(), rdata.begin(), rdata.end());
  }
  return m;
}

TEST(DnsMessage, ReadsTlsaRecordsAndTheAdBit) {
  const Bytes sha256(32, 0xAB);
  Bytes r1{3, 1, 1};
  r1.insert(r1.end(), sha256.begin(), sha256.end());
  const Bytes r2{2, 0, 0, 0x30, 0x82};
  const auto facts = read_dns_answer(response(0xA0, {r1, r2}));  // RA + AD
  ASSERT_TRUE(facts) << facts.error();
  EXPECT_TRUE(facts->authentic);
  EXPECT_EQ(facts->rcode, 0);
  ASSERT_EQ(facts->tlsa.size(), 2u);
  EXPECT_EQ(facts->tlsa[0], (TlsaRecord{3, 1, 1, sha256}));
  EXPECT_EQ(facts->tlsa[1], (TlsaRecord{2, 0, 0, {0x30, 0x82}}));
}

TEST(DnsMessage, WithoutAdTheAnswerIsNotAuthentic) {
  const auto facts = read_dns_answer(response(0x80, {{3, 1, 1, 0}}));
  ASSERT_TRUE(facts);
  EXPECT_FALSE(facts->authentic);
  EXPECT_FALSE(authentic_data(response(0x80, {})));
  EXPECT_TRUE(authentic_data(response(0xA0, {})));
}

TEST(DnsMessage, RcodeAndOtherRecordTypes) {
  const auto servfail = read_dns_answer(response(0x82, {}));
  ASSERT_TRUE(servfail);
  EXPECT_EQ(servfail->rcode, static_cast<std::uint8_t>(DnsRcode::server_failure));
  // A CNAME in the answer section is skipped, not taken for TLSA.
  const auto cname = read_dns_answer(response(0xA0, {name("other.example")}, 5));
  ASSERT_TRUE(cname);
  EXPECT_TRUE(cname->tlsa.empty());
}

TEST(DnsMessage, RejectsTruncatedAndMalformedInput) {
  Bytes full = response(0xA0, {{3, 1, 1, 1, 2, 3}});
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    const Bytes part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_FALSE(read_dns_answer(part)) << "cut at " << cut;
  }
  Bytes query = full;
  query[2] = 0x01;  // QR clear: a query, not a response
  EXPECT_FALSE(read_dns_answer(query));
  EXPECT_FALSE(read_dns_answer(response(0xA0, {{3, 1}})));  // RDATA shorter than 3 octets
  Bytes reserved = full;
  reserved[12] = 0x80;  // label type 10: reserved
  EXPECT_FALSE(read_dns_answer(reserved));
}

TEST(DnsMessage, RequestAuthenticDataSetsOnlyTheAdBit) {
  Bytes query{0, 7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  request_authentic_data(query);
  EXPECT_EQ(query[2], 0x01);
  EXPECT_EQ(query[3], 0x20);
  Bytes tiny{1, 2, 3};
  request_authentic_data(tiny);
  EXPECT_EQ(tiny, (Bytes{1, 2, 3}));
}

TEST(DnsMessage, UsableForSmtp) {
  EXPECT_TRUE(usable_for_smtp({3, 1, 1, Bytes(32, 1)}));
  EXPECT_TRUE(usable_for_smtp({2, 0, 2, Bytes(64, 1)}));
  EXPECT_TRUE(usable_for_smtp({3, 0, 0, Bytes{0x30}}));
  EXPECT_FALSE(usable_for_smtp({0, 0, 1, Bytes(32, 1)}));  // PKIX-TA
  EXPECT_FALSE(usable_for_smtp({1, 1, 1, Bytes(32, 1)}));  // PKIX-EE
  EXPECT_FALSE(usable_for_smtp({3, 2, 1, Bytes(32, 1)}));  // unknown selector
  EXPECT_FALSE(usable_for_smtp({3, 1, 3, Bytes(32, 1)}));  // unknown matching type
  EXPECT_FALSE(usable_for_smtp({3, 1, 1, Bytes(31, 1)}));  // a SHA2-256 of the wrong length
  EXPECT_FALSE(usable_for_smtp({3, 1, 0, Bytes{}}));
}

}  // namespace
}  // namespace routing
