// Tests of relay/server/session_tracking: the receive and queue records of a committed
// message name its Message-ID whether its body is inline or spooled, and its signatures.
#include "relay/server/session_tracking.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "relay/tracking/search.hpp"

namespace relay {
namespace {

std::vector<tracking::Record> recorded(const queue::QueuedMessage& message, std::string_view head,
                                       std::string_view dkim, const std::string& name) {
  const auto dir = std::filesystem::path(testing::TempDir()) / ("session-tracking-" + name);
  std::filesystem::remove_all(dir);
  {
    auto writer = tracking::Writer::start({.dir = dir});
    EXPECT_TRUE(writer.has_value());
    conf::ListenerConfig listener;
    listener.name = "outbound";
    track_reception(writer->get(), message, listener, "192.0.2.1", "client.test", nullptr, head, dkim);
  }  // the writer writes what is waiting before it stops
  return tracking::search(dir, {});
}

queue::QueuedMessage message() {
  queue::QueuedMessage m;
  m.id = 42;
  m.sender = "alice@example.org";
  m.recipients = {{0, "bob@example.com"}};
  m.received_at = tracking::now_ms();
  return m;
}

constexpr std::string_view header = "Received: from client.test\r\nMessage-ID: <big.1@example.org>\r\nSubject: s\r\n";

TEST(SessionTracking, SpooledBodyHasItsMessageIdFromItsFirstOctets) {
  queue::QueuedMessage m = message();
  m.body.file = "0000002A.body";
  m.body.file_size = 200'000;
  const auto records = recorded(m, header, "", "spooled");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) EXPECT_EQ(r.message_id, "big.1@example.org") << tracking::to_string(r.event);
}

TEST(SessionTracking, InlineBodyHasItsMessageIdAsBefore) {
  queue::QueuedMessage m = message();
  m.body.data = std::make_shared<const std::string>(std::string(header) + "\r\nbody\r\n");
  const auto records = recorded(m, "", "", "inline");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].message_id, "big.1@example.org");
}

TEST(SessionTracking, SignaturesAreNamedInTheReceiveAndQueueRecords) {
  queue::QueuedMessage m = message();
  m.body.data = std::make_shared<const std::string>("Subject: s\r\n\r\nbody\r\n");
  const auto records = recorded(m, "", "example.org/s2026/rsa-sha256,example.org/e2026/ed25519-sha256", "dkim");
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records)
    EXPECT_EQ(r.dkim, "example.org/s2026/rsa-sha256,example.org/e2026/ed25519-sha256") << tracking::to_string(r.event);
  const auto unsigned_ = recorded(message(), "", "", "unsigned");
  ASSERT_EQ(unsigned_.size(), 2u);
  EXPECT_EQ(unsigned_[0].dkim, "");
  EXPECT_EQ(tracking::format_record(unsigned_[0]).find("dkim"), std::string::npos);  // absent, not empty
}

}  // namespace
}  // namespace relay
