// queue/sqlite_store.hpp — the synchronous SQLite core of the queue.
//
// Owns: one connection (WAL, synchronous=FULL, busy timeout, foreign keys, the queue's SQL
// functions) and every prepared statement the queue runs: the table in
// queue/store_statements.hpp, prepared once at open() and reused for each message.
// Never: starts threads, reads a clock, or opens a transaction implicitly — the caller
// brackets work with begin()/commit() so many operations share one fsync (group commit).
// Threading: confined to one thread at a time; MessageQueue gives it a dedicated thread.
// Errors: std::error_code with queue::errc (SQLite codes mapped by to_errc); open() gives
// text for the start-up log. After an error the caller must rollback().
#pragma once

#include <array>
#include <cstddef>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "queue/message.hpp"
#include "queue/queue_store.hpp"
#include "queue/sqlite_handle.hpp"
#include "queue/store_statements.hpp"

namespace queue {

/// A message whose body is a spool file, as the database knows it.
struct SpooledBody {
  MessageId id = 0;
  std::string file;
  std::uint64_t size = 0;
  bool tried = false;  // has history (a delivery attempt or an administrator's action)
};

class SqliteStore final : public QueueStore {
 public:
  /// Opens or creates `path`, sets the pragmas, registers the SQL functions
  /// (queue/sql_functions.hpp) and migrates the schema (queue/schema.hpp).
  static std::expected<SqliteStore, std::string> open(const std::string& path);

  SqliteStore(SqliteStore&&) noexcept = default;
  SqliteStore& operator=(SqliteStore&&) noexcept = default;

  // QueueStore's operations: see queue/queue_store.hpp (a lease is next_attempt = lease_until).
  /// BEGIN IMMEDIATE: takes the write lock now, so a later statement cannot hit BUSY.
  std::error_code begin() noexcept override;
  std::error_code commit() noexcept override;
  /// Safe to call when no transaction is open (SQLite may already have rolled back).
  void rollback() noexcept override;
  bool in_transaction() const noexcept override;

  /// The body moves into the returned QueuedMessage without a copy and is bound to
  /// SQLite in place.
  std::expected<QueuedMessage, std::error_code> insert(NewMessage&& message, UnixMillis lease_until) override;
  std::expected<std::vector<QueuedMessage>, std::error_code> claim_due(UnixMillis now, UnixMillis lease_until,
                                                                       std::size_t limit) override;
  /// Deletes the body of each message left with no pending recipient.
  std::error_code record(std::span<const RecipientOutcome> outcomes, FreedFiles& freed) override;

  // record_with_notice(): QueueStore's, over record() and insert().

  /// Deletes the body of message `id` when none of its recipients is pending (envelope
  /// and recipient rows stay as history); a spool file's name goes to `freed`. Inside a
  /// transaction.
  std::error_code finish_message(MessageId id, FreedFiles& freed);

  /// Every message whose body is a spool file (name and size): what the start-up orphan
  /// scan (queue/spool_scan.hpp) compares the spool directory with.
  std::expected<std::vector<SpooledBody>, std::error_code> spooled_bodies();

  std::expected<MessageId, std::error_code> reserve_ids(std::int64_t count) override;

  /// One node: every pending recipient of a message not held becomes due at `now`; the
  /// count includes held ones.
  std::expected<std::size_t, std::error_code> recover(UnixMillis now) override;

  /// Unparks the recipients it releases (RecipientOutcome::parked_route); fewer than
  /// `limit` released means none is left.
  std::expected<std::size_t, std::error_code> release_parked(std::uint32_t route, UnixMillis now,
                                                             std::size_t limit) override;

  std::expected<std::optional<UnixMillis>, std::error_code> next_due() override;

  /// Whether the following commits fsync (PRAGMA synchronous = FULL, the default) or
  /// leave that to the next fsync'd commit (NORMAL). In WAL mode a NORMAL commit is
  /// written to the WAL in order and becomes durable with the next FULL commit or
  /// checkpoint; a power loss may drop it, a process crash cannot. MessageQueue uses
  /// NORMAL only for transactions that commit no new message (delivery outcomes,
  /// leases): losing one means a recipient is tried again (at-least-once), never a lost
  /// message. Outside a transaction; a call that changes nothing costs nothing.
  std::error_code set_fsync_commits(bool fsync) noexcept override;

  /// The connection, on the owning thread: AdminStore runs its own queries on it, tests
  /// inspect it.
  sqlite3* handle() const noexcept { return db_.get(); }

 private:
  using Statements = std::array<Statement, store_statement_count>;  // indexed by StoreSql

  SqliteStore(Connection db, Statements statements) noexcept;
  Statement& statement(StoreSql id) noexcept { return statements_[static_cast<std::size_t>(id)]; }
  std::error_code fail(int sqlite_result) const noexcept;

  Connection db_;  // declared first: destroyed after the statements it owns
  Statements statements_;
  bool fsync_commits_ = true;  // mirrors PRAGMA synchronous (FULL after open)
};

}  // namespace queue
