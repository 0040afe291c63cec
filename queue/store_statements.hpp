// queue/store_statements.hpp — the SQL text of every statement SqliteStore prepares.
//
// Owns: one constexpr table, indexed by StoreSql, naming each statement of the store.
// SqliteStore::open() prepares every entry once (in table order) and runs nothing else on
// its hot path; the query-plan tests (tests/queue/sqlite_store_scale_test.cpp) iterate the
// same table, so the plans they check are those of the statements that run.
// Never: prepares, binds or runs anything. Pure data, no SQLite dependency.
// Parameters: ?N as documented at each entry; SqliteStore binds them.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace queue {

enum class StoreSql : std::size_t {
  begin,
  commit,
  rollback,
  insert_message,
  insert_body,
  insert_recipient,
  select_due_messages,
  select_due_recipients,
  lease_recipients,
  select_body,
  update_recipient,
  any_pending,
  delete_body,
  select_body_file,
  clear_body_file,
  insert_attempt,
  recover_due,
  count_pending,
  release_parked,
  next_due,  // keep last: store_statements_in_id_order() checks the table reaches it
};

struct NamedSql {
  StoreSql id;
  std::string_view name;
  std::string_view sql;
};

inline constexpr std::array store_statements{
    // BEGIN IMMEDIATE takes the write lock now, so a later statement cannot hit BUSY.
    NamedSql{StoreSql::begin, "begin", "BEGIN IMMEDIATE"},
    NamedSql{StoreSql::commit, "commit", "COMMIT"},
    NamedSql{StoreSql::rollback, "rollback", "ROLLBACK"},
    // ?9: an id reserved with reserve_ids(), or 0 for the next one (AUTOINCREMENT).
    // ?10: the spool file holding the body, or '' for a body inline in `bodies`; ?11 held
    // (quarantined by a filter at the commit); ?12 the
    // header fields sent before that file, or ''; ?13 the octets of the file they replace.
    NamedSql{StoreSql::insert_message, "insert_message",
             "INSERT INTO messages(direction, listener, client_address, helo, sender, mail_parameters, "
             "received_at, size, id, body_file, held, body_prefix, body_skip) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, nullif(?9, 0), nullif(?10, ''), ?11, nullif(?12, ''), "
             "nullif(?13, 0))"},
    NamedSql{StoreSql::insert_body, "insert_body", "INSERT INTO bodies(message_id, data) VALUES(?1, ?2)"},
    NamedSql{StoreSql::insert_recipient, "insert_recipient",
             "INSERT INTO recipients(message_id, idx, address, state, attempts, next_attempt, updated_at, leased, "
             "parameters, last_reply) VALUES(?1, ?2, ?3, 0, 0, ?4, ?5, ?7, ?6, nullif(?8, ''))"},
    // ?1 now, ?2 limit. The IN set comes from the (state, next_attempt) index, so the scan
    // touches only due recipients, never the history of finished messages. The set is cut
    // to the 4 x limit longest-due recipients (an index walk that stops early) before the
    // ORDER BY sorts it: without the cut every claim sorted the WHOLE due backlog, O(backlog)
    // per claim (seconds per claim at 10^6 queued). 4 x leaves room for multi-recipient
    // messages; anything cut is claimed by the next round.
    NamedSql{StoreSql::select_due_messages, "select_due_messages",
             "SELECT id, direction, listener, sender, mail_parameters, received_at, coalesce(body_file, ''), size, "
             "coalesce(body_prefix, ''), coalesce(body_skip, 0) FROM messages "
             "WHERE held = 0 AND id IN (SELECT message_id FROM recipients WHERE state = 0 AND next_attempt <= ?1 "
             "ORDER BY next_attempt LIMIT ?2 * 4) "
             "ORDER BY received_at, id LIMIT ?2"},
    // ?1 message, ?2 now. Per message: the (message_id, idx) primary key, a handful of rows.
    NamedSql{StoreSql::select_due_recipients, "select_due_recipients",
             "SELECT idx, address, attempts, parameters, delay_notified FROM recipients "
             "WHERE message_id = ?1 AND state = 0 AND next_attempt <= ?2 ORDER BY idx"},
    // ?1 message, ?2 now, ?3 lease_until. The unary "+" keeps SQLite from answering these
    // per-message statements through the recipients_due index, which it otherwise prefers
    // (no ANALYZE statistics): that walks EVERY pending recipient per call, O(backlog) per
    // claimed or delivered message (profiled: 0.8 ms per delivery at 11k queued, growing
    // linearly). With "+" they use the (message_id, idx) primary key.
    NamedSql{StoreSql::lease_recipients, "lease_recipients",
             "UPDATE recipients SET next_attempt = ?3, leased = 1 WHERE message_id = ?1 AND +state = 0 "
             "AND +next_attempt <= ?2"},
    NamedSql{StoreSql::select_body, "select_body", "SELECT data FROM bodies WHERE message_id = ?1"},
    // ?1 message, ?2 idx, ?3 state, ?4 attempted (0/1), ?5 next_attempt, ?6 reply, ?7 hop,
    // ?8 recorded_at (NULL: unknown), ?9 delay notice sent, ?10 parked route, ?11 parked on
    // (route name). An empty reply keeps the last real one (a park is no reply). Only a
    // recipient still pending is updated: one an administrator finished (bounce, expire)
    // while it was being delivered keeps that outcome, and record() reports it not found.
    NamedSql{StoreSql::update_recipient, "update_recipient",
             "UPDATE recipients SET state = ?3, attempts = attempts + ?4, next_attempt = ?5, "
             "last_reply = CASE WHEN ?6 = '' THEN last_reply ELSE ?6 END, "
             "hop = CASE WHEN ?6 = '' THEN hop ELSE nullif(?7, '') END, updated_at = ?8, leased = 0, "
             "delay_notified = max(delay_notified, ?9), parked = ?10, "
             "parked_on = CASE WHEN ?10 = 0 THEN NULL ELSE ?11 END, "
             "parked_since = CASE WHEN ?10 = 0 THEN NULL ELSE coalesce(parked_since, ?8) END "
             "WHERE message_id = ?1 AND idx = ?2 AND state = 0"},
    // ?1 message; "+" as for lease_recipients.
    NamedSql{StoreSql::any_pending, "any_pending",
             "SELECT EXISTS(SELECT 1 FROM recipients WHERE message_id = ?1 AND +state = 0)"},
    NamedSql{StoreSql::delete_body, "delete_body", "DELETE FROM bodies WHERE message_id = ?1"},
    // ?1 message. A spooled body is freed by clearing its name here and unlinking the file
    // after COMMIT (the caller gets the name from select_body_file first).
    NamedSql{StoreSql::select_body_file, "select_body_file",
             "SELECT body_file FROM messages WHERE id = ?1 AND body_file IS NOT NULL"},
    NamedSql{StoreSql::clear_body_file, "clear_body_file", "UPDATE messages SET body_file = NULL WHERE id = ?1"},
    // History for `hubrelay queue show`: attempts, and parks (kind 1, not an attempt).
    // ?1 message, ?2 idx, ?3 at, ?4 hop, ?5 state, ?6 reply, ?7 kind, ?8 hop address,
    // ?9 what protected the session.
    NamedSql{StoreSql::insert_attempt, "insert_attempt",
             "INSERT INTO attempts(message_id, idx, at, hop, state, reply, kind, address, tls) "
             "VALUES(?1, ?2, ?3, nullif(?4, ''), ?5, ?6, ?7, nullif(?8, ''), nullif(?9, ''))"},
    // ?1 now. Start-up only: every pending recipient of a message not held becomes due.
    NamedSql{StoreSql::recover_due, "recover_due",
             "UPDATE recipients SET next_attempt = ?1, leased = 0, parked = 0 WHERE state = 0 AND NOT EXISTS "
             "(SELECT 1 FROM messages m WHERE m.id = recipients.message_id AND m.held <> 0)"},
    NamedSql{StoreSql::count_pending, "count_pending", "SELECT count(*) FROM recipients WHERE state = 0"},
    // ?1 now, ?2 route (index + 1; 0: any), ?3 limit. Walks the partial index
    // recipients_parked only. A leased row is being delivered right now (claimed by its own
    // timer): making it due again would hand it out twice.
    NamedSql{StoreSql::release_parked, "release_parked",
             "UPDATE recipients SET next_attempt = ?1, parked = 0 WHERE (message_id, idx) IN "
             "(SELECT message_id, idx FROM recipients WHERE parked <> 0 AND (?2 = 0 OR parked = ?2) "
             "AND leased = 0 LIMIT ?3)"},
    // The earliest due time: the first entry of the (state, next_attempt) index.
    NamedSql{StoreSql::next_due, "next_due",
             "SELECT r.next_attempt FROM recipients r JOIN messages m ON m.id = r.message_id "
             "WHERE r.state = 0 AND m.held = 0 ORDER BY r.next_attempt LIMIT 1"},
};

inline constexpr std::size_t store_statement_count = store_statements.size();

/// The table is indexed by StoreSql: entry i has id i, and every id has its entry.
consteval bool store_statements_in_id_order() {
  for (std::size_t i = 0; i < store_statements.size(); ++i)
    if (static_cast<std::size_t>(store_statements[i].id) != i) return false;
  return static_cast<std::size_t>(StoreSql::next_due) + 1 == store_statement_count;
}
static_assert(store_statements_in_id_order(), "store_statements must list every StoreSql once, in enum order");

constexpr const NamedSql& store_statement(StoreSql id) noexcept {
  return store_statements[static_cast<std::size_t>(id)];
}

}  // namespace queue
