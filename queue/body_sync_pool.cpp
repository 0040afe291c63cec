// queue/body_sync_pool.cpp — the fdatasync threads and their job queue.
#include "queue/body_sync_pool.hpp"

#include <algorithm>
#include <utility>

#include "queue/errc.hpp"

namespace queue {

BodySyncPool::BodySyncPool(std::size_t threads) {
  const std::size_t count = std::max<std::size_t>(threads, 1);
  threads_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([this] { run(); });
}

BodySyncPool::~BodySyncPool() { shutdown(); }

void BodySyncPool::submit(FinishedBody body, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.emplace_back([body = std::move(body), done = std::move(done)]() mutable {
        const std::error_code ec = body.sync();
        done(std::move(body), ec);
      });
      wake_.notify_one();
      return;
    }
  }
  done(std::move(body), errc::closed);
}

void BodySyncPool::post(std::move_only_function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      jobs_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
  }
  task();
}

void BodySyncPool::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
}

void BodySyncPool::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      // Queued flushes still run during shutdown: their sessions wait for an answer.
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace queue
