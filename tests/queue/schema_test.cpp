// Tests for queue/schema.cpp: fresh creation, idempotence, refusal of newer databases,
// atomic failure of a migration, and extension by a further step.
#include "queue/schema.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <filesystem>

#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "tests/support/temp_dir.hpp"

namespace queue {
namespace {

// One temporary directory per test, removed afterwards.
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("hubrelay-schema") {}
};

bool table_exists(sqlite3* db, const char* name) {
  auto s = Statement::prepare(db, "SELECT count(*) FROM sqlite_schema WHERE name = ?1");
  if (!s) return false;
  ResetOnExit reset(*s);
  s->bind_text(1, name);
  return s->step() == SQLITE_ROW && s->column_int64(0) == 1;
}

TEST(Schema, FreshDatabaseReachesLatestVersion) {
  TempDir dir;
  auto db = open_connection(dir.file("q.db"));
  ASSERT_TRUE(db) << db.error();
  EXPECT_EQ(schema_version(db->get()).value_or(-1), 0);
  auto reached = migrate(db->get());
  ASSERT_TRUE(reached) << reached.error();
  EXPECT_EQ(*reached, latest_schema_version);
  EXPECT_EQ(schema_version(db->get()).value_or(-1), latest_schema_version);
  for (const char* table : {"messages", "bodies", "recipients", "recipients_due", "schema_version"}) {
    EXPECT_TRUE(table_exists(db->get(), table)) << table;
  }
  // Idempotent: a second run applies nothing and fails on nothing.
  auto again = migrate(db->get());
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(*again, latest_schema_version);
}

TEST(Schema, NewerDatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.file("q.db");
  {
    auto store = SqliteStore::open(path);
    ASSERT_TRUE(store) << store.error();
  }
  {
    auto db = open_connection(path);
    ASSERT_TRUE(db) << db.error();
    ASSERT_EQ(execute(db->get(), "INSERT INTO schema_version VALUES(99, 'from the future')"), SQLITE_OK);
  }
  auto store = SqliteStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().find("schema version 99"), std::string::npos) << store.error();
  EXPECT_NE(store.error().find("newer"), std::string::npos) << store.error();
  EXPECT_NE(store.error().find(path), std::string::npos) << store.error();
}

TEST(Schema, FailedStepLeavesDatabaseUntouched) {
  TempDir dir;
  auto db = open_connection(dir.file("q.db"));
  ASSERT_TRUE(db) << db.error();
  const std::array steps{
      Migration{1, "good", "CREATE TABLE first(a INTEGER);"},
      Migration{2, "bad", "CREATE TABLE second(a INTEGER); CREATE TABLE broken(;"},
  };
  auto reached = migrate(db->get(), steps);
  ASSERT_FALSE(reached);
  EXPECT_NE(reached.error().find("version 2"), std::string::npos) << reached.error();
  EXPECT_FALSE(table_exists(db->get(), "first"));
  EXPECT_FALSE(table_exists(db->get(), "second"));
  EXPECT_EQ(schema_version(db->get()).value_or(-1), 0);
  EXPECT_NE(sqlite3_get_autocommit(db->get()), 0) << "transaction left open";
}

TEST(Schema, LaterStepExtendsExistingDatabase) {
  TempDir dir;
  auto db = open_connection(dir.file("q.db"));
  ASSERT_TRUE(db) << db.error();
  ASSERT_TRUE(migrate(db->get()));
  ASSERT_EQ(execute(db->get(), "INSERT INTO messages(direction, listener, client_address, helo, sender, "
                               "mail_parameters, received_at, size) VALUES(0, 'in', '', '', '', '', 1, 0)"),
            SQLITE_OK);
  std::vector<Migration> steps(schema_migrations().begin(), schema_migrations().end());
  steps.push_back({latest_schema_version + 1, "hold reason", "ALTER TABLE messages ADD COLUMN hold_reason TEXT;"});
  auto reached = migrate(db->get(), steps);
  ASSERT_TRUE(reached) << reached.error();
  EXPECT_EQ(*reached, latest_schema_version + 1);
  auto s = Statement::prepare(db->get(), "SELECT count(*) FROM messages WHERE hold_reason IS NULL");
  ASSERT_TRUE(s);
  ResetOnExit reset(*s);
  ASSERT_EQ(s->step(), SQLITE_ROW);
  EXPECT_EQ(s->column_int64(0), 1);  // old rows kept
}

TEST(Schema, StepsMustBeNumberedWithoutGaps) {
  TempDir dir;
  auto db = open_connection(dir.file("q.db"));
  ASSERT_TRUE(db) << db.error();
  const std::array steps{Migration{1, "a", "CREATE TABLE a(x);"}, Migration{3, "c", "CREATE TABLE c(x);"}};
  auto reached = migrate(db->get(), steps);
  ASSERT_FALSE(reached);
  EXPECT_FALSE(table_exists(db->get(), "a"));
}

}  // namespace
}  // namespace queue
