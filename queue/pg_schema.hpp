// queue/pg_schema.hpp — versioned schema migrations of a PostgreSQL queue database.
//
// Owns: the table layout of the shared queue (one SQL step per version, like
// queue/schema.hpp for SQLite) and bringing a database up to the newest version. Steps
// are recorded in table `schema_version`; all pending steps run in ONE transaction under
// an advisory lock, so nodes starting together never apply a step twice. A database newer
// than this binary is refused, never downgraded.
// To extend: append a Migration to the table in pg_schema.cpp; never edit a shipped step.
// Errors: human-readable text for the start-up log.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "queue/schema.hpp"

namespace queue {

/// Ids per nextval of the sequence message_ids (its INCREMENT in pg_schema.cpp): one
/// reservation is one block, as MessageQueue reserves them.
inline constexpr std::int64_t pg_id_block = 1024;

/// The newest PostgreSQL schema version this binary knows.
inline constexpr int latest_pg_schema_version = 1;

std::span<const Migration> pg_schema_migrations() noexcept;

/// Applies every step of `steps` newer than the database's version; returns the version
/// reached. `steps` is injectable so tests can check the refusal of a newer database.
std::expected<int, std::string> pg_migrate(PGconn* connection, std::span<const Migration> steps);
inline std::expected<int, std::string> pg_migrate(PGconn* connection) {
  return pg_migrate(connection, pg_schema_migrations());
}

}  // namespace queue
