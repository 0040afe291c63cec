// queue/sqlite_store.cpp — SQL of the queue: statements prepared once, bound in place.
#include "queue/sqlite_store.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "queue/schema.hpp"
#include "queue/sql_functions.hpp"

namespace queue {
namespace {

// Long enough to ride out a checkpoint or an admin's `hubrelay queue` command holding the
// write lock; short enough that a wedged lock shows up as errc::busy, not a hang.
constexpr int busy_timeout_ms = 5000;

// WAL files are truncated back to this size after a checkpoint; bodies are large and a
// burst could otherwise leave a multi-gigabyte -wal file behind.
constexpr const char* journal_size_limit_pragma = "PRAGMA journal_size_limit = 67108864";

constexpr std::int64_t state_value(RecipientState s) noexcept { return static_cast<std::int64_t>(s); }

conf::Direction direction_from(std::int64_t value) noexcept {
  return value == static_cast<std::int64_t>(conf::Direction::outbound) ? conf::Direction::outbound
                                                                        : conf::Direction::inbound;
}

std::int64_t sql_limit(std::size_t limit) noexcept {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, max));
}

std::expected<void, std::string> set_pragmas(sqlite3* db) {
  auto journal = Statement::prepare(db, "PRAGMA journal_mode = WAL");
  if (!journal) return std::unexpected(std::string("cannot set journal_mode: ") + sqlite3_errmsg(db));
  {
    ResetOnExit reset(*journal);
    if (journal->step() != SQLITE_ROW) {
      return std::unexpected(std::string("cannot set journal_mode: ") + sqlite3_errmsg(db));
    }
    // SQLite silently keeps the old mode where WAL is impossible (e.g. no shared memory);
    // group commit and concurrent CLI readers depend on WAL, so refuse instead.
    if (const std::string_view mode = journal->column_text(0); mode != "wal") {
      return std::unexpected("queue database cannot use WAL journal mode (SQLite kept '" + std::string(mode) + "')");
    }
  }
  for (const char* pragma : {"PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON", journal_size_limit_pragma}) {
    if (execute(db, pragma) != SQLITE_OK) {
      return std::unexpected(std::string("cannot apply ") + pragma + ": " + sqlite3_errmsg(db));
    }
  }
  if (sqlite3_busy_timeout(db, busy_timeout_ms) != SQLITE_OK) {
    return std::unexpected(std::string("cannot set the busy timeout: ") + sqlite3_errmsg(db));
  }
  return {};
}

}  // namespace

SqliteStore::SqliteStore(Connection db, Statements statements) noexcept
    : db_(std::move(db)), statements_(std::move(statements)) {}

std::expected<SqliteStore, std::string> SqliteStore::open(const std::string& path) {
  auto db = open_connection(path);
  if (!db) return std::unexpected(db.error());
  sqlite3* raw = db->get();
  if (auto ok = set_pragmas(raw); !ok) return std::unexpected(path + ": " + ok.error());
  if (auto ok = register_sql_functions(raw); !ok) return std::unexpected(path + ": " + ok.error());
  if (auto version = migrate(raw); !version) return std::unexpected(path + ": " + version.error());

  Statements s;
  std::string failure;
  auto prepare = [&](Statement& into, std::string_view sql) {
    if (!failure.empty()) return;
    auto statement = Statement::prepare(raw, sql);
    if (!statement) {
      failure = path + ": cannot prepare queue statement: " + sqlite3_errmsg(raw);
      return;
    }
    into = std::move(*statement);
  };
  prepare(s.begin, "BEGIN IMMEDIATE");
  prepare(s.commit, "COMMIT");
  prepare(s.rollback, "ROLLBACK");
  prepare(s.insert_message,
          "INSERT INTO messages(direction, listener, client_address, helo, sender, mail_parameters, "
          "received_at, size) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  prepare(s.insert_body, "INSERT INTO bodies(message_id, data) VALUES(?1, ?2)");
  prepare(s.insert_recipient,
          "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt, updated_at, leased, "
          "parameters) VALUES(?1, ?2, ?3, 0, 0, ?4, ?5, 1, ?6)");
  // The IN set comes from the (state, next_attempt) index, so the scan touches only due
  // recipients, never the history of finished messages. The set is cut to the 4 x limit
  // longest-due recipients (an index walk that stops early) before the ORDER BY sorts it:
  // without the cut every claim sorted the WHOLE due backlog (issue 8: O(backlog) per
  // claim, seconds per claim at 10^6 queued). 4 x leaves room for multi-recipient
  // messages; anything cut is claimed by the next round.
  prepare(s.select_due_messages,
          "SELECT id, direction, listener, sender, mail_parameters, received_at FROM messages "
          "WHERE held = 0 AND id IN (SELECT message_id FROM recipients WHERE state = 0 AND next_attempt <= ?1 "
          "ORDER BY next_attempt LIMIT ?2 * 4) "
          "ORDER BY received_at, id LIMIT ?2");
  prepare(s.select_due_recipients,
          "SELECT idx, address, attempts, parameters, delay_notified FROM recipients "
          "WHERE message_id = ?1 AND state = 0 AND next_attempt <= ?2 ORDER BY idx");
  // The unary "+" keeps SQLite from answering these per-message statements through the
  // recipients_due index, which it otherwise prefers (no ANALYZE statistics): that walks
  // EVERY pending recipient per call, O(backlog) per claimed or delivered message (issue 8
  // profile: 0.8 ms per delivery at 11k queued, growing linearly). With "+" they use the
  // (message_id, idx) primary key: a handful of rows.
  prepare(s.lease_recipients,
          "UPDATE recipients SET next_attempt = ?3, leased = 1 WHERE message_id = ?1 AND +state = 0 AND +next_attempt <= ?2");
  prepare(s.select_body, "SELECT data FROM bodies WHERE message_id = ?1");
  prepare(s.update_recipient,
          "UPDATE recipients SET state = ?3, attempts = attempts + ?4, next_attempt = ?5, last_reply = ?6, "
          "hop = nullif(?7, ''), updated_at = ?8, leased = 0, delay_notified = max(delay_notified, ?9), "
          "parked = ?10 WHERE message_id = ?1 AND idx = ?2");
  prepare(s.any_pending, "SELECT EXISTS(SELECT 1 FROM recipients WHERE message_id = ?1 AND +state = 0)");
  prepare(s.delete_body, "DELETE FROM bodies WHERE message_id = ?1");
  prepare(s.recover_due,
          "UPDATE recipients SET next_attempt = ?1, leased = 0, parked = 0 WHERE state = 0 AND NOT EXISTS "
          "(SELECT 1 FROM messages m WHERE m.id = recipients.message_id AND m.held <> 0)");
  // Walks the partial index recipients_parked only. A leased row is being delivered right
  // now (claimed by its own timer): making it due again would hand it out twice.
  prepare(s.release_parked,
          "UPDATE recipients SET next_attempt = ?1, parked = 0 WHERE (message_id, idx) IN "
          "(SELECT message_id, idx FROM recipients WHERE parked <> 0 AND (?2 = 0 OR parked = ?2) "
          "AND leased = 0 LIMIT ?3)");
  // History for `hubrelay queue show` (issue 7); only attempted outcomes are recorded.
  prepare(s.insert_attempt,
          "INSERT INTO attempts(message_id, idx, at, hop, state, reply) VALUES(?1, ?2, ?3, nullif(?4, ''), ?5, ?6)");
  prepare(s.count_pending, "SELECT count(*) FROM recipients WHERE state = 0");
  prepare(s.next_due,
          "SELECT r.next_attempt FROM recipients r JOIN messages m ON m.id = r.message_id "
          "WHERE r.state = 0 AND m.held = 0 ORDER BY r.next_attempt LIMIT 1");
  if (!failure.empty()) return std::unexpected(failure);
  return SqliteStore(std::move(*db), std::move(s));
}

std::error_code SqliteStore::fail(int sqlite_result) const noexcept { return make_error_code(to_errc(sqlite_result)); }

std::error_code SqliteStore::begin() noexcept {
  Statement& s = statements_.begin;
  ResetOnExit reset(s);
  const int rc = s.step();
  return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
}

std::error_code SqliteStore::set_fsync_commits(bool fsync) noexcept {
  if (fsync == fsync_commits_) return {};
  const int rc = execute(db_.get(), fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  if (rc != SQLITE_OK) return fail(rc);
  fsync_commits_ = fsync;
  return {};
}

std::error_code SqliteStore::commit() noexcept {
  Statement& s = statements_.commit;
  ResetOnExit reset(s);
  const int rc = s.step();
  return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
}

void SqliteStore::rollback() noexcept {
  // After SQLITE_FULL or an I/O error SQLite may already have rolled back on its own;
  // a second ROLLBACK would only fail with "no transaction is active".
  if (!in_transaction()) return;
  Statement& s = statements_.rollback;
  ResetOnExit reset(s);
  s.step();
}

bool SqliteStore::in_transaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }

std::expected<QueuedMessage, std::error_code> SqliteStore::insert(NewMessage&& message, UnixMillis lease_until) {
  // The body moves into the shared string the delivery side will read, and SQLite reads
  // it in place (SQLITE_STATIC): the message bytes are never copied on the way to disk.
  auto body = std::make_shared<std::string>(std::move(message.body));
  MessageId id = 0;
  {
    Statement& s = statements_.insert_message;
    ResetOnExit reset(s);
    s.bind(1, static_cast<std::int64_t>(message.direction));
    s.bind_text(2, message.listener);
    s.bind_text(3, message.client_address);
    s.bind_text(4, message.helo);
    s.bind_text(5, message.sender);
    s.bind_text(6, message.mail_parameters);
    s.bind(7, message.received_at);
    s.bind(8, static_cast<std::int64_t>(body->size()));
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
    id = sqlite3_last_insert_rowid(db_.get());
  }
  {
    Statement& s = statements_.insert_body;
    ResetOnExit reset(s);
    s.bind(1, id);
    s.bind_blob(2, *body);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  Statement& s = statements_.insert_recipient;
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    ResetOnExit reset(s);
    s.bind(1, id);
    s.bind(2, static_cast<std::int64_t>(i));
    s.bind_text(3, message.recipients[i]);
    s.bind(4, lease_until);
    s.bind(5, message.received_at);
    s.bind_text(6, i < message.recipient_parameters.size() ? std::string_view(message.recipient_parameters[i])
                                                           : std::string_view());
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }

  QueuedMessage stored;
  stored.id = id;
  stored.direction = message.direction;
  stored.listener = std::move(message.listener);
  stored.sender = std::move(message.sender);
  stored.mail_parameters = std::move(message.mail_parameters);
  stored.received_at = message.received_at;
  stored.recipients.reserve(message.recipients.size());
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    stored.recipients.push_back({static_cast<std::int32_t>(i), std::move(message.recipients[i]), 0,
                                 i < message.recipient_parameters.size() ? std::move(message.recipient_parameters[i])
                                                                         : std::string()});
  }
  stored.body = std::move(body);
  return stored;
}

std::expected<std::vector<QueuedMessage>, std::error_code> SqliteStore::claim_due(UnixMillis now,
                                                                                  UnixMillis lease_until,
                                                                                  std::size_t limit) {
  std::vector<QueuedMessage> claimed;
  if (limit == 0) return claimed;
  {
    // Collected first and the cursor closed, so the lease updates below never modify a
    // table under an open SELECT.
    Statement& s = statements_.select_due_messages;
    ResetOnExit reset(s);
    s.bind(1, now);
    s.bind(2, sql_limit(limit));
    int rc = SQLITE_ROW;
    while ((rc = s.step()) == SQLITE_ROW) {
      QueuedMessage& m = claimed.emplace_back();
      m.id = s.column_int64(0);
      m.direction = direction_from(s.column_int64(1));
      m.listener = s.column_text(2);
      m.sender = s.column_text(3);
      m.mail_parameters = s.column_text(4);
      m.received_at = s.column_int64(5);
    }
    if (rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  for (QueuedMessage& m : claimed) {
    {
      Statement& s = statements_.select_due_recipients;
      ResetOnExit reset(s);
      s.bind(1, m.id);
      s.bind(2, now);
      int rc = SQLITE_ROW;
      while ((rc = s.step()) == SQLITE_ROW) {
        m.recipients.push_back({static_cast<std::int32_t>(s.column_int64(0)), std::string(s.column_text(1)),
                                static_cast<std::uint32_t>(s.column_int64(2)), std::string(s.column_text(3)),
                                s.column_int64(4) != 0});
      }
      if (rc != SQLITE_DONE) return std::unexpected(fail(rc));
    }
    {
      Statement& s = statements_.select_body;
      ResetOnExit reset(s);
      s.bind(1, m.id);
      const int rc = s.step();
      if (rc == SQLITE_ROW) {
        m.body = std::make_shared<const std::string>(s.column_blob(0));
      } else if (rc != SQLITE_DONE) {
        return std::unexpected(fail(rc));
      }
    }
    Statement& s = statements_.lease_recipients;
    ResetOnExit reset(s);
    s.bind(1, m.id);
    s.bind(2, now);
    s.bind(3, lease_until);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  // A pending recipient without a body cannot be delivered. Its lease was still taken so
  // the scanner does not spin on it; it stays visible to `hubrelay queue` for an admin.
  std::erase_if(claimed, [](const QueuedMessage& m) { return m.body == nullptr || m.recipients.empty(); });
  return claimed;
}

std::error_code SqliteStore::finish_message(MessageId id) noexcept {
  bool pending = true;
  {
    Statement& s = statements_.any_pending;
    ResetOnExit reset(s);
    s.bind(1, id);
    const int rc = s.step();
    if (rc != SQLITE_ROW) return fail(rc);
    pending = s.column_int64(0) != 0;
  }
  if (pending) return {};
  // Envelope and recipient rows stay as delivery history; only the bulk goes.
  Statement& s = statements_.delete_body;
  ResetOnExit reset(s);
  s.bind(1, id);
  const int rc = s.step();
  return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
}

std::error_code SqliteStore::record(std::span<const RecipientOutcome> outcomes) {
  std::error_code result;
  std::optional<MessageId> previous;
  Statement& s = statements_.update_recipient;
  for (const RecipientOutcome& o : outcomes) {
    if (previous && *previous != o.id) {
      if (auto ec = finish_message(*previous)) return ec;
    }
    previous = o.id;
    ResetOnExit reset(s);
    s.bind(1, o.id);
    s.bind(2, o.index);
    s.bind(3, state_value(o.state));
    s.bind(4, o.attempted ? 1 : 0);
    s.bind(5, o.next_attempt);
    s.bind_text(6, o.reply);
    s.bind_text(7, o.hop);
    if (o.recorded_at != 0) {
      s.bind(8, o.recorded_at);
    } else {
      s.bind_null(8);
    }
    s.bind(9, o.delay_notified ? 1 : 0);
    s.bind(10, static_cast<std::int64_t>(o.state == RecipientState::pending ? o.parked_route : 0));
    if (const int rc = s.step(); rc != SQLITE_DONE) return fail(rc);
    if (sqlite3_changes(db_.get()) == 0) {
      // The recipient is gone (an admin deleted the message mid-delivery): nothing to log.
      result = errc::not_found;
      continue;
    }
    if (o.attempted || !o.reply.empty()) {  // tried, or deferred with a reason
      Statement& a = statements_.insert_attempt;
      ResetOnExit reset_attempt(a);
      a.bind(1, o.id);
      a.bind(2, o.index);
      if (o.recorded_at != 0) {
        a.bind(3, o.recorded_at);
      } else {
        a.bind_null(3);
      }
      a.bind_text(4, o.hop);
      a.bind(5, state_value(o.state));
      a.bind_text(6, o.reply);
      if (const int rc = a.step(); rc != SQLITE_DONE) return fail(rc);
    }
  }
  if (previous) {
    if (auto ec = finish_message(*previous)) return ec;
  }
  return result;
}

std::expected<std::size_t, std::error_code> SqliteStore::recover(UnixMillis now) {
  {
    Statement& s = statements_.recover_due;
    ResetOnExit reset(s);
    s.bind(1, now);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  Statement& s = statements_.count_pending;
  ResetOnExit reset(s);
  if (const int rc = s.step(); rc != SQLITE_ROW) return std::unexpected(fail(rc));
  return static_cast<std::size_t>(s.column_int64(0));
}

std::expected<std::size_t, std::error_code> SqliteStore::release_parked(std::uint32_t route, UnixMillis now,
                                                                      std::size_t limit) {
  Statement& s = statements_.release_parked;
  ResetOnExit reset(s);
  s.bind(1, now);
  s.bind(2, static_cast<std::int64_t>(route));
  s.bind(3, static_cast<std::int64_t>(limit));
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  return static_cast<std::size_t>(sqlite3_changes(db_.get()));
}

std::expected<std::optional<UnixMillis>, std::error_code> SqliteStore::next_due() {
  Statement& s = statements_.next_due;
  ResetOnExit reset(s);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<UnixMillis>{};
  if (rc != SQLITE_ROW) return std::unexpected(fail(rc));
  return std::optional<UnixMillis>{s.column_int64(0)};
}

}  // namespace queue
