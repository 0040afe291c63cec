// queue/admin_store_open.hpp — the operator's queue that [queue] names.
//
// Owns: choosing the AdminStore backend from the configuration: the node's own
// state_dir/queue.db (SqliteAdminStore) or the PostgreSQL database the nodes share
// (PgAdminStore, connected under this node's name). Used by `hubrelay queue` and the
// admin API's queue views and depth figures.
// Never: creates a queue (a missing queue.db is an error; a shared database's schema is
// migrated as the daemon does). A failure names the conninfo file, never its text (it
// may hold a password).
// Threading: the caller's. Errors: std::expected with an operator-readable text.
#pragma once

#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "conf/config.hpp"
#include "queue/admin_store.hpp"

namespace queue {

/// A shared queue that could not be reached is not tried again for this long by a
/// long-lived user (the admin endpoint): calls fail at once meanwhile.
inline constexpr std::chrono::seconds unreachable_queue_pause{15};

std::expected<std::unique_ptr<AdminStore>, std::string> open_admin_store(const conf::QueueConfig& queue,
                                                                         const std::string& state_dir);

}  // namespace queue
