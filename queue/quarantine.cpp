// queue/quarantine.cpp — holding a message a content filter quarantined (see quarantine.hpp).
#include "queue/quarantine.hpp"

#include <sqlite3.h>

#include "queue/sqlite_handle.hpp"
#include "queue/sqlite_store.hpp"

namespace queue {

std::expected<void, std::string> quarantine_message(const std::string& db_path, MessageId id, std::string_view reason) {
  auto store = SqliteStore::open(db_path);
  if (!store) return std::unexpected(store.error());
  sqlite3* db = store->handle();
  const auto failed = [&](std::string_view what) {
    std::string text = std::string(what) + ": " + sqlite3_errmsg(db);
    store->rollback();
    return std::unexpected(std::move(text));
  };
  if (store->begin()) return failed("cannot begin");
  auto held = Statement::prepare(db, "UPDATE messages SET held = 1 WHERE id = ?1");
  auto recipients = Statement::prepare(
      db, "UPDATE recipients SET leased = 0, last_reply = ?2 WHERE message_id = ?1 AND state = 0");
  if (!held || !recipients) return failed("cannot prepare");
  held->bind(1, id);
  if (held->step() != SQLITE_DONE) return failed("cannot hold");
  recipients->bind(1, id);
  recipients->bind_text(2, reason);
  if (recipients->step() != SQLITE_DONE) return failed("cannot record the reason");
  if (store->commit()) return failed("cannot commit");
  return {};
}

}  // namespace queue
