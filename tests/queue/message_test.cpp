// Tests for queue/message.cpp and queue/errc.cpp: printed queue ids, state names, error texts.
#include "queue/message.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "queue/errc.hpp"

namespace queue {
namespace {

TEST(FormatQueueId, UpperCaseHexPaddedToTenDigits) {
  struct Case {
    MessageId id;
    std::string want;
  };
  const Case cases[] = {
      {0, "0000000000"},
      {1, "0000000001"},
      {255, "00000000FF"},
      {0xABCDEF, "0000ABCDEF"},
      {0xFFFFFFFFFF, "FFFFFFFFFF"},
      {0x10000000000, "10000000000"},  // longer ids are not truncated
      {std::numeric_limits<MessageId>::max(), "7FFFFFFFFFFFFFFF"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(format_queue_id(c.id), c.want) << "id " << c.id;
  }
}

TEST(RecipientState, NamesAndStoredValues) {
  EXPECT_EQ(to_string(RecipientState::pending), "pending");
  EXPECT_EQ(to_string(RecipientState::delivered), "delivered");
  EXPECT_EQ(to_string(RecipientState::failed), "failed");
  EXPECT_EQ(to_string(RecipientState::expired), "expired");
  EXPECT_EQ(to_string(static_cast<RecipientState>(42)), "unknown");
  // Stored as integers in the database: a renumbering would corrupt old queues.
  EXPECT_EQ(static_cast<int>(RecipientState::pending), 0);
  EXPECT_EQ(static_cast<int>(RecipientState::delivered), 1);
  EXPECT_EQ(static_cast<int>(RecipientState::failed), 2);
  EXPECT_EQ(static_cast<int>(RecipientState::expired), 3);
}

TEST(QueueErrc, CategoryAndMessages) {
  const std::error_code ec = errc::storage_full;
  EXPECT_STREQ(ec.category().name(), "queue");
  EXPECT_EQ(ec, errc::storage_full);
  EXPECT_NE(ec, errc::io_error);
  for (errc e : {errc::storage_full, errc::io_error, errc::busy, errc::corrupt, errc::closed, errc::not_found,
                 errc::internal}) {
    const std::string text = make_error_code(e).message();
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.find("unknown"), std::string::npos) << text;
  }
  EXPECT_NE(std::error_code(99, queue_category()).message().find("unknown"), std::string::npos);
}

}  // namespace
}  // namespace queue
