// tests/queue/sqlite_store_scale_test.cpp — the store's behaviour that matters at scale:
// every statement reads through the index it relies on whatever the backlog, and commits
// fsync only when asked to.
//
// Owns: query-plan checks (EXPLAIN QUERY PLAN over store_statements, the very table
// SqliteStore prepares, so a check cannot drift from the SQL that runs: a per-message
// statement answered through recipients_due is O(backlog) per message, a due scan without
// it reads the whole history) and the PRAGMA synchronous switch. Never: measures time.
// Threading: single-threaded. Standards: none (SQLite behaviour).
#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"
#include "queue/store_statements.hpp"
#include "tests/support/store_fixture.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace queue {
namespace {

// What a statement's query plan must (and must not) name. Per-message statements go through
// a primary key, never recipients_due (walking every pending recipient per message is
// O(backlog) per message); scans over pending or parked recipients go through their index.
struct PlanExpectation {
  StoreSql id;
  std::vector<std::string_view> uses;    // each must appear in the plan
  std::vector<std::string_view> avoids;  // none may appear
};

const std::vector<PlanExpectation> plan_expectations = {
    {StoreSql::begin, {}, {}},
    {StoreSql::commit, {}, {}},
    {StoreSql::rollback, {}, {}},
    {StoreSql::insert_message, {}, {}},
    {StoreSql::insert_body, {}, {}},
    {StoreSql::insert_recipient, {}, {}},
    {StoreSql::select_due_messages, {"recipients_due"}, {}},
    {StoreSql::select_due_recipients, {"USING PRIMARY KEY"}, {"recipients_due"}},
    {StoreSql::lease_recipients, {"USING PRIMARY KEY"}, {"recipients_due"}},
    {StoreSql::select_body, {"USING INTEGER PRIMARY KEY"}, {}},
    {StoreSql::update_recipient, {"USING PRIMARY KEY (message_id=? AND idx=?)"}, {"recipients_due"}},
    {StoreSql::any_pending, {"USING PRIMARY KEY"}, {"recipients_due"}},
    {StoreSql::delete_body, {"USING INTEGER PRIMARY KEY"}, {}},
    {StoreSql::select_body_file, {"USING INTEGER PRIMARY KEY"}, {}},
    {StoreSql::clear_body_file, {"USING INTEGER PRIMARY KEY"}, {}},
    {StoreSql::insert_attempt, {}, {}},
    {StoreSql::recover_due, {"recipients_due"}, {}},
    {StoreSql::count_pending, {"recipients_due"}, {}},
    {StoreSql::release_parked, {"recipients_parked"}, {}},
    {StoreSql::next_due, {"recipients_due"}, {}},
};

// Whether `plan` names `token` as a whole word: "recipients_due" is not in
// "recipients_due_old".
bool mentions(std::string_view plan, std::string_view token) {
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  for (std::size_t at = plan.find(token); at != std::string_view::npos; at = plan.find(token, at + 1)) {
    const std::size_t end = at + token.size();
    if ((at == 0 || !word(plan[at - 1])) && (end == plan.size() || !word(plan[end]))) return true;
  }
  return false;
}

// A plan line "SCAN <table>" without an index reads every row of the table.
std::optional<std::string> full_scan(std::string_view plan) {
  while (!plan.empty()) {
    const std::size_t end = std::min(plan.find('\n'), plan.size());
    const std::string_view line = plan.substr(0, end);
    if (line.starts_with("SCAN ") && line != "SCAN CONSTANT ROW" && line.find(" USING ") == std::string_view::npos)
      return std::string(line);
    plan.remove_prefix(std::min(end + 1, plan.size()));
  }
  return std::nullopt;
}

class ScaleTest : public test_support::StoreTest {
 protected:

  std::string plan(std::string_view sql) {
    auto s = Statement::prepare(store_->handle(), "EXPLAIN QUERY PLAN " + std::string(sql));
    EXPECT_TRUE(s) << sql;
    if (!s) return {};
    ResetOnExit reset(*s);
    std::string out;
    while (s->step() == SQLITE_ROW) out += std::string(s->column_text(3)) + "\n";
    return out;
  }

  // Every way `plan_expectations` is broken, one text per statement and rule; none if the
  // store's statements read as they should.
  std::vector<std::string> plan_violations() {
    std::vector<std::string> out;
    for (const PlanExpectation& e : plan_expectations) {
      const NamedSql& statement = store_statement(e.id);
      const std::string p = plan(statement.sql);
      const std::string where = std::string(statement.name) + ": ";
      for (std::string_view index : e.uses)
        if (!mentions(p, index)) out.push_back(where + "does not use " + std::string(index) + "\n" + p);
      for (std::string_view index : e.avoids)
        if (mentions(p, index)) out.push_back(where + "uses " + std::string(index) + "\n" + p);
      if (const auto scan = full_scan(p)) out.push_back(where + "reads a whole table: " + *scan + "\n" + p);
    }
    return out;
  }

  std::int64_t pragma_synchronous() {
    auto s = Statement::prepare(store_->handle(), "PRAGMA synchronous");
    EXPECT_TRUE(s);
    if (!s) return -1;
    ResetOnExit reset(*s);
    return s->step() == SQLITE_ROW ? s->column_int64(0) : -1;
  }
};

TEST_F(ScaleTest, EveryStoreStatementHasAPlanExpectation) {
  for (const NamedSql& statement : store_statements) {
    const auto found = std::ranges::count(plan_expectations, statement.id, &PlanExpectation::id);
    EXPECT_EQ(found, 1) << statement.name << ": add it to plan_expectations (once)";
  }
}

TEST_F(ScaleTest, StoreStatementsReadThroughTheIndexesTheyRelyOn) {
  for (const std::string& violation : plan_violations()) ADD_FAILURE() << violation;
}

// The check above is only worth something if it notices a plan that stops using an index:
// with the index gone, every statement relying on it is reported.
TEST_F(ScaleTest, APlanWithoutTheIndexItReliesOnIsReported) {
  struct Case {
    const char* index;
    std::vector<std::string_view> reported;
  };
  const Case cases[] = {
      {"recipients_parked", {"release_parked"}},
      {"recipients_due", {"select_due_messages", "recover_due", "count_pending", "next_due"}},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(execute(store_->handle(), ("DROP INDEX " + std::string(c.index)).c_str()), SQLITE_OK) << c.index;
    const std::vector<std::string> violations = plan_violations();
    for (std::string_view name : c.reported) {
      const bool reported = std::ranges::any_of(
          violations, [&](const std::string& v) { return v.starts_with(std::string(name) + ":"); });
      EXPECT_TRUE(reported) << name << " without " << c.index;
    }
  }
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
