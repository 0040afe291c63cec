// tests/support/store_fixture.hpp — a SqliteStore on a fresh queue.db, one per test.
//
// Owns: the fixture the queue store tests share: a temporary directory and queue.db in it
// opened by SqliteStore (as the daemon opens it), closed before the directory goes, and
// insert/claim/record each in a transaction of its own.
// Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "queue/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace test_support {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = queue::SqliteStore::open(db_path());
    ASSERT_TRUE(opened) << opened.error();
    store_.emplace(std::move(*opened));
  }

  std::string db_path() const { return dir_.file("queue.db"); }

  // Each in its own transaction, as the daemon's queue writer does it.
  queue::MessageId insert(queue::NewMessage m, queue::UnixMillis lease_until) {
    EXPECT_FALSE(store_->begin());
    auto stored = store_->insert(std::move(m), lease_until);
    EXPECT_TRUE(stored) << stored.error().message();
    EXPECT_FALSE(store_->commit());
    return stored ? stored->id : 0;
  }

  std::vector<queue::QueuedMessage> claim(queue::UnixMillis now, queue::UnixMillis lease_until,
                                          std::size_t limit = 100) {
    EXPECT_FALSE(store_->begin());
    auto claimed = store_->claim_due(now, lease_until, limit);
    EXPECT_TRUE(claimed) << claimed.error().message();
    EXPECT_FALSE(store_->commit());
    return claimed ? std::move(*claimed) : std::vector<queue::QueuedMessage>{};
  }

  std::error_code record(std::vector<queue::RecipientOutcome> outcomes) {
    EXPECT_FALSE(store_->begin());
    const std::error_code ec = store_->record(outcomes, freed_);
    EXPECT_FALSE(store_->commit());
    return ec;
  }

  // Declared first, destroyed last: the store is closed before its directory is removed.
  TempDir dir_{"hubrelay-store"};
  std::optional<queue::SqliteStore> store_;
  queue::FreedFiles freed_;  // spool files the recorded outcomes freed, in order
};

}  // namespace test_support
