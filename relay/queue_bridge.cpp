// relay/queue_bridge.cpp — awaitable adapters over queue::MessageQueue.
#include "relay/queue_bridge.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace relay {
namespace asio = boost::asio;

namespace {

// Runs `start(callback)`; the queue thread invokes callback(result), which is posted back
// to the awaiting coroutine's executor so no queue-thread code touches session state.
template <typename Result, typename Start>
asio::awaitable<Result> await_queue(Start start) {
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
      [start = std::move(start)](auto handler) mutable {
        auto executor = asio::get_associated_executor(handler);
        start([handler = std::move(handler), executor](Result result) mutable {
          asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable);
}

}  // namespace

asio::awaitable<CommitResult> commit_message(queue::MessageQueue& q, queue::NewMessage message,
                                             queue::UnixMillis lease_until) {
  co_return co_await await_queue<CommitResult>(
      [&q, message = std::move(message), lease_until](auto done) mutable {
        q.commit(std::move(message), lease_until, std::move(done));
      });
}

asio::awaitable<ClaimResult> claim_due(queue::MessageQueue& q, queue::UnixMillis now,
                                       queue::UnixMillis lease_until, std::size_t limit) {
  co_return co_await await_queue<ClaimResult>([&q, now, lease_until, limit](auto done) mutable {
    q.claim_due(now, lease_until, limit, std::move(done));
  });
}

asio::awaitable<std::error_code> record_outcomes(queue::MessageQueue& q,
                                                 std::vector<queue::RecipientOutcome> outcomes) {
  co_return co_await await_queue<std::error_code>(
      [&q, outcomes = std::move(outcomes)](auto done) mutable { q.record(std::move(outcomes), std::move(done)); });
}

queue::UnixMillis unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace relay
