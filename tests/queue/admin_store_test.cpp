// Tests for queue/sqlite_admin_store.cpp: the AdminStore behaviour cases
// (tests/queue/admin_store_cases.hpp) against a real queue.db written by SqliteStore, the
// way the daemon writes it, and what only the SQLite queue has: it is never created by
// the operator's store, and its list filters read recipients by primary key.
#include "queue/sqlite_admin_store.hpp"
#include "tests/queue/admin_store_cases.hpp"
#include "tests/support/store_fixture.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace queue {
namespace {

class SqliteBackend final : public AdminBackend {
 public:
  static std::unique_ptr<AdminBackend> make(std::string& skip) {
    auto backend = std::make_unique<SqliteBackend>();
    auto opened = SqliteStore::open(backend->db_path());
    if (!opened) {
      skip = opened.error();
      ADD_FAILURE() << opened.error();
      return nullptr;
    }
    backend->store_.emplace(std::move(*opened));
    return backend;
  }
  QueueStore& writer() override { return *store_; }
  std::expected<std::unique_ptr<AdminStore>, std::string> open_admin() override {
    auto a = SqliteAdminStore::open(db_path());
    if (!a) return std::unexpected(a.error());
    return std::make_unique<SqliteAdminStore>(std::move(*a));
  }
  std::string db_path() const { return dir_.file("queue.db"); }

 private:
  // Declared first, destroyed last: the store is closed before its directory is removed.
  test_support::TempDir dir_{"hubrelay-store"};
  std::optional<SqliteStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, AdminStoreBehaviour, ::testing::Values(AdminBackendFactory(SqliteBackend::make)),
                         [](const auto&) { return std::string("sqlite"); });

// store_ is the daemon's writer; the tests open SqliteAdminStore on the same file.
class SqliteAdminStoreTest : public test_support::StoreTest {
 protected:
  MessageId add(std::vector<std::string> rcpts, UnixMillis received) {
    return insert(AdminStoreBehaviour::message(std::move(rcpts), received), received + 3'600'000);
  }
};

TEST_F(SqliteAdminStoreTest, RefusesToCreateADatabase) {
  auto a = SqliteAdminStore::open(dir_.file("missing.db"));
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().find("no queue database"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "missing.db"));
}

// Every list filter reads a message's recipients by primary key. Through recipients_due
// (state, next_attempt) each message would walk every recipient in that state: a listing
// of N queued messages cost O(N^2) (2 s at 5,000 queued, unusable at 10^5).
TEST_F(SqliteAdminStoreTest, ListFiltersReadEachMessagesRecipientsByPrimaryKey) {
  add({"a@x.example"}, 1000);
  for (const StateFilter state : {StateFilter::queued, StateFilter::deferred, StateFilter::held,
                                  StateFilter::delivered, StateFilter::failed, StateFilter::expired}) {
    QueueFilter filter;
    filter.state = state;
    filter.domain = "x.example";
    filter.recipient = "a@";
    filter.hop = "h";
    const SqlWhere where = build_where(filter, 2000);
    auto s = Statement::prepare(store_->handle(), "EXPLAIN QUERY PLAN SELECT m.id FROM messages m WHERE " + where.clause);
    ASSERT_TRUE(s) << where.clause;
    std::string plan;
    while (s->step() == SQLITE_ROW) plan += std::string(s->column_text(3)) + "\n";
    EXPECT_EQ(plan.find("recipients_due"), std::string::npos) << where.clause << "\n" << plan;
    EXPECT_NE(plan.find("USING PRIMARY KEY"), std::string::npos) << where.clause << "\n" << plan;
  }
}

}  // namespace
}  // namespace queue
