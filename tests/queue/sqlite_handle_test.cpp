// Tests for queue/sqlite_handle.cpp: SQLite result codes → queue::errc, statement reuse.
#include "queue/sqlite_handle.hpp"

#include <gtest/gtest.h>

namespace queue {
namespace {

TEST(ToErrc, MapsPrimaryAndExtendedCodes) {
  struct Case {
    int sqlite_result;
    const char* name;
    errc want;
  };
  const Case cases[] = {
      {SQLITE_FULL, "FULL", errc::storage_full},
      {SQLITE_IOERR, "IOERR", errc::io_error},
      {SQLITE_IOERR_WRITE, "IOERR_WRITE", errc::io_error},
      {SQLITE_IOERR_FSYNC, "IOERR_FSYNC", errc::io_error},
      {SQLITE_IOERR_NOMEM, "IOERR_NOMEM", errc::io_error},
      {SQLITE_CANTOPEN, "CANTOPEN", errc::io_error},
      {SQLITE_READONLY, "READONLY", errc::io_error},
      {SQLITE_PERM, "PERM", errc::io_error},
      {SQLITE_BUSY, "BUSY", errc::busy},
      {SQLITE_BUSY_SNAPSHOT, "BUSY_SNAPSHOT", errc::busy},
      {SQLITE_LOCKED, "LOCKED", errc::busy},
      {SQLITE_LOCKED_SHAREDCACHE, "LOCKED_SHAREDCACHE", errc::busy},
      {SQLITE_CORRUPT, "CORRUPT", errc::corrupt},
      {SQLITE_CORRUPT_INDEX, "CORRUPT_INDEX", errc::corrupt},
      {SQLITE_NOTADB, "NOTADB", errc::corrupt},
      {SQLITE_CONSTRAINT, "CONSTRAINT", errc::internal},
      {SQLITE_CONSTRAINT_NOTNULL, "CONSTRAINT_NOTNULL", errc::internal},
      {SQLITE_MISUSE, "MISUSE", errc::internal},
      {SQLITE_ERROR, "ERROR", errc::internal},
      {SQLITE_NOMEM, "NOMEM", errc::internal},
      {SQLITE_OK, "OK", errc::internal},  // to_errc is only asked about failures
  };
  for (const Case& c : cases) {
    EXPECT_EQ(to_errc(c.sqlite_result), c.want) << c.name;
  }
}

TEST(Statement, ReusedAcrossBindingsAndBindsEmptyTextAsText) {
  auto db = open_connection(":memory:");
  ASSERT_TRUE(db) << db.error();
  ASSERT_EQ(execute(db->get(), "CREATE TABLE t(k INTEGER, v TEXT NOT NULL, b BLOB NOT NULL)"), SQLITE_OK);
  auto insert = Statement::prepare(db->get(), "INSERT INTO t VALUES(?1, ?2, ?3)");
  ASSERT_TRUE(insert);
  for (std::int64_t k = 0; k < 3; ++k) {
    ResetOnExit reset(*insert);
    insert->bind(1, k);
    insert->bind_text(2, k == 0 ? std::string_view{} : std::string_view{"x"});  // null data pointer
    insert->bind_blob(3, std::string_view{});
    ASSERT_EQ(insert->step(), SQLITE_DONE) << sqlite3_errmsg(db->get());
  }
  auto count = Statement::prepare(db->get(), "SELECT count(*), sum(length(v)) FROM t WHERE v IS NOT NULL");
  ASSERT_TRUE(count);
  ResetOnExit reset(*count);
  ASSERT_EQ(count->step(), SQLITE_ROW);
  EXPECT_EQ(count->column_int64(0), 3);
  EXPECT_EQ(count->column_int64(1), 2);
}

TEST(Statement, BindFailureIsReportedByStep) {
  auto db = open_connection(":memory:");
  ASSERT_TRUE(db) << db.error();
  auto select = Statement::prepare(db->get(), "SELECT ?1");
  ASSERT_TRUE(select);
  select->bind(7, 1);  // no such parameter
  EXPECT_EQ(select->step(), SQLITE_RANGE);
  select->reset();  // clears the remembered failure
  select->bind(1, 5);
  ASSERT_EQ(select->step(), SQLITE_ROW);
  EXPECT_EQ(select->column_int64(0), 5);
  select->reset();
}

TEST(Statement, PrepareFailureReturnsCode) {
  auto db = open_connection(":memory:");
  ASSERT_TRUE(db) << db.error();
  auto bad = Statement::prepare(db->get(), "SELEKT 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), SQLITE_ERROR);
}

TEST(OpenConnection, FailureNamesThePath) {
  auto db = open_connection("/nonexistent-dir-for-hubrelay-test/queue.db");
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().find("/nonexistent-dir-for-hubrelay-test/queue.db"), std::string::npos) << db.error();
}

}  // namespace
}  // namespace queue
