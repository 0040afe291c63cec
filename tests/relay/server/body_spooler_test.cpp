// tests/relay/server/body_spooler_test.cpp — the head a spooled body keeps: its header
// section's fields, for the tracking record's Message-ID and "TLS-Required: No"
// (relay/server/body_spooler over the shared header field reader).
#include "relay/server/body_spooler.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/temp_dir.hpp"

namespace relay {
namespace {

// Spools `message` (inline_max 16: anything longer goes to a file) and returns the head.
std::string head_of(const std::string& message) {
  test_support::TempDir dir;
  auto spool = queue::Spool::open(dir.path().string(), 1);
  EXPECT_TRUE(spool.has_value());
  if (!spool) return {};
  BodySpooler spooler(spool->get(), 16);
  std::string pending = message;
  spooler.drain(pending, 1);
  EXPECT_TRUE(pending.empty());
  std::string rest;
  const auto finished = spooler.finish(rest);
  EXPECT_TRUE(finished && finished->has_value());
  return std::string(spooler.head());
}

TEST(BodySpooler, HeadIsTheHeaderSectionsFields) {
  EXPECT_EQ(head_of("Message-ID: <a@b>\r\nTLS-Required: No\r\n\r\nbody text\r\n"),
            "Message-ID: <a@b>\r\nTLS-Required: No\r\n");
  // Folded fields stay whole.
  EXPECT_EQ(head_of("Subject: one\r\n two\r\n\r\nbody text\r\n"), "Subject: one\r\n two\r\n");
}

TEST(BodySpooler, HeadWithoutAnEndIsTheFirstOctets) {
  const std::string fields = "X: " + std::string(BodySpooler::head_max, 'a') + "\r\n\r\nbody\r\n";
  EXPECT_EQ(head_of(fields).size(), BodySpooler::head_max);
  EXPECT_EQ(head_of("Subject: no empty line at all\r\n"), "Subject: no empty line at all\r\n");
}

TEST(BodySpooler, NoHeaderFieldsNoHead) {
  EXPECT_EQ(head_of("\r\nbody text\r\nX: not a header\r\n\r\nmore\r\n"), "");
}

}  // namespace
}  // namespace relay
