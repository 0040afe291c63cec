// queue/schema.cpp — the queue's schema, one step per version.
#include "queue/schema.hpp"

#include <array>

#include "queue/sqlite_handle.hpp"

namespace queue {
namespace {

// v1: envelopes, bodies and per-recipient state. Bodies live in their own table so that
// listing and scheduling never read a body page. AUTOINCREMENT keeps queue ids unique
// forever, even after old rows are purged, so a queue id in last month's log still
// names one message.
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  direction INTEGER NOT NULL,
  listener TEXT NOT NULL,
  client_address TEXT NOT NULL,
  helo TEXT NOT NULL,
  sender TEXT NOT NULL,
  mail_parameters TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  size INTEGER NOT NULL,
  held INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE bodies(
  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  data BLOB NOT NULL
);
CREATE TABLE recipients(
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  address TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt INTEGER NOT NULL,
  last_reply TEXT,
  hop TEXT,
  updated_at INTEGER,
  PRIMARY KEY(message_id, idx)
) WITHOUT ROWID;
CREATE INDEX recipients_due ON recipients(state, next_attempt);
)sql";

// v2 (operations): delivery history and lease marking. `attempts` keeps one row
// per delivery attempt of a recipient (when, which hop, the reply, the resulting state)
// for `hubrelay queue show`; it cascades away with its message. `recipients.leased` is 1
// while a recipient is handed to delivery, so `queue retry`/`release` (run by another
// process) never make a recipient that is being delivered right now due a second time.
constexpr std::string_view schema_v2_operations = R"sql(
CREATE TABLE attempts(
  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  at INTEGER,
  hop TEXT,
  state INTEGER NOT NULL,
  reply TEXT
);
CREATE INDEX attempts_message ON attempts(message_id, idx);
ALTER TABLE recipients ADD COLUMN leased INTEGER NOT NULL DEFAULT 0;
)sql";

// v3 (DSN, RFC 3461): the RCPT parameters of each recipient ("NOTIFY=... ORCPT=..."),
// passed on to a hop that offers DSN and read when deciding on bounces. Existing rows
// get '' (no parameters), which means the defaults: bounce on failure, notify delays.
constexpr std::string_view schema_v3_dsn = R"sql(
ALTER TABLE recipients ADD COLUMN parameters TEXT NOT NULL DEFAULT '';
)sql";

// v4: whether a delay notice (RFC 3464 action "delayed") went out for the recipient, so a
// restart never sends a second one. Existing rows get 0: at most one repeat, once.
constexpr std::string_view schema_v4_delay_notice = R"sql(
ALTER TABLE recipients ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;
)sql";

// v5: recipients waiting for a usable hop ("parked"): the route they wait on, as route
// index + 1 (0: not parked). Parked recipients wait long (docs/routing.md, "When no hop is
// usable") and are released as soon as a hop of their route becomes usable again; the
// partial index keeps that release from reading any other row. Existing rows get 0.
constexpr std::string_view schema_v5_parked = R"sql(
ALTER TABLE recipients ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
CREATE INDEX recipients_parked ON recipients(parked) WHERE parked <> 0;
)sql";

// v6: the history says what each row is and where it went. `attempts.kind` tells a
// delivery attempt (0) from a park (1: no usable hop, the row's reply names the route and
// each hop's state) and an administrator's action (2); `attempts.address` is the hop's
// address:port when one was reached or dialled. `recipients.parked_on`/`parked_since`
// name the route a parked recipient waits on and since when, so `queue list` shows it
// without wiping the last real error in last_reply. Existing rows: deliveries, unknown.
constexpr std::string_view schema_v6_attempt_kinds = R"sql(
ALTER TABLE attempts ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN address TEXT;
ALTER TABLE recipients ADD COLUMN parked_on TEXT;
ALTER TABLE recipients ADD COLUMN parked_since INTEGER;
)sql";

// v7: bodies larger than [queue] inline_body_max live in a spool file written once
// (queue/spool.hpp) instead of a BLOB that SQLite writes 2.6 times (WAL, checkpoint, freed
// pages). `messages.body_file` names that file (its size is `messages.size`); such a
// message has no `bodies` row, and the column is cleared when the file is freed. Existing
// rows get NULL: their bodies stay inline, untouched.
constexpr std::string_view schema_v7_body_files = R"sql(
ALTER TABLE messages ADD COLUMN body_file TEXT;
CREATE INDEX messages_body_file ON messages(body_file) WHERE body_file IS NOT NULL;
)sql";

// v8: header fields a spooled message begins with, added after its file was written (the
// DKIM-Signature fields): readers send them before the file's octets. `messages.size`
// stays the file's size (what the spool checks); NULL for none.
constexpr std::string_view schema_v8_body_prefix = R"sql(
ALTER TABLE messages ADD COLUMN body_prefix TEXT;
)sql";

// v9: octets at the start of a spooled message's file that are no longer part of it: a
// content filter's header edits replace the file's header section with `body_prefix`
// instead of copying the file (messages.size stays the file's size); NULL for none.
constexpr std::string_view schema_v9_body_skip = R"sql(
ALTER TABLE messages ADD COLUMN body_skip INTEGER;
)sql";

// v10: what protected each delivery attempt's session: "none", "opportunistic",
// "verified" or "dane", then the TLS protocol and cipher ("dane TLSv1.3
// TLS_AES_256_GCM_SHA384"), for `hubrelay queue show`. NULL for parks, an administrator's
// actions, attempts that opened no session, and rows written before this version.
constexpr std::string_view schema_v10_attempt_tls = R"sql(
ALTER TABLE attempts ADD COLUMN tls TEXT;
)sql";

constexpr std::array migrations{
    Migration{1, "messages, bodies, recipients", schema_v1},
    Migration{2, "attempts history, recipient leases", schema_v2_operations},
    Migration{3, "recipient DSN parameters", schema_v3_dsn},
    Migration{4, "recipient delay notice sent", schema_v4_delay_notice},
    Migration{5, "recipients waiting for a usable hop", schema_v5_parked},
    Migration{6, "attempt kinds and hop addresses, parked route and time", schema_v6_attempt_kinds},
    Migration{7, "message bodies in spool files", schema_v7_body_files},
    Migration{8, "header fields before a spooled body", schema_v8_body_prefix},
    Migration{9, "octets of a spooled body replaced by its header fields", schema_v9_body_skip},
    Migration{10, "what protected each delivery attempt (TLS)", schema_v10_attempt_tls},
};
static_assert(migrations.back().version == latest_schema_version,
              "latest_schema_version must name the last migration");

std::string sqlite_reason(sqlite3* db) { return sqlite3_errmsg(db); }

std::expected<int, std::string> read_version(sqlite3* db) {
  auto statement = Statement::prepare(db, "SELECT coalesce(max(version), 0) FROM schema_version");
  if (!statement) return std::unexpected("cannot read schema_version: " + sqlite_reason(db));
  ResetOnExit reset(*statement);
  if (statement->step() != SQLITE_ROW) return std::unexpected("cannot read schema_version: " + sqlite_reason(db));
  return static_cast<int>(statement->column_int64(0));
}

std::expected<int, std::string> apply(sqlite3* db, std::span<const Migration> steps) {
  if (execute(db, "CREATE TABLE IF NOT EXISTS schema_version("
                  "version INTEGER PRIMARY KEY, description TEXT NOT NULL)") != SQLITE_OK) {
    return std::unexpected("cannot create schema_version: " + sqlite_reason(db));
  }
  auto current = read_version(db);
  if (!current) return current;
  const int newest = steps.empty() ? 0 : steps.back().version;
  if (*current > newest) {
    return std::unexpected("queue database has schema version " + std::to_string(*current) +
                           ", newer than this hubrelay supports (" + std::to_string(newest) +
                           "); refusing to open it. Run the newer hubrelay that wrote it.");
  }
  auto record = Statement::prepare(db, "INSERT INTO schema_version(version, description) VALUES(?1, ?2)");
  if (!record) return std::unexpected("cannot prepare schema_version insert: " + sqlite_reason(db));
  for (const Migration& step : steps) {
    if (step.version <= *current) continue;
    // sqlite3_exec needs a NUL-terminated string; migrations are small and run once.
    const std::string sql(step.sql);
    if (execute(db, sql.c_str()) != SQLITE_OK) {
      return std::unexpected("schema migration to version " + std::to_string(step.version) +
                             " failed: " + sqlite_reason(db));
    }
    ResetOnExit reset(*record);
    record->bind(1, step.version);
    record->bind_text(2, step.description);
    if (record->step() != SQLITE_DONE) {
      return std::unexpected("cannot record schema version " + std::to_string(step.version) + ": " +
                             sqlite_reason(db));
    }
  }
  return newest;
}

}  // namespace

std::span<const Migration> schema_migrations() noexcept { return migrations; }

std::expected<int, std::string> schema_version(sqlite3* db) {
  auto exists = Statement::prepare(
      db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return std::unexpected("cannot inspect the queue database: " + sqlite_reason(db));
  {
    ResetOnExit reset(*exists);
    if (exists->step() != SQLITE_ROW) return std::unexpected("cannot inspect the queue database: " + sqlite_reason(db));
    if (exists->column_int64(0) == 0) return 0;
  }
  return read_version(db);
}

std::expected<int, std::string> migrate(sqlite3* db, std::span<const Migration> steps) {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].version != static_cast<int>(i) + 1) {
      return std::unexpected("schema migrations must be numbered 1, 2, 3, ... (step " +
                             std::to_string(i + 1) + " says " + std::to_string(steps[i].version) + ")");
    }
  }
  // IMMEDIATE takes the write lock before reading the version, so two processes opening
  // the same file cannot both decide to apply the same step.
  if (const int rc = execute(db, "BEGIN IMMEDIATE"); rc != SQLITE_OK) {
    return std::unexpected("cannot lock the queue database for migration: " + sqlite_reason(db));
  }
  auto reached = apply(db, steps);
  if (!reached) {
    execute(db, "ROLLBACK");
    return reached;
  }
  if (execute(db, "COMMIT") != SQLITE_OK) {
    std::string reason = sqlite_reason(db);
    execute(db, "ROLLBACK");
    return std::unexpected("cannot commit the schema migration: " + reason);
  }
  return reached;
}

}  // namespace queue
