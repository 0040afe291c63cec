// queue/admin_store.hpp — what `hubrelay queue` does to queue.db, daemon running or not.
//
// Owns: a second SQLite connection to the daemon's queue database (WAL lets it read next
// to the running writer; every mutation is one BEGIN IMMEDIATE transaction under the same
// busy timeout the daemon uses) and the admin operations: list, show, body export,
// retry, hold, release, delete, bounce, expire, summary and the depth figures for metrics.
// How the daemon notices: its retry scanner claims due recipients every second, so
// `retry`/`release` set next_attempt = now and `hold` sets messages.held (claims skip
// held messages). Recipients leased to a delivery in progress (recipients.leased = 1) are
// never made due again, so an admin retry cannot cause a second parallel delivery.
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
#include "queue/spool.hpp"
#include "queue/sqlite_store.hpp"

namespace queue {

/// What the queue commands and the admin API's queue views answer while the queue is a
/// shared PostgreSQL database: they read a local SQLite file only.
inline constexpr std::string_view shared_queue_unsupported =
    "the queue is in PostgreSQL ([queue] backend = \"postgresql\"); the queue commands and the admin API's "
    "queue views read a local SQLite queue only: inspect the shared queue with psql (see docs/scale-out.md)";

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

class AdminStore {
 public:
  /// Opens an existing queue database (migrating it if this binary is newer). A missing
  /// file is an error naming the path: the CLI must never create an empty queue.
  static std::expected<AdminStore, std::string> open(const std::string& db_path);

  std::expected<std::vector<MessageView>, std::string> list(const QueueFilter& filter, UnixMillis now);
  /// Envelope, recipients and attempts history; error "no message ..." if absent.
  std::expected<MessageView, std::string> show(MessageId id);
  /// The stored message (with our Received: header), inline or from its spool file;
  /// error once delivered (body purged).
  std::expected<std::string, std::string> body(MessageId id);

  std::expected<MutationResult, std::string> retry(const Selection& selection, UnixMillis now);
  std::expected<MutationResult, std::string> hold(const Selection& selection);
  std::expected<MutationResult, std::string> release(const Selection& selection, UnixMillis now);
  std::expected<MutationResult, std::string> remove(const Selection& selection);
  /// Pending recipients become `state` (failed or expired) with `reply` as their last
  /// reply and, in the same transaction, the report `compose` makes of them is queued
  /// (due at `now`, not leased) and the body of each message left with nothing pending
  /// is deleted, as the daemon's record() does.
  std::expected<MutationResult, std::string> finish(const Selection& selection, RecipientState state,
                                                    std::string_view reply, UnixMillis now,
                                                    const NoticeComposer& compose);

  /// Every message whose body is a spool file (start-up orphan scan).
  std::expected<std::vector<SpooledBody>, std::string> spooled_bodies();

  /// One row per pending (message, recipient domain) for the qshape summary.
  std::expected<std::vector<SummaryInput>, std::string> summary_inputs();
  std::expected<QueueDepth, std::string> depth();

 private:
  AdminStore(SqliteStore store, std::string state_dir) noexcept
      : store_(std::move(store)), state_dir_(std::move(state_dir)) {}
  std::expected<void, std::string> check_ids(std::span<const MessageId> ids);
  std::string reason() const;
  /// Runs `body(ids, freed)` in one transaction; after COMMIT unlinks the spool files
  /// named in `freed` (bodies of messages it deleted or finished).
  template <typename Body>
  std::expected<MutationResult, std::string> mutate(const Selection& selection, Body&& body);
  /// The message's body as stored; a spooled one carries its file's name and size.
  std::expected<StoredBody, std::string> stored_body(MessageId id);
  /// The daemon's spool (state_dir/spool), opened when a spooled body is first touched.
  std::expected<const Spool*, std::string> spool();

  SqliteStore store_;
  std::string state_dir_;
  std::unique_ptr<Spool> spool_;
};

}  // namespace queue
