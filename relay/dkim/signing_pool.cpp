// relay/dkim/signing_pool.cpp — the signing threads and the awaitable adapter.
//
// sign_message() is a plain function returning the awaitable of an async operation, not a
// coroutine: g++ 12 miscompiles init-captures of a coroutine's own parameters, so the job
// is handed to async_initiate as an argument and moved once, into the pool's queue.
#include "relay/dkim/signing_pool.hpp"

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>

namespace relay::dkim {
namespace asio = boost::asio;

SigningPool::SigningPool(std::size_t threads) : threads_(std::max<std::size_t>(threads, 1)) {}

SigningPool::~SigningPool() { shutdown(); }

void SigningPool::submit(SignJob job, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      asio::post(threads_, [job = std::move(job), done = std::move(done)]() mutable {
        Signer::Result result;
        if (job.signer) {
          result = job.signer->sign(job.header_section, job.body, job.direction, job.now);
        } else {
          result.failures.emplace_back("no signer");
        }
        done(std::move(result));
      });
      return;
    }
  }
  Signer::Result closed;
  closed.failures.emplace_back("signing pool closed");
  done(std::move(closed));
}

void SigningPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  // Queued jobs still run: their sessions wait for an answer.
  threads_.join();
}

asio::awaitable<Signer::Result> sign_message(SigningPool& pool, SignJob job) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Signer::Result)>(
      [&pool](auto handler, SignJob job) {
        auto executor = asio::get_associated_executor(handler);
        pool.submit(std::move(job), [handler = std::move(handler), executor](Signer::Result result) mutable {
          asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(job));
}

}  // namespace relay::dkim
