// queue/body_sync_pool.hpp — the threads that make finished body files durable.
//
// Owns: N threads (N given at construction; from config later) and their FIFO of
// FinishedBody files awaiting fdatasync. A session's I/O thread submits its finished
// body and goes on serving other sessions; the callback fires ON A POOL THREAD once the
// file's data and name are on disk (or the flush failed), carrying the body back. The
// caller commits the envelope naming the file at the same time and answers only when
// both are done (relay/delivery/queue_bridge commit_spooled). Several threads let
// flushes of concurrent sessions overlap, which the device merges.
// Background file work: post() runs other file system work that must not hold up its
// caller, in the same FIFO: the queue thread hands it the unlinks of delivered bodies
// (an unlink costs ext4 more CPU than the message's SQL), so they leave the one serial
// thread of the design.
// Shutdown: the destructor (or shutdown()) runs what is queued, then joins. After
// shutdown began, submit() calls `done` at once on the calling thread with
// errc::closed, like MessageQueue, and post() runs its task at once on the caller.
// Never: throws after construction, blocks the submitting thread beyond a mutex.
// Errors: std::error_code (errno from fdatasync or the directory's fsync).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "queue/body_writer.hpp"

namespace queue {

class BodySyncPool {
 public:
  using Done = std::move_only_function<void(FinishedBody, std::error_code)>;

  /// Starts `threads` threads (at least one).
  explicit BodySyncPool(std::size_t threads);
  /// shutdown(): finishes the queued flushes, then joins.
  ~BodySyncPool();
  BodySyncPool(const BodySyncPool&) = delete;
  BodySyncPool& operator=(const BodySyncPool&) = delete;

  /// Queues `body` for FinishedBody::sync(); `done(body, ec)` runs on a pool thread afterwards.
  void submit(FinishedBody body, Done done);

  /// Queues `task` to run on a pool thread after the work queued before it. After
  /// shutdown began it runs at once on the calling thread, so it is never dropped.
  void post(std::move_only_function<void()> task);

  /// Stops accepting work, runs what is queued, joins the threads. Idempotent, from
  /// one owning thread at a time; never on a pool thread (i.e. not from a callback).
  void shutdown();

 private:
  using Job = std::move_only_function<void()>;

  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace queue
