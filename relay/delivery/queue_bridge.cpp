// relay/delivery/queue_bridge.cpp — awaitable adapters over queue::MessageQueue.
//
// These are plain functions returning the awaitable of an async operation, not
// coroutines: g++ 12 miscompiles init-captures of coroutine parameters (a moved
// std::string kept pointing into the old frame), so the message is handed to
// async_initiate as an argument and moved exactly once, into the queue's job.
#include "relay/delivery/queue_bridge.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

namespace relay {
namespace asio = boost::asio;

namespace {

// Wraps a completion handler so that the queue thread's callback is posted back to the
// handler's executor: no queue-thread code ever touches session state.
template <typename Result, typename Handler>
auto post_back(Handler handler) {
  auto executor = asio::get_associated_executor(handler);
  return [handler = std::move(handler), executor](Result result) mutable {
    asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
      std::move(handler)(std::move(result));
    });
  };
}

}  // namespace

asio::awaitable<CommitResult> commit_message(queue::MessageQueue& q, queue::NewMessage message,
                                             queue::UnixMillis lease_until) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(CommitResult)>(
      [&q, lease_until](auto handler, queue::NewMessage message) {
        q.commit(std::move(message), lease_until, post_back<CommitResult>(std::move(handler)));
      },
      asio::use_awaitable, std::move(message));
}

namespace {

// The two halves of a spooled commit meet here; the last to arrive decides and answers.
struct SpooledCommit {
  std::mutex mutex;
  int waiting = 2;
  std::optional<CommitResult> committed;
  std::error_code flush_error;
  queue::FinishedBody body;
  std::move_only_function<void(CommitResult)> done;

  // Called with `lock` held by each half after storing its result.
  void arrived(std::unique_lock<std::mutex>& lock) {
    if (--waiting > 0) return;
    CommitResult result = std::move(*committed);
    if (result) {
      body.release();  // the committed envelope names the file: it is the queue's now
      if (flush_error) result = std::unexpected(flush_error);
    }
    queue::FinishedBody dropped = std::move(body);  // a failed commit: unlinked here
    lock.unlock();
    done(std::move(result));
  }
};

}  // namespace

asio::awaitable<CommitResult> commit_spooled(queue::MessageQueue& q, queue::BodySyncPool& pool,
                                             queue::NewMessage message, queue::FinishedBody body,
                                             queue::UnixMillis lease_until) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(CommitResult)>(
      [&q, &pool, lease_until](auto handler, queue::NewMessage message, queue::FinishedBody body) {
        auto join = std::make_shared<SpooledCommit>();
        join->done = post_back<CommitResult>(std::move(handler));
        pool.submit(std::move(body), [join](queue::FinishedBody synced, std::error_code ec) {
          std::unique_lock lock(join->mutex);
          join->body = std::move(synced);
          join->flush_error = ec;
          join->arrived(lock);
        });
        q.commit(std::move(message), lease_until, [join](CommitResult result) {
          std::unique_lock lock(join->mutex);
          join->committed = std::move(result);
          join->arrived(lock);
        });
      },
      asio::use_awaitable, std::move(message), std::move(body));
}

asio::awaitable<ClaimResult> claim_due(queue::MessageQueue& q, queue::UnixMillis now,
                                       queue::UnixMillis lease_until, std::size_t limit) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(ClaimResult)>(
      [&q, now, lease_until, limit](auto handler) {
        q.claim_due(now, lease_until, limit, post_back<ClaimResult>(std::move(handler)));
      },
      asio::use_awaitable);
}

asio::awaitable<std::error_code> record_outcomes(queue::MessageQueue& q,
                                                 std::vector<queue::RecipientOutcome> outcomes) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(std::error_code)>(
      [&q](auto handler, std::vector<queue::RecipientOutcome> outcomes) {
        q.record(std::move(outcomes), post_back<std::error_code>(std::move(handler)));
      },
      asio::use_awaitable, std::move(outcomes));
}

asio::awaitable<NoticeResult> record_with_notice(queue::MessageQueue& q, std::vector<queue::RecipientOutcome> outcomes,
                                                 queue::NewMessage notice, queue::UnixMillis lease_until) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(NoticeResult)>(
      [&q, lease_until](auto handler, std::vector<queue::RecipientOutcome> outcomes, queue::NewMessage notice) {
        q.record_with_notice(std::move(outcomes), std::move(notice), lease_until,
                             post_back<NoticeResult>(std::move(handler)));
      },
      asio::use_awaitable, std::move(outcomes), std::move(notice));
}

asio::awaitable<std::expected<std::size_t, std::error_code>> release_parked(queue::MessageQueue& q,
                                                                          std::uint32_t route,
                                                                          queue::UnixMillis now,
                                                                          std::size_t limit) {
  using Result = std::expected<std::size_t, std::error_code>;
  return asio::async_initiate<decltype(asio::use_awaitable), void(Result)>(
      [&q, route, now, limit](auto handler) {
        q.release_parked(route, now, limit, post_back<Result>(std::move(handler)));
      },
      asio::use_awaitable);
}

queue::UnixMillis unix_now_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace relay
