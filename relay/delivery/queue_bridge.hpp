// relay/delivery/queue_bridge.hpp — awaitable adapters over queue::MessageQueue.
//
// Owns: moving queue callbacks (which run on the queue thread) back onto the caller's
// io_context, so coroutines can `co_await` a commit, claim or record. Adds no logic.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

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

/// A spool file after its fdatasync on a BodySyncPool thread: the file, and the error.
struct SyncedBody {
  queue::FinishedBody body;
  std::error_code error;
};
boost::asio::awaitable<SyncedBody> sync_body(queue::BodySyncPool& pool, queue::FinishedBody body);

/// Wall-clock Unix milliseconds (the queue's time unit).
queue::UnixMillis unix_now_ms() noexcept;

}  // namespace relay
