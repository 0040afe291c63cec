// queue/pg_schema.cpp — the PostgreSQL queue's schema, one step per version.
#include "queue/pg_schema.hpp"

#include <array>
#include <string_view>

#include "queue/pg_handle.hpp"

namespace queue {
namespace {

// v1: the SQLite queue's tables at its latest version, with these differences:
// - Every body is a bytea in `bodies` (no spool files: any node can deliver any
//   message); header edits are applied before it is stored, so there is no prefix/skip.
// - Ids come from the sequence message_ids, which steps by the id block size: one
//   nextval reserves a whole block (MessageQueue hands ids out from blocks), so a
//   reservation is atomic across nodes without a lock and never collides with an insert.
// - recipients.lease_node/lease_until name the node delivering a recipient and until
//   when: a node that dies leaves its leases to expire, then any node claims them.
// - attempts.tls: how the hop's TLS went, for the history.
constexpr std::string_view pg_schema_v1 = R"sql(
CREATE SEQUENCE message_ids AS BIGINT INCREMENT BY 1024 MINVALUE 1 START WITH 1;
CREATE TABLE messages(
  id BIGINT PRIMARY KEY,
  direction INTEGER NOT NULL,
  listener TEXT NOT NULL,
  client_address TEXT NOT NULL,
  helo TEXT NOT NULL,
  sender TEXT NOT NULL,
  mail_parameters TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  size BIGINT NOT NULL,
  held INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE bodies(
  message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  data BYTEA NOT NULL
);
CREATE TABLE recipients(
  message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  address TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt BIGINT NOT NULL,
  last_reply TEXT,
  hop TEXT,
  updated_at BIGINT,
  leased INTEGER NOT NULL DEFAULT 0,
  parameters TEXT NOT NULL DEFAULT '',
  delay_notified INTEGER NOT NULL DEFAULT 0,
  parked INTEGER NOT NULL DEFAULT 0,
  parked_on TEXT,
  parked_since BIGINT,
  lease_node TEXT,
  lease_until BIGINT,
  PRIMARY KEY(message_id, idx)
);
CREATE INDEX recipients_due ON recipients(state, next_attempt);
CREATE INDEX recipients_parked ON recipients(parked) WHERE parked <> 0;
CREATE INDEX recipients_lease_node ON recipients(lease_node) WHERE lease_node IS NOT NULL;
CREATE TABLE attempts(
  message_id BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  at BIGINT,
  hop TEXT,
  state INTEGER NOT NULL,
  reply TEXT,
  kind INTEGER NOT NULL DEFAULT 0,
  address TEXT,
  tls TEXT
);
CREATE INDEX attempts_message ON attempts(message_id, idx);
)sql";

constexpr std::array pg_migrations{
    Migration{1, "messages, bodies, recipients with leases, attempts", pg_schema_v1},
};
static_assert(pg_migrations.back().version == latest_pg_schema_version,
              "latest_pg_schema_version must name the last migration");

// Any constant: the key of the advisory lock that serializes migrations across nodes.
constexpr std::string_view lock_migrations = "SELECT pg_advisory_xact_lock(7403281)";

std::expected<int, std::string> apply(PGconn* c, std::span<const Migration> steps) {
  if (PgResult r = exec(c, std::string(lock_migrations).c_str()); !r.ok()) {
    return std::unexpected("cannot lock the queue database for migration: " + r.message());
  }
  // "relation schema_version already exists, skipping" is the normal case, not news for
  // the log or for the terminal of an administrator's `hubrelay queue`.
  if (PgResult r = exec(c, "SET LOCAL client_min_messages = warning"); !r.ok()) {
    return std::unexpected("cannot prepare the migration: " + r.message());
  }
  if (PgResult r = exec(c, "CREATE TABLE IF NOT EXISTS schema_version("
                           "version INTEGER PRIMARY KEY, description TEXT NOT NULL)");
      !r.ok()) {
    return std::unexpected("cannot create schema_version: " + r.message());
  }
  PgResult version = exec(c, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!version.ok() || version.rows() != 1) return std::unexpected("cannot read schema_version: " + version.message());
  const auto current = static_cast<int>(version.int64(0, 0));
  const int newest = steps.empty() ? 0 : steps.back().version;
  if (current > newest) {
    return std::unexpected("queue database has schema version " + std::to_string(current) +
                           ", newer than this hubrelay supports (" + std::to_string(newest) +
                           "); refusing to open it. Run the newer hubrelay that wrote it.");
  }
  for (const Migration& step : steps) {
    if (step.version <= current) continue;
    if (PgResult r = exec(c, std::string(step.sql).c_str()); !r.ok()) {
      return std::unexpected("schema migration to version " + std::to_string(step.version) + " failed: " +
                             r.message());
    }
    PgParams params;
    params.int64(step.version).text(step.description);
    PgResult r(PQexecParams(c, "INSERT INTO schema_version(version, description) VALUES($1, $2)", params.count(),
                            nullptr, params.values(), params.lengths(), params.formats(), 0));
    if (!r.ok()) {
      return std::unexpected("cannot record schema version " + std::to_string(step.version) + ": " + r.message());
    }
  }
  return newest;
}

}  // namespace

std::span<const Migration> pg_schema_migrations() noexcept { return pg_migrations; }

std::expected<int, std::string> pg_migrate(PGconn* c, std::span<const Migration> steps) {
  if (PgResult r = exec(c, "BEGIN"); !r.ok()) return std::unexpected("cannot begin the migration: " + r.message());
  auto reached = apply(c, steps);
  if (!reached) {
    exec(c, "ROLLBACK");
    return reached;
  }
  if (PgResult r = exec(c, "COMMIT"); !r.ok()) {
    return std::unexpected("cannot commit the schema migration: " + r.message());
  }
  return reached;
}

}  // namespace queue
