// tests/queue/wal_checkpointer_test.cpp — checkpoints leave the writer's commits: the
// writer's auto-checkpoint is off once attached, its commits past the threshold wake the
// checkpoint thread, which copies the WAL into the database file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "queue/wal_checkpointer.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

std::int64_t pragma_value(sqlite3* db, const char* sql) {
  auto s = Statement::prepare(db, sql);
  EXPECT_TRUE(s);
  if (!s || s->step() != SQLITE_ROW) return -1;
  return s->column_int64(0);
}

void insert_one(SqliteStore& store, std::size_t body_size) {
  NewMessage m;
  m.listener = "inbound";
  m.sender = "alice@example.net";
  m.recipients = {"bob@example.com"};
  m.body = std::string(body_size, 'x');
  ASSERT_FALSE(store.begin());
  ASSERT_TRUE(store.insert(std::move(m), 0));
  ASSERT_FALSE(store.commit());
}

TEST(WalCheckpointer, WriterNoLongerCheckpointsItself) {
  test_support::TempDir dir("wal");
  auto store = SqliteStore::open(dir.file("q.db"));
  ASSERT_TRUE(store) << store.error();
  EXPECT_GT(pragma_value(store->handle(), "PRAGMA wal_autocheckpoint"), 0);
  auto checkpointer = WalCheckpointer::open(dir.file("q.db"), 1'000'000);  // never woken here
  ASSERT_TRUE(checkpointer) << checkpointer.error();
  ASSERT_EQ((*checkpointer)->attach(store->handle()), SQLITE_OK);
  EXPECT_EQ(pragma_value(store->handle(), "PRAGMA wal_autocheckpoint"), 0);
  const auto db_size = std::filesystem::file_size(dir.file("q.db"));
  // 45 x 100 KiB: about 1,150 WAL pages, past the 1,000 at which SQLite would have checkpointed.
  for (int i = 0; i < 45; ++i) insert_one(*store, 100 * 1024);
  // The bodies stayed in the WAL: no commit copied them into the database file.
  EXPECT_EQ(std::filesystem::file_size(dir.file("q.db")), db_size);
  EXPECT_EQ((*checkpointer)->checkpoints(), 0u);
}

TEST(WalCheckpointer, CommitsPastTheThresholdAreCheckpointedByTheThread) {
  test_support::TempDir dir("wal");
  auto store = SqliteStore::open(dir.file("q.db"));
  ASSERT_TRUE(store) << store.error();
  auto checkpointer = WalCheckpointer::open(dir.file("q.db"), 10);
  ASSERT_TRUE(checkpointer) << checkpointer.error();
  ASSERT_EQ((*checkpointer)->attach(store->handle()), SQLITE_OK);
  const auto db_size = std::filesystem::file_size(dir.file("q.db"));
  insert_one(*store, 100 * 1024);  // 25+ pages: past the threshold of 10
  // Bounded wait for the thread (not a timing assertion: the bound is generous).
  for (int i = 0; i < 1000 && (*checkpointer)->checkpoints() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE((*checkpointer)->checkpoints(), 1u);
  EXPECT_GT(std::filesystem::file_size(dir.file("q.db")), db_size + 100 * 1024) << "the body reached the database file";
}

}  // namespace
}  // namespace queue
