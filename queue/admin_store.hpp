// queue/admin_store.hpp — what `hubrelay queue` and the admin API do to the queue, daemon running or not.
//
// Owns: the operator's queue operations, whatever the backend: list, show, body export,
// retry, hold, release, delete, bounce, expire, summary and the depth figures for metrics.
// Each runs on a connection of its own next to the daemon's, and every mutation is one
// transaction.
// How the daemon notices: its retry scanner claims due recipients every second, so
// `retry`/`release` set next_attempt = now and `hold` sets messages.held (claims skip
// held messages). Recipients leased to a delivery in progress are never made due again
// nor finished, so an admin retry cannot cause a second parallel delivery: on SQLite a
// lease is recipients.leased = 1; on a shared PostgreSQL queue it is the lease of any
// node (recipients.lease_node) until recipients.lease_until, and one that ran out (its
// node died or lost the database) counts as no lease, as it does for the other nodes.
// Deleting a message that is being delivered is safe: the daemon's record() then finds
// no row and drops the outcome. `bounce`/`expire` queue the sender's DSN in the same
// transaction that finishes the recipients (composed by the caller's NoticeComposer), so
// it exists exactly once whether the daemon runs or not; the scanner delivers it like
// any due message, and the original's body is freed once nothing of it is pending.
// Never: creates a database (a missing queue.db is an error), reads a clock (callers pass
// `now`), logs or prints — auditing is the caller's job.
// Threading: one thread at a time. Errors: std::expected with an operator-readable text.
#pragma once

#include <array>
#include <cstdint>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "queue/message.hpp"
#include "queue/message_view.hpp"
#include "queue/queue_query.hpp"
#include "queue/sqlite_store.hpp"  // SpooledBody

namespace queue {

/// Which messages a mutation applies to: the listed ids, every message, or (for retry)
/// the pending recipients in one domain.
struct Selection {
  std::vector<MessageId> ids;
  bool all = false;
  std::string domain;
};

/// What a mutation changed.
struct MutationResult {
  std::size_t messages = 0;
  std::size_t recipients = 0;
  std::size_t notices = 0;  // sender reports (DSNs) queued by finish()
};

/// Composes the report to the sender of `original` about the recipients an administrator
/// just finished, one outcome each (state, reply, last hop), or nullopt when none is due
/// (null sender, NOTIFY). `original` holds those recipients with their RCPT parameters
/// and the body. The queue composes nothing itself: the CLI plugs in relay::sender_notice.
using NoticeComposer =
    std::function<std::optional<NewMessage>(const QueuedMessage& original, std::span<const RecipientOutcome> finished)>;

/// Pending recipients by state, of the whole queue or of one direction.
struct DepthCounts {
  std::uint64_t queued_messages = 0, queued_recipients = 0;      // pending, no attempt or reason yet, not held
  std::uint64_t deferred_messages = 0, deferred_recipients = 0;  // pending, attempted or deferred with a reason
  std::uint64_t held_messages = 0, held_recipients = 0;
  UnixMillis oldest_queued = 0, oldest_deferred = 0, oldest_held = 0;  // received_at; 0 if none
  std::uint64_t bytes = 0;               // sizes of messages with anything pending
};

/// Queue depth for metrics and status: the whole queue, and per direction of the message
/// (messages.direction: the listener that accepted it, or the direction of a notice).
struct QueueDepth : DepthCounts {
  std::array<DepthCounts, 2> directions{};  // index: conf::Direction
};

/// One group of pending recipients a depth query counts: held or not, attempted or not,
/// in one direction (conf::Direction as stored); `oldest` the earliest received_at.
struct DepthRow {
  bool held = false;
  bool attempted = false;
  std::int64_t direction = 0;
  std::uint64_t messages = 0, recipients = 0;
  UnixMillis oldest = 0;
};

/// Adds a group to the whole queue's counts and to its direction's. A message is in one
/// direction, so the per-direction message counts add up to the total.
void add_depth(QueueDepth& depth, const DepthRow& row);
/// Adds the delivered size of the messages with something pending in one direction.
void add_depth_bytes(QueueDepth& depth, std::int64_t direction, std::uint64_t bytes);

/// The operator's queue: one implementation per backend (queue/sqlite_admin_store.hpp,
/// queue/pg_admin_store.hpp), chosen from the configuration by queue/admin_store_open.hpp.
class AdminStore {
 public:
  virtual ~AdminStore() = default;
  AdminStore(const AdminStore&) = delete;
  AdminStore& operator=(const AdminStore&) = delete;

  virtual std::expected<std::vector<MessageView>, std::string> list(const QueueFilter& filter, UnixMillis now) = 0;
  /// Envelope, recipients and attempts history; error "no message ..." if absent.
  virtual std::expected<MessageView, std::string> show(MessageId id) = 0;
  /// The stored message (with our Received: header), inline, from its spool file or from
  /// the shared database; error once delivered (body purged).
  virtual std::expected<std::string, std::string> body(MessageId id) = 0;

  virtual std::expected<MutationResult, std::string> retry(const Selection& selection, UnixMillis now) = 0;
  virtual std::expected<MutationResult, std::string> hold(const Selection& selection) = 0;
  virtual std::expected<MutationResult, std::string> release(const Selection& selection, UnixMillis now) = 0;
  virtual std::expected<MutationResult, std::string> remove(const Selection& selection) = 0;
  /// Pending recipients become `state` (failed or expired) with `reply` as their last
  /// reply and, in the same transaction, the report `compose` makes of them is queued
  /// (due at `now`, not leased) and the body of each message left with nothing pending
  /// is deleted, as the daemon's record() does.
  virtual std::expected<MutationResult, std::string> finish(const Selection& selection, RecipientState state,
                                                            std::string_view reply, UnixMillis now,
                                                            const NoticeComposer& compose) = 0;

  /// Every message whose body is a spool file (start-up orphan scan); none in a shared
  /// queue, whose bodies are all in the database.
  virtual std::expected<std::vector<SpooledBody>, std::string> spooled_bodies() = 0;

  /// One row per pending (message, recipient domain) for the qshape summary.
  virtual std::expected<std::vector<SummaryInput>, std::string> summary_inputs() = 0;
  virtual std::expected<QueueDepth, std::string> depth() = 0;

 protected:
  AdminStore() = default;
  AdminStore(AdminStore&&) = default;  // an implementation may be a value (SqliteAdminStore::open)
  AdminStore& operator=(AdminStore&&) = default;
};

}  // namespace queue
