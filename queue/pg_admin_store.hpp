// queue/pg_admin_store.hpp — the operator's queue on the PostgreSQL database the nodes share.
//
// Owns: a connection of its own (a PgStore: reconnects after a loss, migrates the schema
// like the daemon, and queues the sender reports of bounce/expire with the daemon's own
// insert) and the PostgreSQL statements of the AdminStore operations (semantics:
// queue/admin_store.hpp), each in one transaction, every value a parameter.
// Leases: a recipient under a lease of any node (lease_node) that has not run out
// (lease_until > now) is never made due nor finished; one whose lease ran out is free,
// as it is for the nodes' scanners. Finishing clears the lease, so the late outcome of
// the node that held it finds the recipient final and is dropped (PgStore::record).
// The views name the holder (RecipientView::lease_node/lease_until).
// Bodies: bytea in `bodies`; there are no spool files (spooled_bodies() is empty).
// A lost database: the next call reconnects; one that cannot be reached is not tried
// again for unreachable_queue_pause (calls fail at once meanwhile).
// Never: creates the database (the daemon's first start does; the schema is migrated
// as PgStore::open does).
// Threading: one thread at a time. Errors: std::expected with an operator-readable text.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <span>
#include <string>

#include "queue/admin_store.hpp"
#include "queue/admin_store_open.hpp"  // unreachable_queue_pause
#include "queue/pg_store.hpp"

namespace queue {

class PgAdminStore final : public AdminStore {
 public:
  /// Connects as node `settings.node` (the node's name in the queue's leases: the reports
  /// it queues are left unleased, for any node's scanner).
  static std::expected<std::unique_ptr<PgAdminStore>, std::string> open(PgSettings settings);

  std::expected<std::vector<MessageView>, std::string> list(const QueueFilter& filter, UnixMillis now) override;
  std::expected<MessageView, std::string> show(MessageId id) override;
  std::expected<std::string, std::string> body(MessageId id) override;
  std::expected<MutationResult, std::string> retry(const Selection& selection, UnixMillis now) override;
  std::expected<MutationResult, std::string> hold(const Selection& selection) override;
  std::expected<MutationResult, std::string> release(const Selection& selection, UnixMillis now) override;
  std::expected<MutationResult, std::string> remove(const Selection& selection) override;
  std::expected<MutationResult, std::string> finish(const Selection& selection, RecipientState state,
                                                    std::string_view reply, UnixMillis now,
                                                    const NoticeComposer& compose) override;
  std::expected<std::vector<SpooledBody>, std::string> spooled_bodies() override;
  std::expected<std::vector<SummaryInput>, std::string> summary_inputs() override;
  std::expected<QueueDepth, std::string> depth() override;

 private:
  explicit PgAdminStore(std::unique_ptr<PgStore> store) noexcept : store_(std::move(store)) {}
  /// Runs `body()` in one transaction (BEGIN ... COMMIT; ROLLBACK when it fails).
  template <typename Body>
  auto transaction(Body&& body) -> decltype(body());
  /// `selection` as message ids, ascending; an unknown listed id is an error.
  std::expected<std::vector<MessageId>, std::string> resolve(const Selection& selection);
  std::expected<std::vector<MessageView>, std::string> list_in_transaction(const QueueFilter& filter, UnixMillis now);
  PgResult query(const std::string& sql, const PgParams& params, bool binary_result = false);

  std::unique_ptr<PgStore> store_;
  // After the database could not be reached, further calls fail at once until then
  // instead of each waiting out a connection attempt (the admin endpoint answers on the
  // daemon's I/O thread; a scrape every few seconds must not stall it).
  std::chrono::steady_clock::time_point reconnect_after_{};
};

}  // namespace queue
