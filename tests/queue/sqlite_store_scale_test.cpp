// tests/queue/sqlite_store_scale_test.cpp — the store's behaviour that matters at scale
// (issue 8): per-message statements stay on the primary key whatever the backlog, and
// commits fsync only when asked to.
//
// Owns: query-plan checks (EXPLAIN QUERY PLAN over the same SQL text SqliteStore
// prepares; a plan through recipients_due for a per-message statement is O(backlog) per
// message) and the PRAGMA synchronous switch. Never: measures time.
// Threading: single-threaded. Standards: none (SQLite behaviour).
#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace queue {
namespace {

class ScaleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "hubrelay-scale-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    auto opened = SqliteStore::open((dir_ / "queue.db").string());
    ASSERT_TRUE(opened) << opened.error();
    store_.emplace(std::move(*opened));
  }
  void TearDown() override {
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string plan(const std::string& sql) {
    auto s = Statement::prepare(store_->handle(), ("EXPLAIN QUERY PLAN " + sql).c_str());
    EXPECT_TRUE(s) << sql;
    if (!s) return {};
    ResetOnExit reset(*s);
    std::string out;
    while (s->step() == SQLITE_ROW) out += std::string(s->column_text(3)) + "\n";
    return out;
  }

  std::int64_t pragma_synchronous() {
    auto s = Statement::prepare(store_->handle(), "PRAGMA synchronous");
    EXPECT_TRUE(s);
    if (!s) return -1;
    ResetOnExit reset(*s);
    return s->step() == SQLITE_ROW ? s->column_int64(0) : -1;
  }

  std::filesystem::path dir_;
  std::optional<SqliteStore> store_;
};

TEST_F(ScaleTest, PerMessageStatementsUseThePrimaryKeyNotTheDueIndex) {
  struct Case {
    const char* name;
    const char* sql;
  };
  const Case cases[] = {
      {"lease_recipients",
       "UPDATE recipients SET next_attempt = ?3 WHERE message_id = ?1 AND +state = 0 AND +next_attempt <= ?2"},
      {"any_pending", "SELECT EXISTS(SELECT 1 FROM recipients WHERE message_id = ?1 AND +state = 0)"},
      {"select_due_recipients",
       "SELECT idx, address, attempts FROM recipients WHERE message_id = ?1 AND state = 0 AND next_attempt <= ?2 "
       "ORDER BY idx"},
  };
  for (const Case& c : cases) {
    const std::string p = plan(c.sql);
    EXPECT_NE(p.find("PRIMARY KEY"), std::string::npos) << c.name << ":\n" << p;
    EXPECT_EQ(p.find("recipients_due"), std::string::npos) << c.name << ":\n" << p;
  }
}

TEST_F(ScaleTest, DueScanWalksTheIndexWithALimitBeforeSorting) {
  const std::string p = plan(
      "SELECT id FROM messages WHERE held = 0 AND id IN (SELECT message_id FROM recipients WHERE state = 0 AND "
      "next_attempt <= 5 ORDER BY next_attempt LIMIT 12) ORDER BY received_at, id LIMIT 3");
  EXPECT_NE(p.find("recipients_due"), std::string::npos) << p;
}

TEST_F(ScaleTest, FsyncCommitsSwitchesPragmaSynchronous) {
  EXPECT_EQ(pragma_synchronous(), 2);  // FULL after open
  EXPECT_FALSE(store_->set_fsync_commits(false));
  EXPECT_EQ(pragma_synchronous(), 1);  // NORMAL
  EXPECT_FALSE(store_->set_fsync_commits(false));  // unchanged: no-op
  EXPECT_EQ(pragma_synchronous(), 1);
  EXPECT_FALSE(store_->set_fsync_commits(true));
  EXPECT_EQ(pragma_synchronous(), 2);
}

}  // namespace
}  // namespace queue
