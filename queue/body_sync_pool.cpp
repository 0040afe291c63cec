// queue/body_sync_pool.cpp — the fdatasync threads and their job queue.
#include "queue/body_sync_pool.hpp"

#include <pthread.h>
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
      jobs_.push_back(Job{std::move(body), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(std::move(body), errc::closed);
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
  // Named so that top -H, perf and bench/thread_cpu.py tell the threads apart.
  pthread_setname_np(pthread_self(), "hr-sync");
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
    const std::error_code ec = job.body.sync();
    job.done(std::move(job.body), ec);
  }
}

}  // namespace queue
