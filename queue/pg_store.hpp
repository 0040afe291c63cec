// queue/pg_store.hpp — the queue in a PostgreSQL database that several relay nodes share.
//
// Owns: one libpq connection (reopened with the same conninfo after it is lost, so a
// multi-host conninfo with target_session_attrs=read-write follows a promoted standby),
// the prepared statements of the queue, and the leases that keep nodes apart:
// - claim_due() locks due recipients with FOR UPDATE SKIP LOCKED, so two nodes never
//   claim the same recipient, and leases them to this node (lease_node) until
//   lease_until (also next_attempt: an expired lease is simply due again, for any node);
//   a message whose recipients another node's expired lease held names that node.
// - record() applies an outcome unless another node holds the recipient's lease (it
//   took the recipient over after ours expired; its outcome counts): errc::not_found.
// - recover() at start releases this node's leases only; other nodes' expire on their own.
// - renew_leases() extends only the leases this process took in transactions it saw
//   commit and has not recorded an outcome for. A lease whose COMMIT failed in doubt (the
//   server lost mid-COMMIT: the session answered 451, but a promoted standby may have the
//   message) belongs to no delivery here: it runs out, and any node delivers the message.
// Bodies: every body is a bytea (any node can deliver any message). A body the session
// spooled to a file is read into it at insert and the file removed after COMMIT.
// Round trips: a transaction is one libpq pipeline (queue/pg_pipeline.hpp). Inserts,
// history rows and finished bodies' deletions are sent without waiting; only what needs
// an answer (a claim, which outcomes applied) waits, and COMMIT reads every answer: any
// failure fails the COMMIT, so nothing of the transaction is stored or acknowledged.
// Durability: COMMIT returns when the server (and, with synchronous replication, its
// standby) has the transaction; transactions that commit no message ask for no flush
// (set_fsync_commits(false): synchronous_commit off, the SQLite queue's NORMAL).
// Threading: one thread at a time (the queue thread).
// Errors: queue::errc; a lost or read-only connection is errc::unavailable. Losing the
// connection and getting one back are reported through PgSettings::on_connection_event,
// never with the password (queue/pg_redact.hpp).
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "queue/pg_handle.hpp"
#include "queue/pg_pipeline.hpp"
#include "queue/queue_store.hpp"

namespace queue {

class Spool;

/// What happened to the connection after start-up, for the log. `detail` is libpq's or
/// the server's text without the conninfo's secrets (queue/pg_redact.hpp).
struct PgConnectionEvent {
  enum class Kind {
    lost,              // a working connection failed (server gone, restarted, read-only)
    reconnect_failed,  // no server accepts writes yet; reported once per distinct reason
    reconnected,       // a server accepts writes again; `detail` names it
  };
  Kind kind;
  std::string detail;
  std::uint64_t failed_attempts = 0;  // reconnected: attempts that failed before
};

/// How to reach the shared queue and who this node is.
struct PgSettings {
  std::string conninfo;  // libpq connection string (keywords or URI)
  std::string node;      // this node's name in leases; unique among the nodes
  std::chrono::seconds connect_timeout{10};  // per host tried (libpq connect_timeout)
  /// Called on the queue thread at each connection event (may be empty).
  std::function<void(const PgConnectionEvent&)> on_connection_event;
  /// BEGIN goes ahead in the transaction's pipeline while the session is quiet (the queue
  /// thread, where round trips are the cost). false: BEGIN always waits for its answer,
  /// so a session the server is ending right now is found at begin(), before anything
  /// was sent (the admin store, which then reconnects at once).
  bool begin_ahead = true;
};

class PgStore final : public QueueStore {
 public:
  /// Connects, migrates the schema (queue/pg_schema.hpp) and prepares the statements.
  /// `spool` (outliving the store; may be null) is where bodies written to files are.
  static std::expected<std::unique_ptr<PgStore>, std::string> open(PgSettings settings,
                                                                   const Spool* spool = nullptr);

  // QueueStore's operations: see queue/queue_store.hpp (leases and bodies: above).
  std::error_code begin() noexcept override;
  std::error_code commit() noexcept override;
  void rollback() noexcept override;
  bool in_transaction() const noexcept override;
  std::expected<QueuedMessage, std::error_code> insert(NewMessage&& message, UnixMillis lease_until) override;
  std::expected<std::vector<QueuedMessage>, std::error_code> claim_due(UnixMillis now, UnixMillis lease_until,
                                                                       std::size_t limit) override;
  std::error_code record(std::span<const RecipientOutcome> outcomes, FreedFiles& freed) override;
  /// One block per call: `count` must not exceed pg_id_block (errc::internal otherwise).
  std::expected<MessageId, std::error_code> reserve_ids(std::int64_t count) override;
  std::expected<std::size_t, std::error_code> recover(UnixMillis now) override;
  std::expected<std::size_t, std::error_code> release_parked(std::uint32_t route, UnixMillis now,
                                                             std::size_t limit) override;
  std::expected<std::optional<UnixMillis>, std::error_code> next_due() override;
  std::error_code set_fsync_commits(bool fsync) noexcept override;

  /// Leases can be short, so a dead node's recipients go to the others soon, while a long
  /// delivery keeps its own by renewing.
  std::expected<std::size_t, std::error_code> renew_leases(UnixMillis until) override;

  /// Runs `sql` (no prepared statement) in the open transaction, after what it sent
  /// before: the administrator's queries share the store's connection and transaction.
  PgResult query(const std::string& sql, const PgParams& params, bool binary_result = false);

  /// The connection (null while lost): tests inspect it.
  PGconn* connection() const noexcept { return connection_.get(); }
  const std::string& node() const noexcept { return settings_.node; }

 private:
  PgStore(PgSettings settings, const Spool* spool) noexcept : settings_(std::move(settings)), spool_(spool) {}
  /// A new connection: the conninfo over this store's defaults.
  PgConnection dial() const;
  /// (Re)connects when there is no usable connection and prepares the statements.
  std::error_code connect();
  /// Maps a failed result to an errc; drops the connection when it is gone or read-only.
  std::error_code fail(const PgResult& result) noexcept;
  /// The connection stopped working: reported once, then dropped.
  void lose_connection(std::string why) noexcept;
  void report(PgConnectionEvent::Kind kind, std::string detail) noexcept;
  /// Runs a statement whose result the caller needs now (in the transaction's pipeline:
  /// one round trip, which also checks everything deferred before it).
  PgResult run(const char* statement, const PgParams& params, bool binary_result = false);
  /// Runs `statement` once per parameter set: all sent, then all answers read (one round
  /// trip in a transaction). A null result: no answer (the connection failed).
  std::vector<PgResult> run_all(const char* statement, std::span<const PgParams> params, bool binary_result = false);
  /// Sends a statement whose result nothing waits for; in a transaction it is checked at
  /// the next run() or at COMMIT, whose failure then fails the transaction.
  std::error_code defer(const char* statement, const PgParams& params);
  /// Reads a spooled body (prefix, then the file from `skip`) into one string.
  std::expected<std::string, std::error_code> read_spooled(const NewMessage& message) const;

  PgSettings settings_;
  const Spool* spool_;
  PgConnection connection_;
  PgPipeline pipeline_;  // the open transaction's statements (pipeline mode between begin and commit)
  bool fsync_commits_ = true;
  std::vector<std::string> inserted_files_;  // spool files read into this transaction's bodies
  // Recipients (message, index) leased to this node by committed transactions of this
  // process and not recorded since: what renew_leases() keeps. This transaction's new
  // leases and outcomes join it at COMMIT.
  using Lease = std::pair<MessageId, std::int32_t>;
  std::set<Lease> leases_;
  std::vector<Lease> leased_now_;
  std::vector<Lease> recorded_now_;
  std::string last_error_;                   // why connect() failed, without secrets
  // Connection history since start-up: reconnecting after a loss, attempts that failed,
  // and the last reason reported (a dead primary fails every round the same way).
  bool reconnecting_ = false;
  std::uint64_t failed_attempts_ = 0;
  std::string reported_reason_;
};

}  // namespace queue
