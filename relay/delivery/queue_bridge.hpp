// relay/delivery/queue_bridge.hpp — awaitable adapters over queue::MessageQueue.
//
// Owns: moving queue callbacks (which run on the queue thread) back onto the caller's
// io_context, so coroutines can `co_await` a commit, claim or record. Adds no logic but
// the join of a spooled body's flush with its envelope's commit (commit_spooled).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <mutex>

#include "queue/body_sync_pool.hpp"
#include "queue/message_queue.hpp"

namespace relay {

using CommitResult = std::expected<queue::QueuedMessage, std::error_code>;
using ClaimResult = std::expected<std::vector<queue::QueuedMessage>, std::error_code>;

boost::asio::awaitable<CommitResult> commit_message(queue::MessageQueue& q, queue::NewMessage message,
                                                    queue::UnixMillis lease_until);
boost::asio::awaitable<ClaimResult> claim_due(queue::MessageQueue& q, queue::UnixMillis now,
                                              queue::UnixMillis lease_until, std::size_t limit);
boost::asio::awaitable<std::error_code> record_outcomes(queue::MessageQueue& q,
                                                        std::vector<queue::RecipientOutcome> outcomes);

using NoticeResult = std::expected<std::optional<queue::QueuedMessage>, std::error_code>;
boost::asio::awaitable<NoticeResult> record_with_notice(queue::MessageQueue& q,
                                                        std::vector<queue::RecipientOutcome> outcomes,
                                                        queue::NewMessage notice, queue::UnixMillis lease_until);

boost::asio::awaitable<std::expected<std::size_t, std::error_code>> release_parked(queue::MessageQueue& q,
                                                                                 std::uint32_t route,
                                                                                 queue::UnixMillis now,
                                                                                 std::size_t limit);

/// Commits `message`, which names the spool file `body`, while the sync pool flushes the
/// file and its directory entry: both at once, so the caller waits for the slower flush,
/// not their sum. The result is the commit's once both succeeded (the file then belongs
/// to the envelope). A failed commit unlinks the file. A failed flush after a good
/// commit returns the flush's error (no 250): the envelope keeps its file, and if the
/// body is not on disk after a crash, start-up recovery drops the envelope as never
/// acknowledged; if it is, the message may be delivered as well as retried by the client
/// (a duplicate, never a loss).
boost::asio::awaitable<CommitResult> commit_spooled(queue::MessageQueue& q, queue::BodySyncPool& pool,
                                                    queue::NewMessage message, queue::FinishedBody body,
                                                    queue::UnixMillis lease_until);

/// Wall-clock Unix milliseconds (the queue's time unit).
queue::UnixMillis unix_now_ms() noexcept;

}  // namespace relay
