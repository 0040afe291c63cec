// queue/queue_store.hpp — what the queue thread asks of its storage, whatever holds it.
//
// Owns: the interface MessageQueue's thread drives (transactions, inserts, claims,
// outcomes, start-up recovery, id reservation). Implemented by SqliteStore (one local
// file, the default) and PgStore (a PostgreSQL database several relay nodes share).
// Never: starts threads or reads a clock; the caller brackets work with begin()/commit()
// so many operations share one durable commit (group commit).
// Threading: an implementation is confined to one thread at a time.
// Errors: std::error_code with queue::errc. After an error the caller must rollback().
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "queue/message.hpp"

namespace queue {

/// Spool files of messages that went final inside a transaction. Their names are cleared
/// in it; the caller unlinks the files after COMMIT, never before (a rollback would leave
/// an envelope without its body). A lost unlink leaves an orphan the start-up scan removes.
using FreedFiles = std::vector<std::string>;

/// What insert() hands back, from the message it consumed: id, envelope and every
/// recipient as stored (pending, no attempts); the body is the caller's to set. Moves the
/// strings out of `message`.
QueuedMessage stored_envelope(MessageId id, NewMessage& message);

class QueueStore {
 public:
  virtual ~QueueStore() = default;

  /// Opens a write transaction.
  virtual std::error_code begin() noexcept = 0;
  /// Returns once the transaction is durable: only then may a session answer 250.
  virtual std::error_code commit() noexcept = 0;
  /// Safe to call when no transaction is open.
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() const noexcept = 0;

  /// Stores `message` with all recipients pending, attempts 0, leased until `lease_until`
  /// (held messages: not leased). Consumes the message. Inside a transaction.
  virtual std::expected<QueuedMessage, std::error_code> insert(NewMessage&& message, UnixMillis lease_until) = 0;

  /// Messages not held with pending recipients due at `now`, oldest received first, at
  /// most `limit`; their due recipients are leased until `lease_until`. Bodies loaded.
  /// Inside a transaction.
  virtual std::expected<std::vector<QueuedMessage>, std::error_code> claim_due(UnixMillis now,
                                                                               UnixMillis lease_until,
                                                                               std::size_t limit) = 0;

  /// Applies outcomes; frees the body of each message left with no pending recipient (a
  /// spooled one's name goes to `freed`). Outcomes naming no recipient this store may
  /// update are skipped and reported as errc::not_found after the others were applied.
  /// Inside a transaction.
  virtual std::error_code record(std::span<const RecipientOutcome> outcomes, FreedFiles& freed) = 0;

  /// record(), then queues `notice` (the sender's report on those outcomes, leased until
  /// `lease_until`) only when every outcome applied. An outcome that did not apply names
  /// a recipient an administrator (or, with a shared queue, another node) finished
  /// meanwhile; its report is not ours to send: returns nullopt and queues nothing.
  /// Inside a transaction, so the report and the outcomes commit together or not at all.
  std::expected<std::optional<QueuedMessage>, std::error_code> record_with_notice(
      std::span<const RecipientOutcome> outcomes, NewMessage&& notice, UnixMillis lease_until, FreedFiles& freed);

  /// Reserves `count` consecutive message ids nobody else will be given (not this store,
  /// not another writer, not after a restart); returns the first. Inside a transaction.
  virtual std::expected<MessageId, std::error_code> reserve_ids(std::int64_t count) = 0;

  /// Start-up: recipients this process may have been delivering when it stopped become
  /// due at `now`; returns the number of pending recipients. Inside a transaction.
  virtual std::expected<std::size_t, std::error_code> recover(UnixMillis now) = 0;

  /// Makes up to `limit` parked recipients of `route` (index + 1; 0: any) due at `now`,
  /// leased ones excepted. Returns how many. Inside a transaction.
  virtual std::expected<std::size_t, std::error_code> release_parked(std::uint32_t route, UnixMillis now,
                                                                     std::size_t limit) = 0;

  /// Heartbeat of a node sharing the queue: every lease it holds now runs until `until`
  /// (never shortened); returns how many. A queue of one node (SQLite) has nobody to keep
  /// away: nothing to do. Inside a transaction.
  virtual std::expected<std::size_t, std::error_code> renew_leases(UnixMillis /*until*/) { return 0; }

  /// Earliest next_attempt among pending recipients of messages not held.
  virtual std::expected<std::optional<UnixMillis>, std::error_code> next_due() = 0;

  /// Whether the following commits must be durable before they return (true, the
  /// default) or may ride on the next durable one (false: transactions that commit no new
  /// message). Outside a transaction.
  virtual std::error_code set_fsync_commits(bool fsync) noexcept = 0;

 protected:
  QueueStore() = default;
  QueueStore(const QueueStore&) = default;
  QueueStore(QueueStore&&) noexcept = default;
  QueueStore& operator=(const QueueStore&) = default;
  QueueStore& operator=(QueueStore&&) noexcept = default;
};

}  // namespace queue
