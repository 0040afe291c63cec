// relay/admin/queue_actions.hpp — the queue mutations `hubrelay queue` and the admin API share.
//
// Owns: turning one QueueAction (ids, all, a retry domain, or a filter of /api/queue's
// keys; optionally a dry run) into one queue::AdminStore mutation, the sender reports of
// bounce/expire/delete-with-report, and the audit log line of every mutation (who, what,
// target, result) — so a change made from the shell and one made over HTTP run the same
// code and read the same in the log.
// Never: parses command lines or HTTP (relay/cli/queue_cli.cpp, relay/admin/api_request.cpp),
// configures logging (the caller's logger is used).
// Threading: the caller's; one AdminStore at a time. Errors: ApiError (400 bad request,
// 404 unknown id, 409 too many matches, 500 queue error); refusals are audited too.
#pragma once

#include <expected>
#include <string_view>

#include "conf/config.hpp"
#include "queue/admin_store.hpp"
#include "relay/admin/api_request.hpp"

namespace relay::admin {

/// The most messages one filtered action may select: past that, narrow the filter.
inline constexpr std::size_t max_filtered_messages = 100'000;

/// Runs `action` on `store` at `now`; `who` names the actor in the audit line
/// ("user=root uid=0", "api client=127.0.0.1").
std::expected<QueueActionResult, ApiError> run_queue_action(queue::AdminStore& store, const conf::Config& config,
                                                           const QueueAction& action, std::string_view who,
                                                           queue::UnixMillis now);

}  // namespace relay::admin
