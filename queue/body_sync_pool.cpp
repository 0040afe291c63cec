// queue/body_sync_pool.cpp — the fdatasync threads and their job queue.
#include "queue/body_sync_pool.hpp"

#include <pthread.h>
#include <algorithm>
#include <memory>
#include <utility>

#include "queue/errc.hpp"

namespace queue {

BodySyncPool::BodySyncPool(std::size_t threads) {
  const std::size_t count = std::max<std::size_t>(threads, 1);
  threads_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) threads_.emplace_back([this] { run(); });
}

BodySyncPool::~BodySyncPool() { shutdown(); }

namespace {

// One body's two flushes, run side by side; the last to finish hands the body on.
struct Flushes {
  std::mutex mutex;
  int left = 2;
  std::error_code first_error;
  FinishedBody body;
  BodySyncPool::Done done;

  static void finished(const std::shared_ptr<Flushes>& flushes, std::error_code ec) {
    std::unique_lock lock(flushes->mutex);
    if (ec && !flushes->first_error) flushes->first_error = ec;
    if (--flushes->left > 0) return;
    lock.unlock();
    flushes->done(std::move(flushes->body), flushes->first_error);
  }
};

}  // namespace

// The data's fdatasync and the name's directory fsync go to two threads at once, so the
// answer waits for the slower of them rather than their sum (strace showed the directory
// fsync after the data's on the 250's path). A body whose name needs no flush is one job.
void BodySyncPool::submit(FinishedBody body, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      if (!body.needs_name_sync()) {
        jobs_.emplace_back([body = std::move(body), done = std::move(done)]() mutable {
          const std::error_code ec = body.sync_data();
          done(std::move(body), ec);
        });
        wake_.notify_one();
        return;
      }
      auto flushes = std::make_shared<Flushes>();
      flushes->body = std::move(body);
      flushes->done = std::move(done);
      jobs_.emplace_back([flushes] { Flushes::finished(flushes, flushes->body.sync_data()); });
      jobs_.emplace_back([flushes] { Flushes::finished(flushes, flushes->body.sync_name()); });
      wake_.notify_all();
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
    job();
  }
}

}  // namespace queue
