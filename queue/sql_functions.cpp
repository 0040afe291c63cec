// queue/sql_functions.cpp — domain_of() in SQL is conf::domain_of, not a second definition.
#include "queue/sql_functions.hpp"

#include <new>
#include <string_view>

#include "conf/domain_pattern.hpp"

namespace queue {
namespace {

void sql_domain_of(sqlite3_context* context, int, sqlite3_value** args) {
  if (sqlite3_value_type(args[0]) == SQLITE_NULL) {
    sqlite3_result_null(context);
    return;
  }
  // Text first, then its length: SQLite's documented order for a converted value.
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(args[0]));
  if (text == nullptr) {
    sqlite3_result_error_nomem(context);
    return;
  }
  const std::string_view address(text, static_cast<std::size_t>(sqlite3_value_bytes(args[0])));
  // No exception may unwind through SQLite's C frames; the only one possible is bad_alloc.
  try {
    const std::string domain = conf::domain_of(address);
    sqlite3_result_text64(context, domain.data(), domain.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(context);
  }
}

}  // namespace

std::expected<void, std::string> register_sql_functions(sqlite3* db) {
  constexpr int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  if (sqlite3_create_function_v2(db, "domain_of", 1, flags, nullptr, sql_domain_of, nullptr, nullptr, nullptr) !=
      SQLITE_OK) {
    return std::unexpected(std::string("cannot register SQL function domain_of: ") + sqlite3_errmsg(db));
  }
  return {};
}

}  // namespace queue
