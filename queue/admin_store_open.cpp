// queue/admin_store_open.cpp — SQLite file or shared PostgreSQL database, by [queue] backend.
#include "queue/admin_store_open.hpp"

#include <filesystem>

#include "queue/pg_admin_store.hpp"
#include "queue/sqlite_admin_store.hpp"

namespace queue {

std::expected<std::unique_ptr<AdminStore>, std::string> open_admin_store(const conf::QueueConfig& queue,
                                                                         const std::string& state_dir) {
  if (queue.backend != conf::QueueBackend::postgresql) {
    auto opened = SqliteAdminStore::open((std::filesystem::path(state_dir) / "queue.db").string());
    if (!opened) return std::unexpected(opened.error());
    return std::make_unique<SqliteAdminStore>(std::move(*opened));
  }
  auto opened = PgAdminStore::open(PgSettings{queue.pg_conninfo, queue.node, queue.pg_connect_timeout});
  if (!opened) return std::unexpected("queue " + queue.pg_conninfo_file + ": " + opened.error());
  return std::unique_ptr<AdminStore>(std::move(*opened));
}

}  // namespace queue
