// queue/message_queue.hpp — the durable message queue: one store (SQLite by default), one thread.
//
// Owns: the queue thread and its SQLite connection (WAL, synchronous=FULL; checkpoints
// on their own thread, queue/wal_checkpointer, never inside a commit). Every call
// is posted to that thread; callbacks run ON THE QUEUE THREAD, so callers re-post them
// to their own executor and must not block in them. Exception: once shutdown() began,
// new calls fail with errc::closed and their callback runs at once on the calling thread.
// Group commit: commit() requests that arrive while a transaction is running are batched
// into the next one (up to conf::QueueConfig::group_commit_max_batch messages), so N
// concurrent sessions cost one fsync, not N. A commit callback fires only after COMMIT
// returned, i.e. after the data is on disk; only then may the session answer 250.
// Leases: a recipient handed to delivery has next_attempt pushed to `lease_until`, so a
// scan does not hand it out twice; recover() on start makes every pending recipient due
// now, which is how a crash mid-delivery is retried.
// Ids: reserve_id() hands out ids before the commit (the Received: header names them)
// from blocks reserved in the database; commits without one get the next free id.
// Spool: a commit may name a body file (NewMessage::body_file) its session wrote; the
// session flushes the file (and its directory entry) on the sync pool while this commit
// runs, and answers 250 only when both are durable. Bodies freed by record() are
// unlinked after COMMIT, on the body sync pool when the queue has one (off this thread;
// a crash before the unlink leaves a file no envelope names, which start-up removes).
// Errors: queue::errc (queue/errc.hpp). Never throws after open().
#pragma once

#include <chrono>
#include <cstddef>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "conf/config.hpp"
#include "queue/errc.hpp"
#include "queue/message.hpp"

namespace queue {

/// How long a claimed or fresh message is leased to this node: `local` on the node's own
/// SQLite queue (only a restart clears its leases), [queue.postgresql] lease_time on a
/// shared queue, where the daemon renews leases every third of it and a dead node's
/// messages go to the others once its leases ran out.
inline UnixMillis lease_time(const conf::QueueConfig& config, UnixMillis local) noexcept {
  if (config.backend != conf::QueueBackend::postgresql) return local;
  return std::chrono::duration_cast<std::chrono::milliseconds>(config.pg_lease_time).count();
}

class BodySyncPool;
class QueueStore;
class Spool;
class WalCheckpointer;

struct QueueCounters {
  std::uint64_t transactions = 0;        // group commits performed
  std::uint64_t messages_committed = 0;
  std::uint64_t largest_batch = 0;
  // Commit latency for metrics: steady_clock around BEGIN..COMMIT of transactions that
  // carried commits; it is a metric only, never stored.
  std::uint64_t commit_micros_total = 0;   // summed transaction time of group commits
};

class MessageQueue {
 public:
  using CommitDone = std::move_only_function<void(std::expected<QueuedMessage, std::error_code>)>;
  using ClaimDone = std::move_only_function<void(std::expected<std::vector<QueuedMessage>, std::error_code>)>;
  using RecordDone = std::move_only_function<void(std::error_code)>;
  using NoticeDone = std::move_only_function<void(std::expected<std::optional<QueuedMessage>, std::error_code>)>;
  using ReleaseDone = std::move_only_function<void(std::expected<std::size_t, std::error_code>)>;

  /// How long a delivery outcome waits for a new message's transaction to share: a few
  /// messages' time of one session, short enough that the queue shows it at once.
  static constexpr std::chrono::milliseconds default_outcome_wait{20};

  /// Opens (creating or migrating) `db_path` and starts the queue thread.
  /// Exceptions are not used; a failure is returned as text for the start-up log.
  /// `spool` (outliving the queue) holds the bodies too large to stay inline: a message
  /// that went final has its file unlinked after COMMIT. Null: every body is inline (a commit naming a
  /// body file then fails with errc::internal). `background` (outliving the queue, and
  /// outlived by `spool`) runs those unlinks off the queue thread; null: on it.
  /// `outcome_wait`: how long record() outcomes may wait for the next transaction to
  /// ride in (see "Delivery outcomes" in message_queue.cpp); tests lengthen it.
  static std::expected<std::unique_ptr<MessageQueue>, std::string> open(
      const std::string& db_path, const conf::QueueConfig& config, const Spool* spool = nullptr,
      BodySyncPool* background = nullptr, std::chrono::milliseconds outcome_wait = default_outcome_wait);

  /// As above, over a store opened by the caller (a PostgreSQL queue, queue/pg_store.hpp):
  /// no checkpointer; the store is used by the queue thread only from now on.
  static std::expected<std::unique_ptr<MessageQueue>, std::string> open(
      std::unique_ptr<QueueStore> store, const conf::QueueConfig& config, const Spool* spool = nullptr,
      BodySyncPool* background = nullptr, std::chrono::milliseconds outcome_wait = default_outcome_wait);

  /// shutdown(), finishes queued work, then stops the thread and closes the database.
  /// Must not run on the queue thread (i.e. not from one of its own callbacks).
  ~MessageQueue();
  MessageQueue(const MessageQueue&) = delete;
  MessageQueue& operator=(const MessageQueue&) = delete;

  /// Durably stores `message` with every recipient pending and leased until
  /// `lease_until` (the caller delivers it at once from memory). `done` receives the
  /// stored message (id, recipients, body shared) after COMMIT, or the error.
  void commit(NewMessage message, UnixMillis lease_until, CommitDone done);

  /// A queue id for a message not committed yet (NewMessage::id), so that what is written
  /// before the commit — the Received: header — can name it. Ids are handed out from
  /// blocks reserved in the database (SqliteStore::reserve_ids), so an id is never given
  /// twice: not after a restart, not to another writer such as the CLI. Ids of
  /// transactions that never commit, and the rest of a block at exit, are skipped (gaps).
  /// Never blocks; the next block is reserved in the background when half the current one
  /// is used. nullopt: none is reserved right now (before prepare_ids(), or a burst used
  /// up both blocks) — the caller answers 4xx and the client retries.
  std::optional<MessageId> reserve_id();
  /// Synchronous, before serving: reserves the first block of ids for reserve_id().
  /// Blocks the caller until the queue thread has run it; not from a queue callback.
  std::error_code prepare_ids();

  /// Claims up to `limit` messages with recipients due at `now` (pending, next_attempt
  /// <= now, not held), oldest first, leasing them until `lease_until`. Bodies loaded.
  void claim_due(UnixMillis now, UnixMillis lease_until, std::size_t limit, ClaimDone done);

  /// Applies delivery outcomes in a transaction, usually the next commit's: they wait
  /// up to the outcome wait for one (`done` runs after that COMMIT). A message whose
  /// recipients are all final (delivered/failed/expired) has its body deleted. Outcomes that name no stored
  /// recipient are skipped; `done` then gets errc::not_found, the others still applied.
  void record(std::vector<RecipientOutcome> outcomes, RecordDone done);

  /// Applies delivery outcomes and queues the sender's report on them in one durable
  /// transaction (SqliteStore::record_with_notice): `done` gets the stored report, or
  /// nullopt when a recipient was finished by an administrator meanwhile (no second DSN).
  void record_with_notice(std::vector<RecipientOutcome> outcomes, NewMessage notice, UnixMillis lease_until,
                          NoticeDone done);

  /// Makes up to `limit` recipients parked on `route` (index + 1; 0: any route) due at
  /// `now` (SqliteStore::release_parked). `done` gets how many; fewer than `limit` means
  /// the route has none left. The caller repeats in small rounds so commits interleave.
  void release_parked(std::uint32_t route, UnixMillis now, std::size_t limit, ReleaseDone done);

  /// Extends every lease this node holds to `until` (QueueStore::renew_leases): the
  /// heartbeat of a node sharing a PostgreSQL queue; `done` gets how many. Nothing to do
  /// on SQLite. Like outcomes, a renewal is not flushed on its own.
  void renew_leases(UnixMillis until, ReleaseDone done);

  /// Synchronous, before serving: every pending recipient becomes due at `now`.
  /// Returns how many recipients are pending. Blocks the caller until the queue thread
  /// has run it (runs inline when called from a queue callback).
  std::expected<std::size_t, std::error_code> recover(UnixMillis now);

  /// Earliest next_attempt among pending recipients of messages not held, if any. The
  /// daemon's retry scanner does not ask (it claims every second); tests read due times.
  void next_due(std::move_only_function<void(std::expected<std::optional<UnixMillis>, std::error_code>)> done);

  QueueCounters counters() const;

  /// Stops accepting work: from now on every call fails with errc::closed, its callback
  /// invoked at once on the calling thread. Work already queued still runs. Idempotent;
  /// the destructor calls it, then waits for the queued work to finish.
  void shutdown();

 private:
  MessageQueue();
  static std::expected<std::unique_ptr<MessageQueue>, std::string> start(
      std::unique_ptr<WalCheckpointer> checkpointer, std::unique_ptr<QueueStore> store,
      const conf::QueueConfig& config, const Spool* spool, BodySyncPool* background,
      std::chrono::milliseconds outcome_wait);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace queue
