// queue/sqlite_admin_store.cpp — the operator's queue operations as SQLite statements on queue.db.
#include "queue/sqlite_admin_store.hpp"

#include "queue/stored_body_reader.hpp"

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <memory>

namespace queue {
namespace {

// The size an administrator is shown is what delivery sends: messages.size counts the
// body (for a spooled body, its file), and the header fields stored beside a spooled file
// (body_prefix: the DKIM signatures) go out before it. Bytes, not characters: CAST.
const std::string delivered_size = "(m.size + length(CAST(coalesce(m.body_prefix, '') AS BLOB)))";

const std::string message_columns =
    "m.id, m.direction, m.listener, m.client_address, m.helo, m.sender, m.mail_parameters, m.received_at, " +
    delivered_size + ", m.held, m.body_file IS NOT NULL OR EXISTS(SELECT 1 FROM bodies b WHERE b.message_id = m.id)";

void bind(Statement& s, int index, const SqlParam& p) {
  if (const auto* i = std::get_if<std::int64_t>(&p)) {
    s.bind(index, *i);
  } else {
    s.bind_text(index, std::get<std::string>(p));
  }
}

conf::Direction direction_from(std::int64_t v) noexcept {
  return v == static_cast<std::int64_t>(conf::Direction::outbound) ? conf::Direction::outbound
                                                                    : conf::Direction::inbound;
}

RecipientState state_from(std::int64_t v) noexcept {
  return v >= 0 && v <= 3 ? static_cast<RecipientState>(v) : RecipientState::pending;
}

AttemptKind kind_from(std::int64_t v) noexcept {
  return v >= 0 && v <= 2 ? static_cast<AttemptKind>(v) : AttemptKind::delivery;
}

MessageView read_message(const Statement& s) {
  MessageView m;
  m.id = s.column_int64(0);
  m.direction = direction_from(s.column_int64(1));
  m.listener = s.column_text(2);
  m.client_address = s.column_text(3);
  m.helo = s.column_text(4);
  m.sender = s.column_text(5);
  m.mail_parameters = s.column_text(6);
  m.received_at = s.column_int64(7);
  m.size = static_cast<std::uint64_t>(s.column_int64(8));
  m.held = s.column_int64(9) != 0;
  m.has_body = s.column_int64(10) != 0;
  return m;
}

}  // namespace

std::expected<SqliteAdminStore, std::string> SqliteAdminStore::open(const std::string& db_path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_path, ec)) {
    return std::unexpected("no queue database at " + db_path +
                           " (check [relay] state_dir; the daemon creates it on first start)");
  }
  auto store = SqliteStore::open(db_path);
  if (!store) return std::unexpected(store.error());
  return SqliteAdminStore(std::move(*store), std::filesystem::path(db_path).parent_path().string());
}

std::string SqliteAdminStore::reason() const { return sqlite3_errmsg(store_.handle()); }

std::expected<std::vector<MessageView>, std::string> SqliteAdminStore::list(const QueueFilter& filter, UnixMillis now) {
  const SqlWhere where = build_where(filter, now);
  const std::string sql = std::string("SELECT ") + message_columns + " FROM messages m WHERE " + where.clause +
                          " ORDER BY m.id LIMIT " + std::to_string(filter.limit) + " OFFSET " +
                          std::to_string(filter.offset);
  auto s = Statement::prepare(store_.handle(), sql);
  if (!s) return std::unexpected("cannot query the queue: " + reason());
  for (std::size_t i = 0; i < where.params.size(); ++i) bind(*s, static_cast<int>(i + 1), where.params[i]);
  std::vector<MessageView> out;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) out.push_back(read_message(*s));
  if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
  s->reset();

  auto r = Statement::prepare(store_.handle(),
                              "SELECT idx, address, state, attempts, next_attempt, leased, coalesce(last_reply, ''), "
                              "coalesce(hop, ''), coalesce(updated_at, 0), parameters, "
                              "CASE WHEN parked <> 0 THEN coalesce(parked_on, '') ELSE '' END, "
                              "CASE WHEN parked <> 0 THEN coalesce(parked_since, 0) ELSE 0 END, "
                              // The latest park's text, through attempts_message(message_id, idx).
                              "CASE WHEN parked <> 0 THEN coalesce((SELECT a.reply FROM attempts a WHERE "
                              "a.message_id = recipients.message_id AND a.idx = recipients.idx AND a.kind = 1 "
                              "ORDER BY a.rowid DESC LIMIT 1), '') ELSE '' END "
                              "FROM recipients WHERE message_id = ?1 "
                              "ORDER BY idx");
  if (!r) return std::unexpected("cannot query the queue: " + reason());
  for (MessageView& m : out) {
    ResetOnExit reset(*r);
    r->bind(1, m.id);
    while ((rc = r->step()) == SQLITE_ROW) {
      RecipientView v;
      v.index = static_cast<std::int32_t>(r->column_int64(0));
      v.address = r->column_text(1);
      v.state = state_from(r->column_int64(2));
      v.attempts = static_cast<std::uint32_t>(r->column_int64(3));
      v.next_attempt = r->column_int64(4);
      v.leased = r->column_int64(5) != 0;
      v.last_reply = r->column_text(6);
      v.hop = r->column_text(7);
      v.updated_at = r->column_int64(8);
      v.parameters = r->column_text(9);
      v.parked_on = r->column_text(10);
      v.parked_since = r->column_int64(11);
      v.parked_reason = r->column_text(12);
      m.recipients.push_back(std::move(v));
    }
    if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
  }
  return out;
}

std::expected<MessageView, std::string> SqliteAdminStore::show(MessageId id) {
  QueueFilter filter;
  filter.state = StateFilter::all;
  filter.after = id - 1;
  filter.limit = 1;
  auto found = list(filter, 0);
  if (!found) return std::unexpected(found.error());
  if (found->empty() || found->front().id != id)
    return std::unexpected("no message with queue id " + format_queue_id(id));
  MessageView m = std::move(found->front());
  auto a = Statement::prepare(store_.handle(),
                              "SELECT idx, coalesce(at, 0), coalesce(hop, ''), state, coalesce(reply, ''), kind, "
                              "coalesce(address, ''), coalesce(tls, '') FROM attempts "
                              "WHERE message_id = ?1 ORDER BY rowid");
  if (!a) return std::unexpected("cannot read attempts: " + reason());
  a->bind(1, id);
  int rc = SQLITE_ROW;
  while ((rc = a->step()) == SQLITE_ROW) {
    m.attempts.push_back({static_cast<std::int32_t>(a->column_int64(0)), a->column_int64(1),
                          std::string(a->column_text(2)), state_from(a->column_int64(3)),
                          std::string(a->column_text(4)), kind_from(a->column_int64(5)),
                          std::string(a->column_text(6)), std::string(a->column_text(7))});
  }
  if (rc != SQLITE_DONE) return std::unexpected("cannot read attempts: " + reason());
  return m;
}

std::expected<const Spool*, std::string> SqliteAdminStore::spool() {
  if (!spool_) {
    auto opened = Spool::open(state_dir_.empty() ? std::string(".") : state_dir_);
    if (!opened) return std::unexpected(opened.error());
    spool_ = std::move(*opened);
  }
  return spool_.get();
}

std::expected<StoredBody, std::string> SqliteAdminStore::stored_body(MessageId id) {
  auto s = Statement::prepare(store_.handle(),
                              "SELECT coalesce(m.body_file, ''), m.size, b.data, coalesce(m.body_prefix, ''), "
                              "coalesce(m.body_skip, 0) FROM messages m LEFT JOIN bodies b ON b.message_id = m.id WHERE m.id = ?1");
  if (!s) return std::unexpected("cannot read the body: " + reason());
  s->bind(1, id);
  const int rc = s->step();
  if (rc == SQLITE_DONE) return std::unexpected("no message with queue id " + format_queue_id(id));
  if (rc != SQLITE_ROW) return std::unexpected("cannot read the body: " + reason());
  StoredBody body;
  body.file = s->column_text(0);
  body.file_size = static_cast<std::uint64_t>(s->column_int64(1));
  if (!body.file.empty()) {
    body.prefix = s->column_text(3);
    body.skip = static_cast<std::uint64_t>(s->column_int64(4));
  }
  if (body.file.empty() && !s->column_is_null(2))
    body.data = std::make_shared<const std::string>(s->column_blob(2));
  return body;
}

std::expected<std::vector<SpooledBody>, std::string> SqliteAdminStore::spooled_bodies() {
  auto known = store_.spooled_bodies();
  if (!known) return std::unexpected("cannot list the spooled bodies: " + known.error().message());
  return std::move(*known);
}

std::expected<std::string, std::string> SqliteAdminStore::body(MessageId id) {
  if (auto known = check_ids(std::span(&id, 1)); !known) return std::unexpected(known.error());
  auto stored = stored_body(id);
  if (!stored) return std::unexpected(stored.error());
  if (!stored->present())
    return std::unexpected("message " + format_queue_id(id) + " has no stored body (every recipient is final)");
  const Spool* files = nullptr;
  if (stored->spooled()) {
    auto opened = spool();
    if (!opened) return std::unexpected(opened.error());
    files = *opened;
  }
  auto loaded = load_stored_body(files, *stored);
  if (!loaded)
    return std::unexpected("cannot read the body of " + format_queue_id(id) + " (" + stored->file + "): " +
                           loaded.error().message());
  return std::move(*loaded);
}

std::expected<void, std::string> SqliteAdminStore::check_ids(std::span<const MessageId> ids) {
  auto s = Statement::prepare(store_.handle(), "SELECT 1 FROM messages WHERE id = ?1");
  if (!s) return std::unexpected("cannot query the queue: " + reason());
  for (MessageId id : ids) {
    ResetOnExit reset(*s);
    s->bind(1, id);
    const int rc = s->step();
    if (rc == SQLITE_DONE) return std::unexpected("no message with queue id " + format_queue_id(id));
    if (rc != SQLITE_ROW) return std::unexpected("cannot query the queue: " + reason());
  }
  return {};
}

// Runs `body(ids)` inside one BEGIN IMMEDIATE transaction, after resolving the selection
// to message ids (with an unknown id failing the whole command before anything changes).
template <typename Body>
std::expected<MutationResult, std::string> SqliteAdminStore::mutate(const Selection& selection, Body&& body) {
  if (auto ec = store_.begin()) return std::unexpected("cannot lock the queue: " + ec.message() + " (" + reason() + ")");
  FreedFiles freed;
  auto outcome = [&]() -> std::expected<MutationResult, std::string> {
    std::vector<MessageId> ids = selection.ids;
    if (!ids.empty()) {
      if (auto known = check_ids(ids); !known) return std::unexpected(known.error());
    } else {
      // "+r.state": per message by primary key, not a walk of every pending recipient
      // through the due index for each message (see build_where).
      std::string sql = "SELECT m.id FROM messages m WHERE EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id "
                        "AND +r.state = 0";
      if (!selection.domain.empty()) sql += " AND domain_of(r.address) = ?1";
      sql += ") ORDER BY m.id";
      auto s = Statement::prepare(store_.handle(), sql);
      if (!s) return std::unexpected("cannot query the queue: " + reason());
      const std::string domain = domain_filter(selection.domain);
      if (!selection.domain.empty()) s->bind_text(1, domain);
      int rc = SQLITE_ROW;
      while ((rc = s->step()) == SQLITE_ROW) ids.push_back(s->column_int64(0));
      if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
    }
    std::ranges::sort(ids);
    const auto [first, last] = std::ranges::unique(ids);
    ids.erase(first, last);
    return body(std::span<const MessageId>(ids), freed);
  }();
  if (!outcome) {
    store_.rollback();
    return outcome;
  }
  if (auto ec = store_.commit()) {
    std::string why = reason();
    store_.rollback();
    return std::unexpected("cannot commit: " + ec.message() + " (" + why + ")");
  }
  // Committed: the bodies are no longer named by any envelope. A file left behind (no
  // spool, a failed unlink) is an orphan the daemon's start-up scan removes.
  if (!freed.empty()) {
    if (auto files = spool()) {
      for (const std::string& name : freed) (*files)->remove(name);
    }
  }
  return outcome;
}

namespace {

// Runs a prepared UPDATE/DELETE once per message id (bound to ?1, extra text to ?2...)
// and sums the changed rows; counts a message when it changed at least one row.
struct PerMessage {
  sqlite3* db;
  std::expected<void, std::string> run(Statement& s, std::span<const MessageId> ids, MutationResult& result,
                                       bool count_rows_as_recipients,
                                       const std::function<void(Statement&)>& bind_more = {}) {
    for (MessageId id : ids) {
      ResetOnExit reset(s);
      s.bind(1, id);
      if (bind_more) bind_more(s);
      if (s.step() != SQLITE_DONE) return std::unexpected(std::string("queue update failed: ") + sqlite3_errmsg(db));
      const auto changed = static_cast<std::size_t>(sqlite3_changes(db));
      if (changed > 0) ++result.messages;
      if (count_rows_as_recipients) result.recipients += changed;
    }
    return {};
  }
};

}  // namespace

std::expected<MutationResult, std::string> SqliteAdminStore::retry(const Selection& selection, UnixMillis now) {
  return mutate(selection, [&](std::span<const MessageId> ids, FreedFiles&) -> std::expected<MutationResult, std::string> {
    std::string sql = "UPDATE recipients SET next_attempt = ?2 WHERE message_id = ?1 AND state = 0 AND leased = 0";
    if (!selection.domain.empty()) sql += " AND domain_of(address) = ?3";
    auto s = Statement::prepare(store_.handle(), sql);
    if (!s) return std::unexpected("cannot prepare retry: " + reason());
    const std::string domain = domain_filter(selection.domain);
    MutationResult result;
    auto ok = PerMessage{store_.handle()}.run(*s, ids, result, true, [&](Statement& st) {
      st.bind(2, now);
      if (!selection.domain.empty()) st.bind_text(3, domain);
    });
    if (!ok) return std::unexpected(ok.error());
    return result;
  });
}

std::expected<MutationResult, std::string> SqliteAdminStore::hold(const Selection& selection) {
  return mutate(selection, [&](std::span<const MessageId> ids, FreedFiles&) -> std::expected<MutationResult, std::string> {
    auto s = Statement::prepare(store_.handle(), "UPDATE messages SET held = 1 WHERE id = ?1 AND held = 0");
    if (!s) return std::unexpected("cannot prepare hold: " + reason());
    MutationResult result;
    if (auto ok = PerMessage{store_.handle()}.run(*s, ids, result, false); !ok) return std::unexpected(ok.error());
    return result;
  });
}

std::expected<MutationResult, std::string> SqliteAdminStore::release(const Selection& selection, UnixMillis now) {
  return mutate(selection, [&](std::span<const MessageId> ids, FreedFiles&) -> std::expected<MutationResult, std::string> {
    auto s = Statement::prepare(store_.handle(), "UPDATE messages SET held = 0 WHERE id = ?1 AND held <> 0");
    auto due = Statement::prepare(store_.handle(),
                                  "UPDATE recipients SET next_attempt = ?2 WHERE message_id = ?1 AND state = 0 "
                                  "AND leased = 0");
    if (!s || !due) return std::unexpected("cannot prepare release: " + reason());
    MutationResult result;
    if (auto ok = PerMessage{store_.handle()}.run(*s, ids, result, false); !ok) return std::unexpected(ok.error());
    MutationResult made_due;
    if (auto ok = PerMessage{store_.handle()}.run(*due, ids, made_due, true, [&](Statement& st) { st.bind(2, now); });
        !ok)
      return std::unexpected(ok.error());
    result.recipients = made_due.recipients;
    return result;
  });
}

std::expected<MutationResult, std::string> SqliteAdminStore::remove(const Selection& selection) {
  return mutate(selection, [&](std::span<const MessageId> ids, FreedFiles& freed) -> std::expected<MutationResult, std::string> {
    auto count = Statement::prepare(store_.handle(), "SELECT count(*) FROM recipients WHERE message_id = ?1");
    auto file = Statement::prepare(store_.handle(), "SELECT body_file FROM messages WHERE id = ?1 AND body_file IS NOT NULL");
    auto s = Statement::prepare(store_.handle(), "DELETE FROM messages WHERE id = ?1");
    if (!s || !count || !file) return std::unexpected("cannot prepare delete: " + reason());
    MutationResult result;
    for (MessageId id : ids) {
      ResetOnExit reset(*count);
      count->bind(1, id);
      if (count->step() == SQLITE_ROW) result.recipients += static_cast<std::size_t>(count->column_int64(0));
      ResetOnExit reset_file(*file);
      file->bind(1, id);
      if (file->step() == SQLITE_ROW) freed.emplace_back(file->column_text(0));
    }
    // ON DELETE CASCADE (foreign_keys = ON) removes recipients, body and attempts.
    if (auto ok = PerMessage{store_.handle()}.run(*s, ids, result, false); !ok) return std::unexpected(ok.error());
    return result;
  });
}

// Per message, one transaction for the whole selection: read the original with its
// pending recipients (the report needs their RCPT parameters, last hop and the body),
// finish them, queue the report, free the body. A report is queued only here, never by
// the daemon for these recipients (its scanner claims pending recipients only), so it
// exists exactly once; the rollback of a failed command takes it back with the rest.
std::expected<MutationResult, std::string> SqliteAdminStore::finish(const Selection& selection, RecipientState state,
                                                              std::string_view reply, UnixMillis now,
                                                              const NoticeComposer& compose) {
  return mutate(selection, [&](std::span<const MessageId> ids, FreedFiles& freed) -> std::expected<MutationResult, std::string> {
    // A fresh insert is leased (the daemon hands it to delivery itself); the report waits
    // for the scanner instead, and `queue retry` may touch it like any other message.
    static constexpr std::array<const char*, 6> sql{
        "SELECT direction, listener, sender, mail_parameters, received_at FROM messages WHERE id = ?1",
        "SELECT idx, address, attempts, parameters, delay_notified, coalesce(hop, '') FROM recipients "
        "WHERE message_id = ?1 AND state = 0 ORDER BY idx",
        "SELECT data, coalesce((SELECT body_file FROM messages WHERE id = ?1), ''), "
        "(SELECT size FROM messages WHERE id = ?1), "
        "(SELECT coalesce(body_prefix, '') FROM messages WHERE id = ?1), "
        "(SELECT coalesce(body_skip, 0) FROM messages WHERE id = ?1) FROM (SELECT 1) LEFT JOIN bodies ON message_id = ?1",
        "INSERT INTO attempts(message_id, idx, at, hop, state, reply, kind) SELECT message_id, idx, ?3, NULL, ?2, ?4, 2 "
        "FROM recipients WHERE message_id = ?1 AND state = 0",
        "UPDATE recipients SET state = ?2, next_attempt = ?3, last_reply = ?4, updated_at = ?3, leased = 0, parked = 0, "
        "parked_on = NULL, parked_since = NULL "
        "WHERE message_id = ?1 AND state = 0",
        "UPDATE recipients SET leased = 0 WHERE message_id = ?1"};
    std::array<Statement, sql.size()> prepared;
    for (std::size_t i = 0; i < sql.size(); ++i) {
      auto statement = Statement::prepare(store_.handle(), sql[i]);
      if (!statement) return std::unexpected("cannot prepare the update: " + reason());
      prepared[i] = std::move(*statement);
    }
    auto& [envelope, pending, stored_body, history, update, unlease] = prepared;
    const auto failed = [&] { return std::unexpected("queue update failed: " + reason()); };
    MutationResult result;
    for (MessageId id : ids) {
      QueuedMessage original;
      original.id = id;
      std::vector<RecipientOutcome> finished;
      {
        ResetOnExit reset(envelope);
        envelope.bind(1, id);
        if (envelope.step() != SQLITE_ROW) return failed();
        original.direction = direction_from(envelope.column_int64(0));
        original.listener = envelope.column_text(1);
        original.sender = envelope.column_text(2);
        original.mail_parameters = envelope.column_text(3);
        original.received_at = envelope.column_int64(4);
      }
      {
        ResetOnExit reset(pending);
        pending.bind(1, id);
        int rc = SQLITE_ROW;
        while ((rc = pending.step()) == SQLITE_ROW) {
          const auto idx = static_cast<std::int32_t>(pending.column_int64(0));
          original.recipients.push_back({idx, std::string(pending.column_text(1)),
                                         static_cast<std::uint32_t>(pending.column_int64(2)),
                                         std::string(pending.column_text(3)), pending.column_int64(4) != 0});
          finished.push_back({.id = id, .index = idx, .state = state, .next_attempt = now, .attempted = false,
                              .reply = std::string(reply), .hop = std::string(pending.column_text(5)),
                              .recorded_at = now});
        }
        if (rc != SQLITE_DONE) return failed();
      }
      if (finished.empty()) continue;  // nothing pending: nothing to finish or report
      {
        ResetOnExit reset(stored_body);
        stored_body.bind(1, id);
        const int rc = stored_body.step();
        if (rc != SQLITE_ROW) return failed();
        original.body.file = stored_body.column_text(1);
        original.body.file_size = static_cast<std::uint64_t>(stored_body.column_int64(2));
        if (!original.body.file.empty()) {
          original.body.prefix = stored_body.column_text(3);
          original.body.skip = static_cast<std::uint64_t>(stored_body.column_int64(4));
        }
        if (original.body.file.empty() && !stored_body.column_is_null(0))
          original.body.data = std::make_shared<const std::string>(stored_body.column_blob(0));
      }
      // The report may return the whole message (RET=FULL): a spooled body is read in.
      // One that cannot be read (lost) still gets its report, without the content.
      if (original.body.spooled()) {
        if (auto files = spool()) {
          if (auto whole = load_stored_body(*files, original.body))
            original.body.data = std::make_shared<const std::string>(std::move(*whole));
        }
      }
      for (Statement* st : {&history, &update}) {
        ResetOnExit reset(*st);
        st->bind(1, id);
        st->bind(2, static_cast<std::int64_t>(state));
        st->bind(3, now);
        st->bind_text(4, reply);
        if (st->step() != SQLITE_DONE) return failed();
      }
      ++result.messages;
      result.recipients += finished.size();
      if (std::optional<NewMessage> notice = compose ? compose(original, finished) : std::nullopt) {
        auto queued = store_.insert(std::move(*notice), now);
        if (!queued) return std::unexpected("cannot queue the report to the sender: " + queued.error().message());
        ResetOnExit reset(unlease);
        unlease.bind(1, queued->id);
        if (unlease.step() != SQLITE_DONE) return failed();
        ++result.notices;
      }
      if (auto ec = store_.finish_message(id, freed)) return std::unexpected("cannot free the body: " + ec.message());
    }
    return result;
  });
}

std::expected<std::vector<SummaryInput>, std::string> SqliteAdminStore::summary_inputs() {
  auto s = Statement::prepare(store_.handle(),
                              "SELECT DISTINCT r.message_id, domain_of(r.address), "
                              "m.received_at, " + delivered_size + " FROM recipients r JOIN messages m ON m.id = r.message_id "
                              "WHERE r.state = 0");
  if (!s) return std::unexpected("cannot query the queue: " + reason());
  std::vector<SummaryInput> out;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW)
    out.push_back({std::string(s->column_text(1)), s->column_int64(2), static_cast<std::uint64_t>(s->column_int64(3))});
  if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
  return out;
}

std::expected<QueueDepth, std::string> SqliteAdminStore::depth() {
  // Reads pending recipients only, through the (state, next_attempt) index; history rows
  // of finished messages are never touched, so a scrape stays cheap on a long-lived queue.
  auto s = Statement::prepare(store_.handle(),
                              "SELECT m.held <> 0, r.attempts > 0 OR coalesce(r.last_reply, '') <> '' OR r.parked <> 0, m.direction, "
                              "count(DISTINCT m.id), count(*), min(m.received_at) "
                              "FROM recipients r JOIN messages m ON m.id = r.message_id WHERE r.state = 0 "
                              "GROUP BY 1, 2, 3");
  auto bytes = Statement::prepare(store_.handle(),
                                  "SELECT m.direction, coalesce(sum(" + delivered_size + "), 0) FROM messages m WHERE m.id IN "
                                  "(SELECT message_id FROM recipients WHERE state = 0) GROUP BY direction");
  if (!s || !bytes) return std::unexpected("cannot query the queue: " + reason());
  QueueDepth d;
  int rc = SQLITE_ROW;
  while ((rc = s->step()) == SQLITE_ROW) {
    add_depth(d, {.held = s->column_int64(0) != 0, .attempted = s->column_int64(1) != 0,
                  .direction = s->column_int64(2), .messages = static_cast<std::uint64_t>(s->column_int64(3)),
                  .recipients = static_cast<std::uint64_t>(s->column_int64(4)), .oldest = s->column_int64(5)});
  }
  if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
  while ((rc = bytes->step()) == SQLITE_ROW)
    add_depth_bytes(d, bytes->column_int64(0), static_cast<std::uint64_t>(bytes->column_int64(1)));
  if (rc != SQLITE_DONE) return std::unexpected("cannot query the queue: " + reason());
  return d;
}

}  // namespace queue
