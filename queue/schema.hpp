// queue/schema.hpp — versioned schema migrations of the queue database.
//
// Owns: the table layout (one SQL step per schema version) and bringing a database up to
// the newest version. Versions are recorded in table `schema_version`, one row per step
// applied. All pending steps run in ONE transaction: a failed step leaves the database
// exactly as it was. A database newer than this binary is refused, never downgraded.
// To extend: append a Migration with the next version to the table in schema.cpp; never
// edit a step that has shipped.
// Threading: call on the thread that owns the connection, before any other use.
// Errors: human-readable text for the start-up log.
#pragma once

#include <sqlite3.h>

#include <expected>
#include <span>
#include <string>
#include <string_view>

namespace queue {

struct Migration {
  int version = 0;               // 1, 2, 3, ... without gaps
  std::string_view description;  // recorded in schema_version
  std::string_view sql;          // one or more statements
};

/// The newest schema version this binary knows.
inline constexpr int latest_schema_version = 10;

/// The migrations of this binary, in version order.
std::span<const Migration> schema_migrations() noexcept;

/// Current version of an open database (0 for a fresh or pre-versioning one).
std::expected<int, std::string> schema_version(sqlite3* db);

/// Applies every step of `steps` newer than the database's version; returns the version
/// reached. `steps` is injectable so tests can exercise failure and extension.
std::expected<int, std::string> migrate(sqlite3* db, std::span<const Migration> steps);
inline std::expected<int, std::string> migrate(sqlite3* db) { return migrate(db, schema_migrations()); }

}  // namespace queue
