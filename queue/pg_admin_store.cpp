// queue/pg_admin_store.cpp — the operator's queue operations as PostgreSQL statements.
#include "queue/pg_admin_store.hpp"

#include <algorithm>
#include <array>
#include <map>

namespace queue {
namespace {

// A recipient nobody holds: no lease, or one that ran out by `now` (the parameter named).
std::string free_of_leases(const std::string& now) {
  return "(lease_node IS NULL OR coalesce(lease_until, 0) <= " + now + ")";
}

// Message ids as one bigint[] parameter, so a selection is one statement, not one per id.
std::string id_array(std::span<const MessageId> ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
  return out + "}";
}

PgParams params_of(const std::vector<SqlParam>& values) {
  PgParams p;
  for (const SqlParam& v : values) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
      p.int64(*i);
    } else {
      p.text(std::get<std::string>(v));
    }
  }
  return p;
}

std::expected<MutationResult, std::string> failed(const char* what, const PgResult& r) {
  return std::unexpected(std::string(what) + ": " + r.message());
}

// Messages a RETURNING message_id statement touched, and its rows as recipients.
MutationResult touched(const PgResult& r) {
  MutationResult result;
  std::vector<std::int64_t> ids;
  for (int row = 0; row < r.rows(); ++row) ids.push_back(r.int64(row, 0));
  std::ranges::sort(ids);
  result.messages = static_cast<std::size_t>(std::ranges::distance(ids.begin(), std::ranges::unique(ids).begin()));
  result.recipients = static_cast<std::size_t>(r.rows());
  return result;
}

}  // namespace

std::expected<std::unique_ptr<PgAdminStore>, std::string> PgAdminStore::open(PgSettings settings) {
  settings.begin_ahead = false;  // an administrator's command reconnects at once, never fails half-sent
  auto store = PgStore::open(std::move(settings));
  if (!store) return std::unexpected(store.error());
  return std::unique_ptr<PgAdminStore>(new PgAdminStore(std::move(*store)));
}

PgResult PgAdminStore::query(const std::string& sql, const PgParams& params, bool binary_result) {
  return store_->query(sql, params, binary_result);
}

template <typename Body>
auto PgAdminStore::transaction(Body&& body) -> decltype(body()) {
  const auto now = std::chrono::steady_clock::now();
  if (store_->connection() == nullptr && now < reconnect_after_)
    return std::unexpected(std::string("cannot reach the queue database (tried less than ") +
                           std::to_string(unreachable_queue_pause.count()) + " s ago)");
  const bool connected = store_->connection() != nullptr;
  std::error_code ec = store_->begin();
  // The connection was found lost (a server restart, a failover): one new one, at once.
  if (ec && connected && store_->connection() == nullptr) ec = store_->begin();
  if (ec) {
    if (store_->connection() == nullptr) reconnect_after_ = now + unreachable_queue_pause;
    return std::unexpected("cannot reach the queue database: " + ec.message());
  }
  auto outcome = body();
  if (!outcome) {
    store_->rollback();
    return outcome;
  }
  if (auto ec = store_->commit()) {
    store_->rollback();
    return std::unexpected("cannot commit: " + ec.message());
  }
  return outcome;
}

std::expected<std::vector<MessageView>, std::string> PgAdminStore::list_in_transaction(const QueueFilter& filter,
                                                                                        UnixMillis now) {
  SqlWhere where = build_where(filter, now, SqlDialect::postgresql);
  const std::size_t n = where.params.size();
  where.params.emplace_back(static_cast<std::int64_t>(std::min<std::size_t>(filter.limit, INT64_MAX)));
  where.params.emplace_back(static_cast<std::int64_t>(std::min<std::size_t>(filter.offset, INT64_MAX)));
  const std::string sql =
      "SELECT m.id, m.direction, m.listener, m.client_address, m.helo, m.sender, m.mail_parameters, m.received_at, "
      "m.size, m.held, EXISTS(SELECT 1 FROM bodies b WHERE b.message_id = m.id) FROM messages m WHERE " +
      where.clause + " ORDER BY m.id LIMIT $" + std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2);
  PgResult r = query(sql, params_of(where.params));
  if (!r.ok()) return std::unexpected("cannot query the queue: " + r.message());
  std::vector<MessageView> out;
  std::map<MessageId, std::size_t> at;
  std::vector<MessageId> ids;
  for (int row = 0; row < r.rows(); ++row) {
    MessageView& m = out.emplace_back();
    m.id = r.int64(row, 0);
    m.direction = r.int64(row, 1) == static_cast<std::int64_t>(conf::Direction::outbound) ? conf::Direction::outbound
                                                                                           : conf::Direction::inbound;
    m.listener = r.text(row, 2);
    m.client_address = r.text(row, 3);
    m.helo = r.text(row, 4);
    m.sender = r.text(row, 5);
    m.mail_parameters = r.text(row, 6);
    m.received_at = r.int64(row, 7);
    m.size = static_cast<std::uint64_t>(r.int64(row, 8));
    m.held = r.int64(row, 9) != 0;
    m.has_body = r.text(row, 10) == "t";
    at.emplace(m.id, out.size() - 1);
    ids.push_back(m.id);
  }
  if (out.empty()) return out;
  PgParams p;
  p.text(id_array(ids));
  PgResult rcpt = query(
      "SELECT message_id, idx, address, state, attempts, next_attempt, leased, coalesce(last_reply, ''), "
      "coalesce(hop, ''), coalesce(updated_at, 0), parameters, "
      "CASE WHEN parked <> 0 THEN coalesce(parked_on, '') ELSE '' END, "
      "CASE WHEN parked <> 0 THEN coalesce(parked_since, 0) ELSE 0 END, "
      // The latest park's text.
      "CASE WHEN parked <> 0 THEN coalesce((SELECT a.reply FROM attempts a WHERE a.message_id = r.message_id "
      "AND a.idx = r.idx AND a.kind = 1 ORDER BY coalesce(a.at, 0) DESC, a.ctid DESC LIMIT 1), '') ELSE '' END, "
      "coalesce(lease_node, ''), coalesce(lease_until, 0) "
      "FROM recipients r WHERE message_id = ANY($1::bigint[]) ORDER BY message_id, idx",
      p);
  if (!rcpt.ok()) return std::unexpected("cannot query the queue: " + rcpt.message());
  for (int row = 0; row < rcpt.rows(); ++row) {
    const auto found = at.find(rcpt.int64(row, 0));
    if (found == at.end()) continue;
    RecipientView v;
    v.index = static_cast<std::int32_t>(rcpt.int64(row, 1));
    v.address = rcpt.text(row, 2);
    const std::int64_t state = rcpt.int64(row, 3);
    v.state = state >= 0 && state <= 3 ? static_cast<RecipientState>(state) : RecipientState::pending;
    v.attempts = static_cast<std::uint32_t>(rcpt.int64(row, 4));
    v.next_attempt = rcpt.int64(row, 5);
    v.leased = rcpt.int64(row, 6) != 0;
    v.last_reply = rcpt.text(row, 7);
    v.hop = rcpt.text(row, 8);
    v.updated_at = rcpt.int64(row, 9);
    v.parameters = rcpt.text(row, 10);
    v.parked_on = rcpt.text(row, 11);
    v.parked_since = rcpt.int64(row, 12);
    v.parked_reason = rcpt.text(row, 13);
    v.lease_node = rcpt.text(row, 14);
    v.lease_until = rcpt.int64(row, 15);
    out[found->second].recipients.push_back(std::move(v));
  }
  return out;
}

std::expected<std::vector<MessageView>, std::string> PgAdminStore::list(const QueueFilter& filter, UnixMillis now) {
  return transaction([&] { return list_in_transaction(filter, now); });
}

std::expected<MessageView, std::string> PgAdminStore::show(MessageId id) {
  return transaction([&]() -> std::expected<MessageView, std::string> {
    QueueFilter filter;
    filter.state = StateFilter::all;
    filter.after = id - 1;
    filter.limit = 1;
    auto found = list_in_transaction(filter, 0);
    if (!found) return std::unexpected(found.error());
    if (found->empty() || found->front().id != id)
      return std::unexpected("no message with queue id " + format_queue_id(id));
    MessageView m = std::move(found->front());
    PgParams p;
    p.int64(id);
    // Oldest first: `at` orders them; rows of one moment in the order they were written.
    PgResult a = query("SELECT idx, coalesce(at, 0), coalesce(hop, ''), state, coalesce(reply, ''), kind, "
                       "coalesce(address, ''), coalesce(tls, '') FROM attempts WHERE message_id = $1 "
                       "ORDER BY coalesce(at, 0), ctid",
                       p);
    if (!a.ok()) return std::unexpected("cannot read attempts: " + a.message());
    for (int row = 0; row < a.rows(); ++row) {
      const std::int64_t state = a.int64(row, 3), kind = a.int64(row, 5);
      m.attempts.push_back({static_cast<std::int32_t>(a.int64(row, 0)), a.int64(row, 1), std::string(a.text(row, 2)),
                            state >= 0 && state <= 3 ? static_cast<RecipientState>(state) : RecipientState::pending,
                            std::string(a.text(row, 4)),
                            kind >= 0 && kind <= 2 ? static_cast<AttemptKind>(kind) : AttemptKind::delivery,
                            std::string(a.text(row, 6)), std::string(a.text(row, 7))});
    }
    return m;
  });
}

std::expected<std::string, std::string> PgAdminStore::body(MessageId id) {
  return transaction([&]() -> std::expected<std::string, std::string> {
    if (auto known = resolve(Selection{.ids = {id}}); !known) return std::unexpected(known.error());
    PgParams p;
    p.int64(id);
    PgResult r = query("SELECT data FROM bodies WHERE message_id = $1", p, true);
    if (!r.ok()) return std::unexpected("cannot read the body: " + r.message());
    if (r.rows() == 0)
      return std::unexpected("message " + format_queue_id(id) + " has no stored body (every recipient is final)");
    return std::string(r.text(0, 0));
  });
}

std::expected<std::vector<MessageId>, std::string> PgAdminStore::resolve(const Selection& selection) {
  std::vector<MessageId> ids;
  if (!selection.ids.empty()) {
    PgParams p;
    p.text(id_array(selection.ids));
    PgResult r = query("SELECT id FROM messages WHERE id = ANY($1::bigint[]) ORDER BY id", p);
    if (!r.ok()) return std::unexpected("cannot query the queue: " + r.message());
    for (int row = 0; row < r.rows(); ++row) ids.push_back(r.int64(row, 0));
    for (MessageId id : selection.ids) {
      if (!std::ranges::binary_search(ids, id)) return std::unexpected("no message with queue id " + format_queue_id(id));
    }
    return ids;
  }
  std::string sql = "SELECT m.id FROM messages m WHERE EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id "
                    "AND r.state = 0";
  PgParams p;
  if (!selection.domain.empty()) {
    sql += " AND " + pg_domain_of("r.address") + " = $1";
    p.text(domain_filter(selection.domain));
  }
  PgResult r = query(sql + ") ORDER BY m.id", p);
  if (!r.ok()) return std::unexpected("cannot query the queue: " + r.message());
  for (int row = 0; row < r.rows(); ++row) ids.push_back(r.int64(row, 0));
  return ids;
}

std::expected<MutationResult, std::string> PgAdminStore::retry(const Selection& selection, UnixMillis now) {
  return transaction([&]() -> std::expected<MutationResult, std::string> {
    auto ids = resolve(selection);
    if (!ids) return std::unexpected(ids.error());
    std::string sql = "UPDATE recipients SET next_attempt = $2 WHERE message_id = ANY($1::bigint[]) AND state = 0 AND " +
                      free_of_leases("$2");
    PgParams p;
    p.text(id_array(*ids)).int64(now);
    if (!selection.domain.empty()) {
      sql += " AND " + pg_domain_of("address") + " = $3";
      p.text(domain_filter(selection.domain));
    }
    PgResult r = query(sql + " RETURNING message_id", p);
    if (!r.ok()) return failed("queue update failed", r);
    return touched(r);
  });
}

std::expected<MutationResult, std::string> PgAdminStore::hold(const Selection& selection) {
  return transaction([&]() -> std::expected<MutationResult, std::string> {
    auto ids = resolve(selection);
    if (!ids) return std::unexpected(ids.error());
    PgParams p;
    p.text(id_array(*ids));
    PgResult r = query("UPDATE messages SET held = 1 WHERE id = ANY($1::bigint[]) AND held = 0", p);
    if (!r.ok()) return failed("queue update failed", r);
    return MutationResult{.messages = static_cast<std::size_t>(r.affected())};
  });
}

std::expected<MutationResult, std::string> PgAdminStore::release(const Selection& selection, UnixMillis now) {
  return transaction([&]() -> std::expected<MutationResult, std::string> {
    auto ids = resolve(selection);
    if (!ids) return std::unexpected(ids.error());
    PgParams p;
    p.text(id_array(*ids));
    PgResult held = query("UPDATE messages SET held = 0 WHERE id = ANY($1::bigint[]) AND held <> 0", p);
    if (!held.ok()) return failed("queue update failed", held);
    p.int64(now);
    PgResult due = query("UPDATE recipients SET next_attempt = $2 WHERE message_id = ANY($1::bigint[]) AND state = 0 "
                         "AND " + free_of_leases("$2"),
                         p);
    if (!due.ok()) return failed("queue update failed", due);
    return MutationResult{.messages = static_cast<std::size_t>(held.affected()),
                          .recipients = static_cast<std::size_t>(due.affected())};
  });
}

std::expected<MutationResult, std::string> PgAdminStore::remove(const Selection& selection) {
  return transaction([&]() -> std::expected<MutationResult, std::string> {
    auto ids = resolve(selection);
    if (!ids) return std::unexpected(ids.error());
    PgParams p;
    p.text(id_array(*ids));
    PgResult count = query("SELECT count(*) FROM recipients WHERE message_id = ANY($1::bigint[])", p);
    if (!count.ok() || count.rows() != 1) return failed("cannot query the queue", count);
    // ON DELETE CASCADE removes recipients, body and attempts.
    PgResult r = query("DELETE FROM messages WHERE id = ANY($1::bigint[])", p);
    if (!r.ok()) return failed("queue update failed", r);
    return MutationResult{.messages = static_cast<std::size_t>(r.affected()),
                          .recipients = static_cast<std::size_t>(count.int64(0, 0))};
  });
}

// Per message, in one transaction for the whole selection: the envelope (locked, so no
// node claims the message meanwhile), its pending recipients no lease holds (locked),
// the body for the report, then the history rows, the final state, the report and the
// body freed once nothing of the message is pending, as SqliteAdminStore::finish does.
std::expected<MutationResult, std::string> PgAdminStore::finish(const Selection& selection, RecipientState state,
                                                                std::string_view reply, UnixMillis now,
                                                                const NoticeComposer& compose) {
  return transaction([&]() -> std::expected<MutationResult, std::string> {
    auto ids = resolve(selection);
    if (!ids) return std::unexpected(ids.error());
    const std::string free = free_of_leases("$3");
    const std::string envelope =
        "SELECT direction, listener, sender, mail_parameters, received_at FROM messages WHERE id = $1 "
        "FOR NO KEY UPDATE";
    const std::string pending = "SELECT idx, address, attempts, parameters, delay_notified, coalesce(hop, '') "
                                "FROM recipients WHERE message_id = $1 AND state = 0 AND " + free_of_leases("$2") +
                                " ORDER BY idx FOR UPDATE";
    const std::string history = "INSERT INTO attempts(message_id, idx, at, hop, state, reply, kind) "
                                "SELECT message_id, idx, $3, NULL, $2, $4, 2 FROM recipients "
                                "WHERE message_id = $1 AND state = 0 AND " + free;
    const std::string update = "UPDATE recipients SET state = $2, next_attempt = $3, last_reply = $4, updated_at = $3, "
                               "leased = 0, lease_node = NULL, lease_until = NULL, parked = 0, parked_on = NULL, "
                               "parked_since = NULL WHERE message_id = $1 AND state = 0 AND " + free;
    // The report waits for any node's scanner: PgStore::insert leased it to this name.
    const std::string unlease = "UPDATE recipients SET leased = 0, lease_node = NULL, lease_until = NULL "
                                "WHERE message_id = $1";
    const std::string free_body = "DELETE FROM bodies WHERE message_id = $1 AND NOT EXISTS "
                                  "(SELECT 1 FROM recipients WHERE message_id = $1 AND state = 0)";
    MutationResult result;
    for (MessageId id : *ids) {
      PgParams one;
      one.int64(id);
      PgResult e = query(envelope, one);
      if (!e.ok() || e.rows() != 1) return failed("queue update failed", e);
      QueuedMessage original;
      original.id = id;
      original.direction = e.int64(0, 0) == static_cast<std::int64_t>(conf::Direction::outbound)
                               ? conf::Direction::outbound
                               : conf::Direction::inbound;
      original.listener = e.text(0, 1);
      original.sender = e.text(0, 2);
      original.mail_parameters = e.text(0, 3);
      original.received_at = e.int64(0, 4);
      PgParams at_now;
      at_now.int64(id).int64(now);
      PgResult r = query(pending, at_now);
      if (!r.ok()) return failed("queue update failed", r);
      std::vector<RecipientOutcome> finished;
      for (int row = 0; row < r.rows(); ++row) {
        const auto idx = static_cast<std::int32_t>(r.int64(row, 0));
        original.recipients.push_back({idx, std::string(r.text(row, 1)), static_cast<std::uint32_t>(r.int64(row, 2)),
                                       std::string(r.text(row, 3)), r.int64(row, 4) != 0});
        finished.push_back({.id = id, .index = idx, .state = state, .next_attempt = now, .attempted = false,
                            .reply = std::string(reply), .hop = std::string(r.text(row, 5)), .recorded_at = now});
      }
      if (finished.empty()) continue;  // nothing pending (or all leased): nothing to finish or report
      PgResult b = query("SELECT data FROM bodies WHERE message_id = $1", one, true);
      if (!b.ok()) return failed("queue update failed", b);
      if (b.rows() == 1) original.body.data = std::make_shared<const std::string>(b.text(0, 0));
      PgParams change;
      change.int64(id).int64(static_cast<std::int64_t>(state)).int64(now).display_text(reply);
      for (const std::string* sql : {&history, &update}) {
        if (PgResult done = query(*sql, change); !done.ok()) return failed("queue update failed", done);
      }
      ++result.messages;
      result.recipients += finished.size();
      if (std::optional<NewMessage> notice = compose ? compose(original, finished) : std::nullopt) {
        auto queued = store_->insert(std::move(*notice), now);
        if (!queued) return std::unexpected("cannot queue the report to the sender: " + queued.error().message());
        PgParams report;
        report.int64(queued->id);
        if (PgResult done = query(unlease, report); !done.ok()) return failed("queue update failed", done);
        ++result.notices;
      }
      if (PgResult done = query(free_body, one); !done.ok()) return failed("cannot free the body", done);
    }
    return result;
  });
}

std::expected<std::vector<SpooledBody>, std::string> PgAdminStore::spooled_bodies() {
  return std::vector<SpooledBody>{};
}

std::expected<std::vector<SummaryInput>, std::string> PgAdminStore::summary_inputs() {
  return transaction([&]() -> std::expected<std::vector<SummaryInput>, std::string> {
    PgResult r = query("SELECT DISTINCT r.message_id, " + pg_domain_of("r.address") +
                           ", m.received_at, m.size FROM recipients r JOIN messages m ON m.id = r.message_id "
                           "WHERE r.state = 0",
                       PgParams{});
    if (!r.ok()) return std::unexpected("cannot query the queue: " + r.message());
    std::vector<SummaryInput> out;
    for (int row = 0; row < r.rows(); ++row)
      out.push_back({std::string(r.text(row, 1)), r.int64(row, 2), static_cast<std::uint64_t>(r.int64(row, 3))});
    return out;
  });
}

std::expected<QueueDepth, std::string> PgAdminStore::depth() {
  return transaction([&]() -> std::expected<QueueDepth, std::string> {
    PgResult s = query("SELECT (m.held <> 0)::int, (r.attempts > 0 OR coalesce(r.last_reply, '') <> '' OR "
                       "r.parked <> 0)::int, m.direction, count(DISTINCT m.id), count(*), min(m.received_at) "
                       "FROM recipients r JOIN messages m ON m.id = r.message_id WHERE r.state = 0 GROUP BY 1, 2, 3",
                       PgParams{});
    if (!s.ok()) return std::unexpected("cannot query the queue: " + s.message());
    PgResult bytes = query("SELECT m.direction, coalesce(sum(m.size), 0) FROM messages m WHERE m.id IN "
                           "(SELECT message_id FROM recipients WHERE state = 0) GROUP BY m.direction",
                           PgParams{});
    if (!bytes.ok()) return std::unexpected("cannot query the queue: " + bytes.message());
    QueueDepth d;
    for (int row = 0; row < s.rows(); ++row) {
      add_depth(d, {.held = s.int64(row, 0) != 0, .attempted = s.int64(row, 1) != 0, .direction = s.int64(row, 2),
                    .messages = static_cast<std::uint64_t>(s.int64(row, 3)),
                    .recipients = static_cast<std::uint64_t>(s.int64(row, 4)), .oldest = s.int64(row, 5)});
    }
    for (int row = 0; row < bytes.rows(); ++row) add_depth_bytes(d, bytes.int64(row, 0), static_cast<std::uint64_t>(bytes.int64(row, 1)));
    return d;
  });
}

}  // namespace queue
