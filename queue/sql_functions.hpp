// queue/sql_functions.hpp — the application-defined SQL functions of a queue connection.
//
// Owns: registering, on one connection, the functions the queue's SQL calls, so a filter
// written in SQL reads an address exactly as the C++ side does:
//   domain_of(address) — conf::domain_of: the lower-cased part after the LAST '@' ("" if
//   none), the recipient domain routing uses. A quoted local part may hold an '@'
//   ("a@b"@example.com), so SQL must never split at the first one.
// Functions are deterministic and innocuous (no side effects, no state), so SQLite may
// use them anywhere. A connection without them fails to prepare any statement naming them.
// Threading: call on the thread that owns the connection, right after opening it.
// Errors: text for the start-up log.
#pragma once

#include <sqlite3.h>

#include <expected>
#include <string>

namespace queue {

std::expected<void, std::string> register_sql_functions(sqlite3* db);

}  // namespace queue
