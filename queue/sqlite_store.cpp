// queue/sqlite_store.cpp — the store's operations over statements prepared once, bound in place.
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

// An outcome's recorded_at: 0 means unknown and is stored as NULL (see RecipientOutcome).
void bind_time_or_null(Statement& s, int index, UnixMillis at) noexcept {
  if (at != 0) {
    s.bind(index, at);
  } else {
    s.bind_null(index);
  }
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
  for (const NamedSql& named : store_statements) {
    auto statement = Statement::prepare(raw, named.sql);
    if (!statement) {
      return std::unexpected(path + ": cannot prepare queue statement " + std::string(named.name) + ": " +
                             sqlite3_errmsg(raw));
    }
    s[static_cast<std::size_t>(named.id)] = std::move(*statement);
  }
  return SqliteStore(std::move(*db), std::move(s));
}

std::error_code SqliteStore::fail(int sqlite_result) const noexcept { return make_error_code(to_errc(sqlite_result)); }

std::error_code SqliteStore::begin() noexcept {
  Statement& s = statement(StoreSql::begin);
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
  Statement& s = statement(StoreSql::commit);
  ResetOnExit reset(s);
  const int rc = s.step();
  return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
}

void SqliteStore::rollback() noexcept {
  // After SQLITE_FULL or an I/O error SQLite may already have rolled back on its own;
  // a second ROLLBACK would only fail with "no transaction is active".
  if (!in_transaction()) return;
  Statement& s = statement(StoreSql::rollback);
  ResetOnExit reset(s);
  s.step();
}

bool SqliteStore::in_transaction() const noexcept { return sqlite3_get_autocommit(db_.get()) == 0; }

std::expected<QueuedMessage, std::error_code> SqliteStore::insert(NewMessage&& message, UnixMillis lease_until) {
  // An inline body moves into the shared string the delivery side will read, and SQLite
  // reads it in place (SQLITE_STATIC): the message bytes are never copied on the way to
  // disk. A spooled body is already on disk; only its name is stored.
  const bool spooled = !message.body_file.empty();
  auto body = spooled ? nullptr : std::make_shared<std::string>(std::move(message.body));
  const std::uint64_t size = spooled ? message.body_file_size : body->size();
  MessageId id = 0;
  {
    Statement& s = statement(StoreSql::insert_message);
    ResetOnExit reset(s);
    s.bind(1, static_cast<std::int64_t>(message.direction));
    s.bind_text(2, message.listener);
    s.bind_text(3, message.client_address);
    s.bind_text(4, message.helo);
    s.bind_text(5, message.sender);
    s.bind_text(6, message.mail_parameters);
    s.bind(7, message.received_at);
    s.bind(8, static_cast<std::int64_t>(size));
    s.bind(9, message.id);
    s.bind_text(10, message.body_file);
    s.bind(11, static_cast<std::int64_t>(message.held_reason.empty() ? 0 : 1));
    s.bind_text(12, spooled ? std::string_view(message.body_prefix) : std::string_view());
    s.bind(13, static_cast<std::int64_t>(spooled ? message.body_skip : 0));
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
    id = sqlite3_last_insert_rowid(db_.get());
  }
  if (!spooled) {
    Statement& s = statement(StoreSql::insert_body);
    ResetOnExit reset(s);
    s.bind(1, id);
    s.bind_blob(2, *body);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  Statement& s = statement(StoreSql::insert_recipient);
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    ResetOnExit reset(s);
    s.bind(1, id);
    s.bind(2, static_cast<std::int64_t>(i));
    s.bind_text(3, message.recipients[i]);
    s.bind(4, lease_until);
    s.bind(5, message.received_at);
    s.bind_text(6, i < message.recipient_parameters.size() ? std::string_view(message.recipient_parameters[i])
                                                           : std::string_view());
    // A held message is nobody's to deliver: no lease, the reason shown as its last reply.
    s.bind(7, static_cast<std::int64_t>(message.held_reason.empty() ? 1 : 0));
    s.bind_text(8, message.held_reason);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }

  QueuedMessage stored = stored_envelope(id, message);
  if (spooled) {
    stored.body.file = std::move(message.body_file);
    stored.body.file_size = size;
    stored.body.prefix = std::move(message.body_prefix);
    stored.body.skip = message.body_skip;
  } else {
    stored.body.data = std::move(body);
  }
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
    Statement& s = statement(StoreSql::select_due_messages);
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
      m.body.file = s.column_text(6);
      m.body.file_size = static_cast<std::uint64_t>(s.column_int64(7));
      m.body.prefix = s.column_text(8);
      m.body.skip = static_cast<std::uint64_t>(s.column_int64(9));
    }
    if (rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  for (QueuedMessage& m : claimed) {
    {
      Statement& s = statement(StoreSql::select_due_recipients);
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
    if (!m.body.spooled()) {
      Statement& s = statement(StoreSql::select_body);
      ResetOnExit reset(s);
      s.bind(1, m.id);
      const int rc = s.step();
      if (rc == SQLITE_ROW) {
        m.body.data = std::make_shared<const std::string>(s.column_blob(0));
      } else if (rc != SQLITE_DONE) {
        return std::unexpected(fail(rc));
      }
    }
    Statement& s = statement(StoreSql::lease_recipients);
    ResetOnExit reset(s);
    s.bind(1, m.id);
    s.bind(2, now);
    s.bind(3, lease_until);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  // A pending recipient without a body cannot be delivered. Its lease was still taken so
  // the scanner does not spin on it; it stays visible to `hubrelay queue` for an admin.
  std::erase_if(claimed, [](const QueuedMessage& m) { return !m.body.present() || m.recipients.empty(); });
  return claimed;
}

std::error_code SqliteStore::finish_message(MessageId id, FreedFiles& freed) {
  bool pending = true;
  {
    Statement& s = statement(StoreSql::any_pending);
    ResetOnExit reset(s);
    s.bind(1, id);
    const int rc = s.step();
    if (rc != SQLITE_ROW) return fail(rc);
    pending = s.column_int64(0) != 0;
  }
  if (pending) return {};
  // Envelope and recipient rows stay as delivery history; only the bulk goes.
  {
    Statement& s = statement(StoreSql::delete_body);
    ResetOnExit reset(s);
    s.bind(1, id);
    if (const int rc = s.step(); rc != SQLITE_DONE) return fail(rc);
  }
  {
    Statement& s = statement(StoreSql::select_body_file);
    ResetOnExit reset(s);
    s.bind(1, id);
    const int rc = s.step();
    if (rc == SQLITE_DONE) return {};  // inline, or freed already
    if (rc != SQLITE_ROW) return fail(rc);
    freed.emplace_back(s.column_text(0));
  }
  Statement& s = statement(StoreSql::clear_body_file);
  ResetOnExit reset(s);
  s.bind(1, id);
  const int rc = s.step();
  return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
}

std::error_code SqliteStore::record(std::span<const RecipientOutcome> outcomes, FreedFiles& freed) {
  std::error_code result;
  std::optional<MessageId> previous;
  Statement& s = statement(StoreSql::update_recipient);
  for (const RecipientOutcome& o : outcomes) {
    if (previous && *previous != o.id) {
      if (auto ec = finish_message(*previous, freed)) return ec;
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
    bind_time_or_null(s, 8, o.recorded_at);
    s.bind(9, o.delay_notified ? 1 : 0);
    const bool parked = o.state == RecipientState::pending && o.parked_route != 0;
    s.bind(10, static_cast<std::int64_t>(parked ? o.parked_route : 0));
    s.bind_text(11, o.parked_on);
    if (const int rc = s.step(); rc != SQLITE_DONE) return fail(rc);
    if (sqlite3_changes(db_.get()) == 0) {
      // The recipient is gone (an admin deleted the message mid-delivery) or no longer
      // pending (an admin bounced or expired it): its outcome stands, nothing to log.
      result = errc::not_found;
      continue;
    }
    const auto history = [&](AttemptKind kind, const std::string& text, std::string_view hop,
                             std::string_view address, std::string_view tls) -> std::error_code {
      Statement& a = statement(StoreSql::insert_attempt);
      ResetOnExit reset_attempt(a);
      a.bind(1, o.id);
      a.bind(2, o.index);
      bind_time_or_null(a, 3, o.recorded_at);
      a.bind_text(4, hop);
      a.bind(5, state_value(o.state));
      a.bind_text(6, text);
      a.bind(7, static_cast<std::int64_t>(kind));
      a.bind_text(8, address);
      a.bind_text(9, tls);
      const int rc = a.step();
      return rc == SQLITE_DONE ? std::error_code{} : fail(rc);
    };
    if (o.attempted || !o.reply.empty()) {  // tried, or deferred with a reason
      if (auto ec = history(AttemptKind::delivery, o.reply, o.hop, o.hop_address, o.tls)) return ec;
    }
    if (parked && !o.parked_note.empty()) {
      if (auto ec = history(AttemptKind::parked, o.parked_note, {}, {}, {})) return ec;
    }
  }
  if (previous) {
    if (auto ec = finish_message(*previous, freed)) return ec;
  }
  return result;
}

std::expected<std::size_t, std::error_code> SqliteStore::recover(UnixMillis now) {
  {
    Statement& s = statement(StoreSql::recover_due);
    ResetOnExit reset(s);
    s.bind(1, now);
    if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  }
  Statement& s = statement(StoreSql::count_pending);
  ResetOnExit reset(s);
  if (const int rc = s.step(); rc != SQLITE_ROW) return std::unexpected(fail(rc));
  return static_cast<std::size_t>(s.column_int64(0));
}

std::expected<std::size_t, std::error_code> SqliteStore::release_parked(std::uint32_t route, UnixMillis now,
                                                                      std::size_t limit) {
  Statement& s = statement(StoreSql::release_parked);
  ResetOnExit reset(s);
  s.bind(1, now);
  s.bind(2, static_cast<std::int64_t>(route));
  s.bind(3, static_cast<std::int64_t>(limit));
  if (const int rc = s.step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  return static_cast<std::size_t>(sqlite3_changes(db_.get()));
}

std::expected<std::optional<UnixMillis>, std::error_code> SqliteStore::next_due() {
  Statement& s = statement(StoreSql::next_due);
  ResetOnExit reset(s);
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<UnixMillis>{};
  if (rc != SQLITE_ROW) return std::unexpected(fail(rc));
  return std::optional<UnixMillis>{s.column_int64(0)};
}

// Start-up only, so prepared here rather than in the hot-path table; the partial index
// messages_body_file keeps it from reading envelopes with inline bodies.
std::expected<std::vector<SpooledBody>, std::error_code> SqliteStore::spooled_bodies() {
  auto s = Statement::prepare(db_.get(),
                              "SELECT id, body_file, size, EXISTS(SELECT 1 FROM attempts a WHERE a.message_id = messages.id) "
                              "FROM messages WHERE body_file IS NOT NULL ORDER BY id");
  if (!s) return std::unexpected(fail(s.error()));
  std::vector<SpooledBody> out;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW)
    out.push_back({s->column_int64(0), std::string(s->column_text(1)), static_cast<std::uint64_t>(s->column_int64(2)),
                   s->column_int64(3) != 0});
  if (rc != SQLITE_DONE) return std::unexpected(fail(rc));
  return out;
}

// Moves the AUTOINCREMENT counter past the block, so neither this process (after a
// restart) nor another writer (the CLI) can be given an id of it. Once per block, not per
// message: the statements are prepared here rather than in the hot-path table.
std::expected<MessageId, std::error_code> SqliteStore::reserve_ids(std::int64_t count) {
  // sqlite_sequence has no row for `messages` before its first insert.
  static constexpr std::string_view create =
      "INSERT INTO sqlite_sequence(name, seq) SELECT 'messages', coalesce((SELECT max(id) FROM messages), 0) "
      "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'messages')";
  static constexpr std::string_view advance =
      "UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'messages' RETURNING seq";
  auto first = Statement::prepare(db_.get(), create);
  if (!first) return std::unexpected(fail(first.error()));
  if (const int rc = first->step(); rc != SQLITE_DONE) return std::unexpected(fail(rc));
  auto second = Statement::prepare(db_.get(), advance);
  if (!second) return std::unexpected(fail(second.error()));
  second->bind(1, count);
  if (const int rc = second->step(); rc != SQLITE_ROW) return std::unexpected(fail(rc));
  return second->column_int64(0) - count + 1;
}

}  // namespace queue
