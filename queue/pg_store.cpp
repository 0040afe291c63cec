// queue/pg_store.cpp — PgStore: the shared queue's statements and their results.
#include "queue/pg_store.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <limits>

#include "queue/errc.hpp"
#include "queue/pg_redact.hpp"
#include "queue/pg_schema.hpp"
#include "queue/spool.hpp"

namespace queue {
namespace {

struct PgStatement {
  const char* name;
  const char* sql;
};

// Parameters as documented at the SQLite statements (queue/store_statements.hpp), plus
// the node name where leases are concerned.
constexpr std::array statements{
    // $1 reserved id or 0 (next from the sequence).
    PgStatement{"insert_message",
                "INSERT INTO messages(id, direction, listener, client_address, helo, sender, mail_parameters, "
                "received_at, size, held) VALUES(coalesce(nullif($1::bigint, 0), nextval('message_ids')), "
                "$2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id"},
    PgStatement{"insert_body", "INSERT INTO bodies(message_id, data) VALUES($1, $2)"},
    // $9/$10: the lease (node, until), NULL for a held message.
    PgStatement{"insert_recipient",
                "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt, updated_at, leased, "
                "parameters, last_reply, lease_node, lease_until) "
                "VALUES($1, $2, $3, 0, 0, $4, $5, $7, $6, nullif($8, ''), $9, $10)"},
    // $1 now, $2 limit: candidates; the lease below decides what this node gets. A message
    // another node is claiming right now is skipped, so nodes scanning at once take
    // different messages instead of queueing behind one another. NO KEY UPDATE does not
    // conflict with the KEY SHARE lock an outcome's history row takes on its message.
    PgStatement{"select_due_messages",
                "SELECT id, direction, listener, sender, mail_parameters, received_at FROM messages "
                "WHERE held = 0 AND id IN (SELECT message_id FROM recipients WHERE state = 0 AND next_attempt <= $1 "
                "ORDER BY next_attempt LIMIT $2 * 4) ORDER BY received_at, id LIMIT $2 FOR NO KEY UPDATE SKIP LOCKED"},
    // $1 message, $2 now, $3 lease_until, $4 node. Rows another node is claiming right now
    // are skipped (SKIP LOCKED); rows it claimed and committed no longer match (FOR UPDATE
    // re-checks next_attempt on the newest row version). Also returns the node whose lease
    // ran out, if any (a lease is cleared whenever an outcome is recorded).
    PgStatement{"lease_recipients",
                "WITH due AS (SELECT message_id, idx, lease_node FROM recipients WHERE message_id = $1 "
                "AND state = 0 AND next_attempt <= $2 FOR UPDATE SKIP LOCKED) "
                "UPDATE recipients r SET next_attempt = $3, leased = 1, lease_node = $4, lease_until = $3 "
                "FROM due WHERE r.message_id = due.message_id AND r.idx = due.idx "
                "RETURNING r.idx, r.address, r.attempts, r.parameters, r.delay_notified, "
                "coalesce(due.lease_node, '')"},
    PgStatement{"select_body", "SELECT data FROM bodies WHERE message_id = $1"},
    // $1..$11 as update_recipient of the SQLite store, $12 node: only a recipient still
    // pending and not leased by another node.
    PgStatement{"update_recipient",
                "UPDATE recipients SET state = $3, attempts = attempts + $4, next_attempt = $5, "
                "last_reply = CASE WHEN $6 = '' THEN last_reply ELSE $6 END, "
                "hop = CASE WHEN $6 = '' THEN hop ELSE nullif($7, '') END, updated_at = $8, leased = 0, "
                "lease_node = NULL, lease_until = NULL, delay_notified = greatest(delay_notified, $9), parked = $10, "
                "parked_on = CASE WHEN $10 = 0 THEN NULL ELSE $11 END, "
                "parked_since = CASE WHEN $10 = 0 THEN NULL ELSE coalesce(parked_since, $8) END "
                "WHERE message_id = $1 AND idx = $2 AND state = 0 AND (lease_node IS NULL OR lease_node = $12)"},
    // Envelope and recipient rows stay as delivery history; only the bulk goes, once no
    // recipient is pending.
    PgStatement{"delete_finished_body",
                "DELETE FROM bodies WHERE message_id = $1 AND NOT EXISTS "
                "(SELECT 1 FROM recipients WHERE message_id = $1 AND state = 0)"},
    PgStatement{"insert_attempt",
                "INSERT INTO attempts(message_id, idx, at, hop, state, reply, kind, address, tls) "
                "VALUES($1, $2, $3, nullif($4, ''), $5, $6, $7, nullif($8, ''), nullif($9, ''))"},
    // $1 now, $2 node: this node's leases, and parked recipients nobody holds (a restart
    // retries them, as the SQLite queue does).
    PgStatement{"recover_due",
                "UPDATE recipients r SET next_attempt = $1, leased = 0, parked = 0, lease_node = NULL, "
                "lease_until = NULL WHERE r.state = 0 AND (r.lease_node = $2 OR (r.parked <> 0 AND "
                "r.lease_node IS NULL)) AND NOT EXISTS "
                "(SELECT 1 FROM messages m WHERE m.id = r.message_id AND m.held <> 0)"},
    PgStatement{"count_pending", "SELECT count(*) FROM recipients WHERE state = 0"},
    PgStatement{"release_parked",
                "UPDATE recipients SET next_attempt = $1, parked = 0 WHERE (message_id, idx) IN "
                "(SELECT message_id, idx FROM recipients WHERE parked <> 0 AND ($2 = 0 OR parked = $2) "
                "AND leased = 0 LIMIT $3 FOR UPDATE SKIP LOCKED)"},
    PgStatement{"next_due",
                "SELECT r.next_attempt FROM recipients r JOIN messages m ON m.id = r.message_id "
                "WHERE r.state = 0 AND m.held = 0 ORDER BY r.next_attempt LIMIT 1"},
    PgStatement{"reserve_ids", "SELECT nextval('message_ids')"},
    // $1 until, $2 node, $3/$4 message ids and indexes (array literals): the recipients
    // this process is delivering, expired or not (a late heartbeat still holds what no
    // other node took); one statement however many are held.
    PgStatement{"renew_leases",
                "UPDATE recipients SET next_attempt = $1, lease_until = $1 WHERE lease_node = $2 AND state = 0 "
                "AND lease_until < $1 AND (message_id, idx) IN "
                "(SELECT * FROM unnest($3::bigint[], $4::integer[]))"},
};

conf::Direction direction_from(std::int64_t value) noexcept {
  return value == static_cast<std::int64_t>(conf::Direction::outbound) ? conf::Direction::outbound
                                                                        : conf::Direction::inbound;
}

std::int64_t sql_limit(std::size_t limit) noexcept {
  constexpr auto max = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
  return static_cast<std::int64_t>(std::min(limit, max));
}

// Nothing waiting to be read on an idle connection's socket (a check, never a wait).
bool quiet(PGconn* connection) noexcept {
  pollfd p{PQsocket(connection), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

PgParams& time_or_null(PgParams& p, UnixMillis t) { return t == 0 ? p.null() : p.int64(t); }

// SQLSTATE classes: 08 connection, 57P0x server shutting down, 25006 a read-only
// (standby) server: all mean "another server, later".
bool connection_lost(std::string_view state) noexcept {
  return state.starts_with("08") || state.starts_with("57P") || state == "25006";
}

}  // namespace

std::expected<std::unique_ptr<PgStore>, std::string> PgStore::open(PgSettings settings, const Spool* spool) {
  if (settings.node.empty()) return std::unexpected("a PostgreSQL queue needs this node's name");
  std::unique_ptr<PgStore> store(new PgStore(std::move(settings), spool));
  store->connection_ = store->dial();
  if (PQstatus(store->connection_.get()) != CONNECTION_OK) {
    return std::unexpected("cannot connect to the PostgreSQL queue: " +
                           redact_connection_error(store->settings_.conninfo, PQerrorMessage(store->connection_.get())));
  }
  if (auto migrated = pg_migrate(store->connection_.get()); !migrated) return std::unexpected(migrated.error());
  store->connection_.reset();  // connect() prepares the statements on a fresh session
  if (store->connect()) return std::unexpected("cannot prepare the queue statements: " + store->last_error_);
  return store;
}

// Defaults the administrator's conninfo may override (it is expanded after them): the
// queue thread must not hang on a dead server, since every session's 250 waits for it.
// Keepalives notice a server that vanished while we wait for a COMMIT's answer;
// tcp_user_timeout one that stopped acknowledging what we send.
PgConnection PgStore::dial() const {
  const std::string application = "hubrelay " + settings_.node;
  const std::string timeout = std::to_string(std::max<std::int64_t>(settings_.connect_timeout.count(), 1));
  const std::array<const char*, 8> keywords{"connect_timeout", "keepalives_idle", "keepalives_interval",
                                            "keepalives_count", "tcp_user_timeout", "application_name",
                                            "dbname", nullptr};
  const std::array<const char*, 8> values{timeout.c_str(), "10", "5", "3", "30000", application.c_str(),
                                          settings_.conninfo.c_str(), nullptr};
  return PgConnection(PQconnectdbParams(keywords.data(), values.data(), 1));
}

std::error_code PgStore::connect() {
  if (connection_ && PQstatus(connection_.get()) == CONNECTION_OK) return {};
  if (connection_) lose_connection(PQerrorMessage(connection_.get()));
  connection_ = dial();
  if (PQstatus(connection_.get()) != CONNECTION_OK) {
    last_error_ = redact_connection_error(settings_.conninfo, PQerrorMessage(connection_.get()));
    connection_.reset();
    ++failed_attempts_;
    if (last_error_ != reported_reason_) {
      reported_reason_ = last_error_;
      report(PgConnectionEvent::Kind::reconnect_failed, last_error_);
    }
    return errc::unavailable;
  }
  for (const PgStatement& s : statements) {
    PgResult r(PQprepare(connection_.get(), s.name, s.sql, 0, nullptr));
    if (!r.ok()) {
      last_error_ = std::string(s.name) + ": " + redact_connection_error(settings_.conninfo, r.message());
      const std::error_code ec = fail(r);
      connection_.reset();  // never keep a session without its statements
      return ec;
    }
  }
  if (reconnecting_ || failed_attempts_ > 0) {
    const char* host = PQhost(connection_.get());
    const char* port = PQport(connection_.get());
    PgConnectionEvent event{PgConnectionEvent::Kind::reconnected,
                            redact_connection_error(settings_.conninfo, std::string(host ? host : "?") + ":" +
                                                                            (port ? port : "?")),
                            failed_attempts_};
    reconnecting_ = false;
    failed_attempts_ = 0;
    reported_reason_.clear();
    if (settings_.on_connection_event) settings_.on_connection_event(event);
  }
  return {};
}

std::error_code PgStore::fail(const PgResult& result) noexcept {
  const std::string_view state = result.sqlstate();
  // No result at all: the connection failed, or its pipeline is in a state nobody
  // should build on; a new session is the way out either way.
  if (!connection_ || result.get() == nullptr || PQstatus(connection_.get()) != CONNECTION_OK ||
      connection_lost(state)) {
    // The next begin() connects again, perhaps to a promoted standby.
    if (connection_) lose_connection(result.get() != nullptr ? result.message() : PQerrorMessage(connection_.get()));
    pipeline_.reset();
    connection_.reset();
    return errc::unavailable;
  }
  if (state == "53100") return errc::storage_full;
  if (state == "40001" || state == "40P01" || state == "55P03") return errc::busy;
  if (state.starts_with("XX0")) return errc::corrupt;
  if (state.starts_with("58")) return errc::io_error;
  return errc::internal;
}

void PgStore::lose_connection(std::string why) noexcept {
  pipeline_.reset();
  connection_.reset();
  if (reconnecting_) return;
  reconnecting_ = true;
  report(PgConnectionEvent::Kind::lost, redact_connection_error(settings_.conninfo, std::move(why)));
}

void PgStore::report(PgConnectionEvent::Kind kind, std::string detail) noexcept {
  if (settings_.on_connection_event) settings_.on_connection_event(PgConnectionEvent{kind, std::move(detail), 0});
}

PgResult PgStore::run(const char* statement, const PgParams& params, bool binary_result) {
  if (!connection_) return PgResult();
  if (!pipeline_.active()) return exec_prepared(connection_.get(), statement, params, binary_result);
  if (!pipeline_.send(statement, params, binary_result)) return PgResult();
  return pipeline_.read();
}

std::vector<PgResult> PgStore::run_all(const char* statement, std::span<const PgParams> params, bool binary_result) {
  std::vector<PgResult> results(params.size());
  if (!pipeline_.active()) {
    for (std::size_t i = 0; i < params.size(); ++i) results[i] = run(statement, params[i], binary_result);
    return results;
  }
  for (const PgParams& p : params) {
    if (!pipeline_.send(statement, p, binary_result)) return results;  // null results: no answer
  }
  for (PgResult& r : results) r = pipeline_.read();
  return results;
}

PgResult PgStore::query(const std::string& sql, const PgParams& params, bool binary_result) {
  if (!connection_) return PgResult();
  if (!pipeline_.active()) {
    return PgResult(PQexecParams(connection_.get(), sql.c_str(), params.count(), nullptr, params.values(),
                                 params.lengths(), params.formats(), binary_result ? 1 : 0));
  }
  if (!pipeline_.send_sql(sql.c_str(), params, binary_result)) return PgResult();
  return pipeline_.read();
}

std::error_code PgStore::defer(const char* statement, const PgParams& params) {
  if (!connection_) return errc::unavailable;
  if (!pipeline_.active()) {
    PgResult r = exec_prepared(connection_.get(), statement, params);
    return r.ok() ? std::error_code{} : fail(r);
  }
  return pipeline_.defer(statement, params) ? std::error_code{} : fail(PgResult());
}

std::error_code PgStore::begin() noexcept {
  inserted_files_.clear();
  leased_now_.clear();
  recorded_now_.clear();
  if (auto ec = connect()) return ec;
  // Outcome- and lease-only transactions ask for no flush: lost with the server, they
  // cost a second delivery, never a message (as the SQLite queue's NORMAL commits).
  // An idle session has nothing to hear. When the server did say something (it ends a
  // session with a message: shutdown, termination, failover), BEGIN waits for its
  // answer, so a dead session shows here, before anything of the transaction is sent,
  // and the caller can reconnect at once. Otherwise BEGIN goes ahead in the pipeline.
  if (!settings_.begin_ahead || !quiet(connection_.get())) {
    PgResult r = exec(connection_.get(), fsync_commits_ ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit = off");
    if (!r.ok()) return fail(r);
    return pipeline_.start(connection_.get()) ? std::error_code{} : fail(PgResult());
  }
  // The transaction is one pipeline: statements whose answer nothing waits for go out
  // at once and are checked at the next statement that waits, or at COMMIT.
  if (!pipeline_.start(connection_.get()) || !pipeline_.defer_sql("BEGIN") ||
      (!fsync_commits_ && !pipeline_.defer_sql("SET LOCAL synchronous_commit = off"))) {
    return fail(PgResult());
  }
  return {};
}

std::error_code PgStore::commit() noexcept {
  if (!connection_) return errc::unavailable;
  // Every deferred statement's result is read before COMMIT's: the first that failed is
  // returned instead, and the server skipped everything after it, COMMIT included.
  PgResult r;
  if (!pipeline_.active()) {
    r = exec(connection_.get(), "COMMIT");
  } else if (pipeline_.send_sql("COMMIT", PgParams{})) {
    r = pipeline_.finish();
  }
  // COMMIT of a failed transaction answers ROLLBACK with success status: not durable.
  if (!r.ok() || std::string_view(PQcmdStatus(r.get())) != "COMMIT") {
    inserted_files_.clear();
    leased_now_.clear();
    recorded_now_.clear();
    return r.ok() ? make_error_code(errc::internal) : fail(r);
  }
  leases_.insert(leased_now_.begin(), leased_now_.end());
  for (const Lease& done : recorded_now_) leases_.erase(done);
  leased_now_.clear();
  recorded_now_.clear();
  // The bodies are in the database now; their files are no longer needed. A crash
  // before this leaves files no envelope names, which the start-up scan removes.
  if (spool_ != nullptr) {
    for (const std::string& name : inserted_files_) spool_->remove(name);
  }
  inserted_files_.clear();
  return {};
}

void PgStore::rollback() noexcept {
  inserted_files_.clear();
  leased_now_.clear();
  recorded_now_.clear();
  // What the pipeline still holds is read and dropped: the transaction is failed or
  // abandoned, and its statements after a failure were skipped by the server anyway.
  if (pipeline_.active()) pipeline_.finish();
  if (in_transaction()) exec(connection_.get(), "ROLLBACK");
}

bool PgStore::in_transaction() const noexcept {
  if (!connection_) return false;
  if (pipeline_.active()) return true;
  const PGTransactionStatusType s = PQtransactionStatus(connection_.get());
  return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE;
}

std::error_code PgStore::set_fsync_commits(bool fsync) noexcept {
  fsync_commits_ = fsync;
  return {};
}

std::expected<std::string, std::error_code> PgStore::read_spooled(const NewMessage& message) const {
  if (spool_ == nullptr) return std::unexpected(make_error_code(errc::internal));
  auto fd = spool_->open_body(message.body_file);
  if (!fd) return std::unexpected(make_error_code(errc::io_error));
  std::string body = message.body_prefix;
  const std::size_t from = body.size();
  body.resize(from + message.body_file_size);
  std::size_t done = 0;
  while (done < message.body_file_size) {
    const ssize_t n = ::pread(fd->get(), body.data() + from + done, message.body_file_size - done,
                              static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::unexpected(make_error_code(errc::io_error));
    done += static_cast<std::size_t>(n);
  }
  const std::size_t skip = std::min<std::size_t>(message.body_skip, message.body_file_size);
  body.erase(from, skip);
  return body;
}

std::expected<QueuedMessage, std::error_code> PgStore::insert(NewMessage&& message, UnixMillis lease_until) {
  std::shared_ptr<std::string> body;
  if (message.body_file.empty()) {
    body = std::make_shared<std::string>(std::move(message.body));
  } else {
    auto read = read_spooled(message);
    if (!read) return std::unexpected(read.error());
    body = std::make_shared<std::string>(std::move(*read));
  }
  const bool held = !message.held_reason.empty();
  PgParams m;
  m.int64(message.id).int64(static_cast<std::int64_t>(message.direction)).text(message.listener);
  m.text(message.client_address).display_text(message.helo).text(message.sender).text(message.mail_parameters);
  m.int64(message.received_at).int64(static_cast<std::int64_t>(body->size())).int64(held ? 1 : 0);
  // A reserved id (the queue thread always has one) needs no answer: the whole message
  // goes out without waiting, checked at COMMIT. Without one the sequence names it.
  MessageId id = message.id;
  if (id != 0) {
    if (auto ec = defer("insert_message", m)) return std::unexpected(ec);
  } else {
    PgResult inserted = run("insert_message", m);
    if (!inserted.ok() || inserted.rows() != 1) return std::unexpected(fail(inserted));
    id = inserted.int64(0, 0);
  }
  PgParams b;
  b.int64(id).bytes(*body);
  if (auto ec = defer("insert_body", b)) return std::unexpected(ec);
  for (std::size_t i = 0; i < message.recipients.size(); ++i) {
    PgParams r;
    r.int64(id).int64(static_cast<std::int64_t>(i)).text(message.recipients[i]).int64(lease_until);
    r.int64(message.received_at);
    r.text(i < message.recipient_parameters.size() ? std::string_view(message.recipient_parameters[i]) : "");
    // A held message is nobody's to deliver: no lease, the reason shown as its last reply.
    r.int64(held ? 0 : 1).display_text(message.held_reason);
    if (held) {
      r.null().null();
    } else {
      r.text(settings_.node).int64(lease_until);
    }
    if (auto ec = defer("insert_recipient", r)) return std::unexpected(ec);
    if (!held) leased_now_.emplace_back(id, static_cast<std::int32_t>(i));
  }
  if (!message.body_file.empty()) inserted_files_.push_back(message.body_file);

  QueuedMessage stored = stored_envelope(id, message);
  stored.body.data = std::move(body);
  return stored;
}

std::expected<std::vector<QueuedMessage>, std::error_code> PgStore::claim_due(UnixMillis now, UnixMillis lease_until,
                                                                              std::size_t limit) {
  std::vector<QueuedMessage> claimed;
  if (limit == 0) return claimed;
  PgParams p;
  p.int64(now).int64(sql_limit(limit));
  PgResult due = run("select_due_messages", p);
  if (!due.ok()) return std::unexpected(fail(due));
  for (int row = 0; row < due.rows(); ++row) {
    QueuedMessage& m = claimed.emplace_back();
    m.id = due.int64(row, 0);
    m.direction = direction_from(due.int64(row, 1));
    m.listener = due.text(row, 2);
    m.sender = due.text(row, 3);
    m.mail_parameters = due.text(row, 4);
    m.received_at = due.int64(row, 5);
  }
  // Every message's lease in one round trip, then every leased message's body in one.
  std::vector<PgParams> leases(claimed.size());
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    leases[i].int64(claimed[i].id).int64(now).int64(lease_until).text(settings_.node);
  }
  const std::vector<PgResult> leased = run_all("lease_recipients", leases);
  // As in record(): a failure of an earlier statement is the transaction's, not the claim's.
  if (pipeline_.doomed()) return std::vector<QueuedMessage>{};
  std::vector<QueuedMessage*> with_recipients;
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    QueuedMessage& m = claimed[i];
    const PgResult& l = leased[i];
    if (!l.ok()) return std::unexpected(fail(l));
    for (int row = 0; row < l.rows(); ++row) {
      m.recipients.push_back({static_cast<std::int32_t>(l.int64(row, 0)), std::string(l.text(row, 1)),
                              static_cast<std::uint32_t>(l.int64(row, 2)), std::string(l.text(row, 3)),
                              l.int64(row, 4) != 0});
      // Our own expired lease (renewals failed while the database was away) is no news.
      if (const std::string_view holder = l.text(row, 5); !holder.empty() && holder != settings_.node) {
        m.lease_expired_for = holder;
      }
      leased_now_.emplace_back(m.id, m.recipients.back().index);
    }
    std::ranges::sort(m.recipients, {}, &QueuedRecipient::index);
    if (!m.recipients.empty()) with_recipients.push_back(&m);  // else another node has them
  }
  std::vector<PgParams> wanted(with_recipients.size());
  for (std::size_t i = 0; i < with_recipients.size(); ++i) wanted[i].int64(with_recipients[i]->id);
  const std::vector<PgResult> bodies = run_all("select_body", wanted, true);
  for (std::size_t i = 0; i < with_recipients.size(); ++i) {
    const PgResult& body = bodies[i];
    if (!body.ok()) return std::unexpected(fail(body));
    if (body.rows() == 1) with_recipients[i]->body.data = std::make_shared<const std::string>(body.text(0, 0));
  }
  // A pending recipient without a body cannot be delivered. Its lease was still taken so
  // the scanner does not spin on it; it stays visible to an administrator.
  std::erase_if(claimed, [](const QueuedMessage& m) { return !m.body.present() || m.recipients.empty(); });
  return claimed;
}

// Every body is in the database: nothing goes to `freed`. One round trip however many
// outcomes: every UPDATE is sent, then their answers read (which outcomes applied);
// history rows and finished bodies follow without waiting, checked at COMMIT.
std::error_code PgStore::record(std::span<const RecipientOutcome> outcomes, FreedFiles& /*freed*/) {
  std::vector<PgParams> updates(outcomes.size());
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const RecipientOutcome& o = outcomes[i];
    const bool parked = o.state == RecipientState::pending && o.parked_route != 0;
    PgParams& u = updates[i];
    u.int64(o.id).int64(o.index).int64(static_cast<std::int64_t>(o.state)).int64(o.attempted ? 1 : 0);
    u.int64(o.next_attempt).display_text(o.reply).text(o.hop);
    time_or_null(u, o.recorded_at);
    u.int64(o.delay_notified ? 1 : 0).int64(parked ? o.parked_route : 0).text(o.parked_on).text(settings_.node);
  }
  const std::vector<PgResult> updated = run_all("update_recipient", updates);
  // An earlier statement of the transaction failed (another caller's insert): the server
  // skipped these UPDATEs and COMMIT fails with that statement's error. The outcomes are
  // not this call's failure; the caller may run them again in a transaction of their own.
  if (pipeline_.doomed()) return {};
  std::error_code result;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const RecipientOutcome& o = outcomes[i];
    if (!updated[i].ok()) return fail(updated[i]);
    recorded_now_.emplace_back(o.id, o.index);  // applied or not, no longer ours to renew
    if (updated[i].affected() == 0) {
      // Gone, no longer pending (an administrator finished it), or another node took it
      // over after our lease expired: its outcome stands, nothing to log.
      result = errc::not_found;
      continue;
    }
    const auto history = [&](AttemptKind kind, const std::string& text, std::string_view hop,
                             std::string_view address, std::string_view tls) -> std::error_code {
      PgParams a;
      a.int64(o.id).int64(o.index);
      time_or_null(a, o.recorded_at);
      a.text(hop).int64(static_cast<std::int64_t>(o.state)).display_text(text);
      a.int64(static_cast<std::int64_t>(kind));
      a.text(address).text(tls);
      return defer("insert_attempt", a);
    };
    if (o.attempted || !o.reply.empty()) {
      if (auto ec = history(AttemptKind::delivery, o.reply, o.hop, o.hop_address, o.tls)) return ec;
    }
    const bool parked = o.state == RecipientState::pending && o.parked_route != 0;
    if (parked && !o.parked_note.empty()) {
      if (auto ec = history(AttemptKind::parked, o.parked_note, {}, {}, {})) return ec;
    }
  }
  // Each message once where its outcomes are adjacent, after every UPDATE of the call.
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i + 1 < outcomes.size() && outcomes[i + 1].id == outcomes[i].id) continue;
    PgParams p;
    p.int64(outcomes[i].id);
    if (auto ec = defer("delete_finished_body", p)) return ec;
  }
  return result;
}

std::expected<MessageId, std::error_code> PgStore::reserve_ids(std::int64_t count) {
  if (count < 1 || count > pg_id_block) return std::unexpected(make_error_code(errc::internal));
  PgResult r = run("reserve_ids", PgParams{});
  if (!r.ok() || r.rows() != 1) return std::unexpected(fail(r));
  return r.int64(0, 0);
}

std::expected<std::size_t, std::error_code> PgStore::recover(UnixMillis now) {
  PgParams p;
  p.int64(now).text(settings_.node);
  if (PgResult r = run("recover_due", p); !r.ok()) return std::unexpected(fail(r));
  PgResult count = run("count_pending", PgParams{});
  if (!count.ok() || count.rows() != 1) return std::unexpected(fail(count));
  return static_cast<std::size_t>(count.int64(0, 0));
}

std::expected<std::size_t, std::error_code> PgStore::renew_leases(UnixMillis until) {
  if (leases_.empty()) return 0;
  std::string ids = "{";
  std::string indexes = "{";
  for (const auto& [id, index] : leases_) {
    ids += std::to_string(id) + ",";
    indexes += std::to_string(index) + ",";
  }
  ids.back() = '}';
  indexes.back() = '}';
  PgParams p;
  p.int64(until).text(settings_.node).text(ids).text(indexes);
  PgResult r = run("renew_leases", p);
  if (!r.ok()) return std::unexpected(fail(r));
  return static_cast<std::size_t>(r.affected());
}

std::expected<std::size_t, std::error_code> PgStore::release_parked(std::uint32_t route, UnixMillis now,
                                                                   std::size_t limit) {
  PgParams p;
  p.int64(now).int64(route).int64(sql_limit(limit));
  PgResult r = run("release_parked", p);
  if (!r.ok()) return std::unexpected(fail(r));
  return static_cast<std::size_t>(r.affected());
}

std::expected<std::optional<UnixMillis>, std::error_code> PgStore::next_due() {
  PgResult r = run("next_due", PgParams{});
  if (!r.ok()) return std::unexpected(fail(r));
  if (r.rows() == 0) return std::optional<UnixMillis>{};
  return std::optional<UnixMillis>{r.int64(0, 0)};
}

}  // namespace queue
