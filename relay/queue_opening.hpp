// relay/queue_opening.hpp — opening the queue named by [queue] backend at start-up.
//
// Owns: the choice between the SQLite database in the state directory (queue.db) and the
// PostgreSQL database several relays share ([queue.postgresql] conninfo_file); the error
// texts of a failed open, which name the conninfo file and where the configuration set it,
// never its text (it may hold a password); and the start-up recovery of body files left
// in the spool by a crash, which differs by backend.
// Errors: returned as text for the daemon to print; nothing is thrown.
#pragma once

#include <expected>
#include <memory>
#include <string>

#include "conf/config.hpp"
#include "queue/body_sync_pool.hpp"
#include "queue/message_queue.hpp"
#include "queue/spool.hpp"

namespace relay {

/// The queue named by [queue] backend: the SQLite database at `db_path`, or the
/// PostgreSQL database several nodes share.
std::expected<std::unique_ptr<queue::MessageQueue>, std::string> open_queue(const conf::Config& config,
                                                                            const std::string& db_path,
                                                                            const queue::Spool& spool,
                                                                            queue::BodySyncPool& body_sync);

/// Spool files left by a crash. SQLite: compared with the envelopes in queue.db
/// (relay/delivery/spool_recovery). PostgreSQL: a committed message's body is in the
/// database and its file removed after COMMIT, so every file left is unacknowledged or
/// already copied: all are removed. Returns an error text, or "".
std::string recover_bodies(const conf::Config& config, const std::string& db_path, const queue::Spool& spool);

}  // namespace relay
