// relay/queue_opening.cpp — opening the queue by backend, and body recovery (see the header).
#include "relay/queue_opening.hpp"

#include <spdlog/spdlog.h>

#include "queue/pg_store.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/delivery/spool_recovery.hpp"

namespace relay {

std::expected<std::unique_ptr<queue::MessageQueue>, std::string> open_queue(const conf::Config& config,
                                                                            const std::string& db_path,
                                                                            const queue::Spool& spool,
                                                                            queue::BodySyncPool& body_sync) {
  if (config.queue.backend != conf::QueueBackend::postgresql) {
    auto opened = queue::MessageQueue::open(db_path, config.queue, &spool, &body_sync);
    if (!opened) return std::unexpected("queue " + db_path + ": " + opened.error());
    return opened;
  }
  const std::string where = config.queue.pg_conninfo_file + " (" + config.source_file + ":" +
                            std::to_string(config.queue.pg_conninfo_file_line) + ", queue.postgresql.conninfo_file)";
  queue::PgSettings settings{config.queue.pg_conninfo, config.queue.node, config.queue.pg_connect_timeout, {}};
  settings.on_connection_event = [where](const queue::PgConnectionEvent& event) {
    using Kind = queue::PgConnectionEvent::Kind;
    if (event.kind == Kind::lost) spdlog::warn("queue: lost the connection to the PostgreSQL queue: {}", event.detail);
    if (event.kind == Kind::reconnect_failed) spdlog::warn("queue: cannot reconnect to {}: {}", where, event.detail);
    if (event.kind == Kind::reconnected) {
      spdlog::info("queue: reconnected to the PostgreSQL queue at {} after {} failed attempt(s)", event.detail,
                   event.failed_attempts);
    }
  };
  auto store = queue::PgStore::open(std::move(settings), &spool);
  if (!store) return std::unexpected("queue " + where + ": " + store.error());
  auto opened = queue::MessageQueue::open(std::move(*store), config.queue, &spool, &body_sync);
  if (!opened) return std::unexpected("queue " + where + ": " + opened.error());
  return opened;
}

std::string recover_bodies(const conf::Config& config, const std::string& db_path, const queue::Spool& spool) {
  if (config.queue.backend != conf::QueueBackend::postgresql) {
    auto state = recover_spool(config, db_path, spool, unix_now_ms());
    return state ? std::string{} : "spool recovery failed: " + state.error();
  }
  auto files = spool.list();
  if (!files) return "spool recovery failed: " + files.error().message();
  for (const auto& file : *files) {
    if (auto ec = spool.remove(file.name)) return "spool recovery failed: " + file.name + ": " + ec.message();
  }
  if (!files->empty()) spdlog::warn("spool: {} body file(s) of unacknowledged messages removed", files->size());
  return {};
}

}  // namespace relay
