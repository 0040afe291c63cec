// queue/sqlite_admin_store.hpp — the operator's queue on the node's own queue.db.
//
// Owns: a second SQLite connection to the daemon's queue database (WAL lets it read next
// to the running writer; every mutation is one BEGIN IMMEDIATE transaction under the same
// busy timeout the daemon uses), the spool of bodies stored as files, and the SQLite
// statements of the AdminStore operations (semantics: queue/admin_store.hpp). A lease is
// recipients.leased = 1; the views show no lease holder (there is only this node).
// Never: creates a database (a missing queue.db is an error).
// Threading: one thread at a time. Errors: std::expected with an operator-readable text.
#pragma once

#include <expected>
#include <memory>
#include <span>
#include <string>

#include "queue/admin_store.hpp"
#include "queue/spool.hpp"
#include "queue/sqlite_store.hpp"

namespace queue {

class SqliteAdminStore final : public AdminStore {
 public:
  /// Opens an existing queue database (migrating it if this binary is newer). A missing
  /// file is an error naming the path: the CLI must never create an empty queue.
  static std::expected<SqliteAdminStore, std::string> open(const std::string& db_path);

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
  SqliteAdminStore(SqliteStore store, std::string state_dir) noexcept
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
