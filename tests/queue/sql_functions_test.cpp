// Tests for queue/sql_functions.cpp: SQL domain_of(address) answers what conf::domain_of
// answers (the last '@', lower case, routing's reading) on a connection that registered
// them; admin_store_test covers the filters built on it.
#include "queue/sql_functions.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "conf/domain_pattern.hpp"
#include "queue/sqlite_handle.hpp"

namespace queue {
namespace {

std::optional<std::string> sql_domain_of(sqlite3* db, const char* address) {
  auto s = Statement::prepare(db, "SELECT domain_of(?1) IS NULL, domain_of(?1)");
  EXPECT_TRUE(s) << sqlite3_errmsg(db);
  if (!s) return std::nullopt;
  ResetOnExit reset(*s);
  if (address != nullptr) {
    s->bind_text(1, address);
  } else {
    s->bind_null(1);
  }
  EXPECT_EQ(s->step(), SQLITE_ROW) << sqlite3_errmsg(db);
  if (s->column_int64(0) != 0) return std::nullopt;
  return std::string(s->column_text(1));
}

TEST(SqlFunctions, DomainOfIsConfDomainOf) {
  auto db = open_connection(":memory:");
  ASSERT_TRUE(db) << db.error();
  ASSERT_TRUE(register_sql_functions(db->get()));
  struct Case { const char* address; const char* want; };
  const Case cases[] = {
      {"Bob@Example.COM", "example.com"},
      {"\"a@b\"@c.org", "c.org"},          // quoted local part: the LAST '@'
      {"postmaster", ""},
      {"<x@Y.example.>", "y.example"},     // brackets and one trailing dot, as routing reads it
      {"a@[IPv6:::1]", "[IPv6:::1]"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(sql_domain_of(db->get(), c.address), std::optional<std::string>(c.want)) << c.address;
    EXPECT_EQ(conf::domain_of(c.address), c.want) << c.address;
  }
  EXPECT_EQ(sql_domain_of(db->get(), nullptr), std::nullopt);  // NULL in, NULL out
}

TEST(SqlFunctions, AConnectionWithoutThemCannotPrepareTheirCalls) {
  auto db = open_connection(":memory:");
  ASSERT_TRUE(db) << db.error();
  EXPECT_FALSE(Statement::prepare(db->get(), "SELECT domain_of('a@b')"));
}

}  // namespace
}  // namespace queue
