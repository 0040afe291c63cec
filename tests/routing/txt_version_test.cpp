// Tests for routing/txt_version: exactly one TXT record of a version (RFC 8461 §3.1, RFC 8460 §3).
#include "routing/txt_version.hpp"

#include <gtest/gtest.h>

namespace routing {
namespace {

using Status = VersionedRecord::Status;

TEST(TxtVersion, TheOneRecordOfTheVersionIsFoundAmongOthers) {
  const auto found = select_versioned_record(
      {"google-site-verification=abc", "v=TLSRPTv1; rua=mailto:r@example.com", "v=spf1 -all"}, "v=TLSRPTv1;");
  EXPECT_EQ(found.status, Status::found);
  EXPECT_EQ(found.record, "v=TLSRPTv1; rua=mailto:r@example.com");
  EXPECT_EQ(versioned_record_problem(found, "v=TLSRPTv1;"), "");
}

TEST(TxtVersion, TwoRecordsOfTheVersionMeanNone) {
  const auto found = select_versioned_record(
      {"v=TLSRPTv1; rua=mailto:a@example.com", "v=TLSRPTv1; rua=mailto:b@example.com"}, "v=TLSRPTv1;");
  EXPECT_EQ(found.status, Status::several);
  EXPECT_EQ(found.record, "");
  EXPECT_EQ(versioned_record_problem(found, "v=TLSRPTv1;"), "more than one v=TLSRPTv1 TXT record");
}

TEST(TxtVersion, RecordsNotBeginningWithTheVersionAreDiscarded) {
  // "v=TLSRPTv10;" or a version elsewhere in the text is not the version.
  const auto found = select_versioned_record({"x v=STSv1; id=1", "v=STSv10; id=2", "v=STSv1"}, "v=STSv1;");
  EXPECT_EQ(found.status, Status::none);
  EXPECT_EQ(versioned_record_problem(found, "v=STSv1;"), "no v=STSv1 TXT record");
  EXPECT_EQ(select_versioned_record({}, "v=STSv1;").status, Status::none);
}

}  // namespace
}  // namespace routing
