// queue/message_queue.cpp — the queue thread: job queue, group commit, callbacks.
//
// One std::thread owns the store (SqliteStore, or PgStore for a queue nodes share).
// Calls become jobs in a mutex-protected deque.
// Each round the thread takes every waiting job (at most group_commit_max_batch commits;
// the rest wait for the next round), runs them all inside one BEGIN IMMEDIATE ... COMMIT,
// and only then invokes the callbacks. Jobs that arrive during the fsync form the next
// batch, so the batch size grows by itself with the load.
// Delivery outcomes ride with the next batch: a round that holds nothing but record()
// jobs is held back (up to the outcome wait) and put in front of the next round, so at
// low concurrency an outcome shares the next message's transaction instead of running a
// transaction of its own in series with it (half the BEGIN/COMMIT work and WAL frames per
// message). Held outcomes go first, so nothing queued after them overtakes them; they run
// on their own when the wait ends, and at shutdown. Lost by a crash while held, an
// outcome costs a second delivery of its recipients, never a message (docs/queue.md).
#include "queue/message_queue.hpp"

#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <iterator>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "queue/body_sync_pool.hpp"
#include "queue/spool.hpp"
#include "queue/sqlite_store.hpp"
#include "queue/wal_checkpointer.hpp"

namespace queue {
namespace {

using NextDueResult = std::expected<std::optional<UnixMillis>, std::error_code>;
using RecoverResult = std::expected<std::size_t, std::error_code>;

struct CommitJob {
  NewMessage message;
  UnixMillis lease_until = 0;
  MessageQueue::CommitDone done;
  std::optional<QueuedMessage> stored;
};

struct ClaimJob {
  UnixMillis now = 0;
  UnixMillis lease_until = 0;
  std::size_t limit = 0;
  MessageQueue::ClaimDone done;
  std::vector<QueuedMessage> claimed;
};

struct RecordJob {
  std::vector<RecipientOutcome> outcomes;
  MessageQueue::RecordDone done;
  std::error_code result;  // not_found is a result, not a transaction failure
  FreedFiles freed;        // spool files to unlink after COMMIT
};

struct NoticeJob {
  std::vector<RecipientOutcome> outcomes;
  NewMessage notice;
  UnixMillis lease_until = 0;
  MessageQueue::NoticeDone done;
  std::optional<QueuedMessage> stored;
  FreedFiles freed;
};

struct NextDueJob {
  std::move_only_function<void(NextDueResult)> done;
  std::optional<UnixMillis> due;
};

struct RecoverJob {
  UnixMillis now = 0;
  std::move_only_function<void(RecoverResult)> done;
  std::size_t pending = 0;
};

struct ReleaseJob {
  std::uint32_t route = 0;
  UnixMillis now = 0;
  std::size_t limit = 0;
  MessageQueue::ReleaseDone done;
  std::size_t released = 0;
};

struct RenewJob {
  UnixMillis until = 0;
  MessageQueue::ReleaseDone done;
  std::size_t renewed = 0;
};

using ReserveResult = std::expected<MessageId, std::error_code>;

struct ReserveJob {
  std::int64_t count = 0;
  std::move_only_function<void(ReserveResult)> done;
  MessageId first = 0;
};

using Job = std::variant<CommitJob, ClaimJob, RecordJob, NoticeJob, NextDueJob, RecoverJob, ReleaseJob, ReserveJob,
                         RenewJob>;

// Ids per reserved block: one small transaction per thousand messages, and at most this
// many ids skipped at a restart.
constexpr std::int64_t id_block = 1024;

// run(): the job's SQL inside the open transaction; an error dooms the transaction.
std::error_code run(QueueStore& store, CommitJob& job) {
  auto stored = store.insert(std::move(job.message), job.lease_until);
  if (!stored) return stored.error();
  job.stored = std::move(*stored);
  return {};
}

std::error_code run(QueueStore& store, ClaimJob& job) {
  auto claimed = store.claim_due(job.now, job.lease_until, job.limit);
  if (!claimed) return claimed.error();
  job.claimed = std::move(*claimed);
  return {};
}

std::error_code run(QueueStore& store, RecordJob& job) {
  const std::error_code ec = store.record(job.outcomes, job.freed);
  job.result = ec == errc::not_found ? ec : std::error_code{};
  return ec == errc::not_found ? std::error_code{} : ec;
}

std::error_code run(QueueStore& store, NoticeJob& job) {
  auto stored = store.record_with_notice(job.outcomes, std::move(job.notice), job.lease_until, job.freed);
  if (!stored) return stored.error();
  job.stored = std::move(*stored);
  return {};
}

std::error_code run(QueueStore& store, NextDueJob& job) {
  auto due = store.next_due();
  if (!due) return due.error();
  job.due = *due;
  return {};
}

std::error_code run(QueueStore& store, RecoverJob& job) {
  auto pending = store.recover(job.now);
  if (!pending) return pending.error();
  job.pending = *pending;
  return {};
}

std::error_code run(QueueStore& store, ReleaseJob& job) {
  auto released = store.release_parked(job.route, job.now, job.limit);
  if (!released) return released.error();
  job.released = *released;
  return {};
}

std::error_code run(QueueStore& store, ReserveJob& job) {
  auto first = store.reserve_ids(job.count);
  if (!first) return first.error();
  job.first = *first;
  return {};
}

std::error_code run(QueueStore& store, RenewJob& job) {
  auto renewed = store.renew_leases(job.until);
  if (!renewed) return renewed.error();
  job.renewed = *renewed;
  return {};
}

// complete(): after COMMIT, hand the results out.
void complete(CommitJob& job) { job.done(std::move(*job.stored)); }
void complete(ClaimJob& job) { job.done(std::move(job.claimed)); }
void complete(RecordJob& job) { job.done(job.result); }
void complete(NoticeJob& job) { job.done(std::move(job.stored)); }
void complete(NextDueJob& job) { job.done(job.due); }
void complete(RecoverJob& job) { job.done(job.pending); }
void complete(ReleaseJob& job) { job.done(job.released); }
void complete(ReserveJob& job) { job.done(job.first); }
void complete(RenewJob& job) { job.done(job.renewed); }

void fail(CommitJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(ClaimJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(RecordJob& job, std::error_code ec) { job.done(ec); }
void fail(NoticeJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(NextDueJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(RecoverJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(ReleaseJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(ReserveJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }
void fail(RenewJob& job, std::error_code ec) { job.done(std::unexpected(ec)); }

std::error_code run_job(QueueStore& store, Job& job) {
  return std::visit([&store](auto& j) { return run(store, j); }, job);
}
void complete_job(Job& job) {
  std::visit([](auto& j) { complete(j); }, job);
}
void fail_job(Job& job, std::error_code ec) {
  std::visit([ec](auto& j) { fail(j, ec); }, job);
}
bool is_record(const Job& job) noexcept { return std::holds_alternative<RecordJob>(job); }
// A report queued with outcomes is a new message too: it fsyncs and counts as a commit.
bool is_commit(const Job& job) noexcept {
  return std::holds_alternative<CommitJob>(job) || std::holds_alternative<NoticeJob>(job);
}
// A commit whose body is a spool file: its name must be durable before COMMIT.
bool has_body_file(const Job& job) noexcept {
  const auto* commit = std::get_if<CommitJob>(&job);
  return commit != nullptr && !commit->message.body_file.empty();
}
// The spool files a job freed, for unlinking after COMMIT.
FreedFiles* freed_files(Job& job) noexcept {
  if (auto* record = std::get_if<RecordJob>(&job)) return &record->freed;
  if (auto* notice = std::get_if<NoticeJob>(&job)) return &notice->freed;
  return nullptr;
}

}  // namespace

struct MessageQueue::Impl {
  Impl(std::unique_ptr<WalCheckpointer> checkpointer, std::unique_ptr<QueueStore> store, std::uint32_t max_batch,
       const Spool* spool, BodySyncPool* background, std::chrono::milliseconds outcome_wait)
      : checkpointer_(std::move(checkpointer)),
        store_(std::move(store)),
        max_batch_(std::max<std::uint32_t>(max_batch, 1)),
        spool_(spool),
        background_(background),
        outcome_wait_(outcome_wait) {}

  void post(Job job);
  void shutdown();
  void run_thread();
  void take_batch(std::vector<Job>& batch);
  void execute(std::vector<Job>& batch);
  void execute_alone(Job& job);
  /// After COMMIT: unlinks the spool files the job's messages no longer need.
  void remove_freed(Job& job) noexcept;
  /// A reserved block arrived (or could not be had): it becomes the spare.
  void add_ids(ReserveResult first);
  bool on_queue_thread() const noexcept { return std::this_thread::get_id() == thread_.get_id(); }

  // Declared before store_: the writer's connection, whose wal_hook points here, closes first.
  std::unique_ptr<WalCheckpointer> checkpointer_;
  std::unique_ptr<QueueStore> store_;  // touched only by the queue thread once it runs
  const std::size_t max_batch_;
  const Spool* const spool_;  // null: no spool (bodies only inline)
  BodySyncPool* const background_;  // null: freed bodies are unlinked on this thread
  const std::chrono::milliseconds outcome_wait_;
  // Outcomes held back for the next round, and since when. Queue thread only.
  std::vector<Job> held_outcomes_;
  std::chrono::steady_clock::time_point held_since_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> pending_;  // guarded by mutex_
  bool closing_ = false;     // guarded by mutex_
  std::thread thread_;

  // Written only by the queue thread, read from anywhere.
  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> messages_committed_{0};
  std::atomic<std::uint64_t> largest_batch_{0};
  std::atomic<std::uint64_t> commit_micros_total_{0};

  // Reserved ids not handed out yet: [next, end), then the spare block. Any thread.
  struct IdBlocks {
    MessageId next = 0;
    MessageId end = 0;
    MessageId spare_first = 0;
    MessageId spare_end = 0;
    bool reserving = false;  // a ReserveJob is queued or running
  };
  std::mutex ids_mutex_;
  IdBlocks ids_;  // guarded by ids_mutex_
};

void MessageQueue::Impl::add_ids(ReserveResult first) {
  std::lock_guard lock(ids_mutex_);
  ids_.reserving = false;
  if (!first) return;  // the next reserve_id() asks again
  ids_.spare_first = *first;
  ids_.spare_end = *first + id_block;
}

void MessageQueue::Impl::post(Job job) {
  std::unique_lock lock(mutex_);
  if (closing_) {
    lock.unlock();
    fail_job(job, errc::closed);
    return;
  }
  // The thread only sleeps on an empty deque, so it needs a signal only for the first job.
  const bool was_empty = pending_.empty();
  pending_.push_back(std::move(job));
  lock.unlock();
  if (was_empty) wake_.notify_one();
}

void MessageQueue::Impl::shutdown() {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
  }
  wake_.notify_one();
}

void MessageQueue::Impl::run_thread() {
  // Named so that top -H, perf and bench/thread_cpu.py tell the threads apart.
  pthread_setname_np(pthread_self(), "hr-queue");
  std::vector<Job> batch;  // reused: no allocation per round once warm
  for (;;) {
    bool closing = false;
    {
      std::unique_lock lock(mutex_);
      const auto ready = [this] { return !pending_.empty() || closing_; };
      if (held_outcomes_.empty()) {
        wake_.wait(lock, ready);
      } else {
        wake_.wait_until(lock, held_since_ + outcome_wait_, ready);
      }
      // Closing, and everything queued has run.
      if (pending_.empty() && closing_ && held_outcomes_.empty()) return;
      closing = closing_;
      take_batch(batch);
    }
    const auto now = std::chrono::steady_clock::now();
    const bool waited_enough = !held_outcomes_.empty() && now >= held_since_ + outcome_wait_;
    if (!closing && !waited_enough && !batch.empty() && held_outcomes_.size() < max_batch_ &&
        std::ranges::all_of(batch, is_record)) {
      if (held_outcomes_.empty()) held_since_ = now;
      std::ranges::move(batch, std::back_inserter(held_outcomes_));
      batch.clear();
      continue;
    }
    if (!held_outcomes_.empty()) {
      batch.insert(batch.begin(), std::make_move_iterator(held_outcomes_.begin()),
                   std::make_move_iterator(held_outcomes_.end()));
      held_outcomes_.clear();
    }
    if (!batch.empty()) execute(batch);
    batch.clear();
  }
}

// FIFO: stops at the first commit beyond the limit rather than skipping over it, so a
// caller's record() never overtakes its own earlier commit().
void MessageQueue::Impl::take_batch(std::vector<Job>& batch) {
  std::size_t commits = 0;
  while (!pending_.empty()) {
    const bool commit = is_commit(pending_.front());
    if (commit && commits == max_batch_) break;
    commits += commit ? 1 : 0;
    batch.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
}

void MessageQueue::Impl::execute(std::vector<Job>& batch) {
  const auto commits = static_cast<std::uint64_t>(std::ranges::count_if(batch, is_commit));
  std::size_t failed_at = batch.size();
  const auto started = std::chrono::steady_clock::now();
  // A 250 waits only for transactions that commit messages; those fsync. Outcome- and
  // lease-only transactions ride on the next fsync: one fdatasync per message instead of
  // two at low concurrency (SqliteStore::set_fsync_commits).
  std::error_code ec = store_->set_fsync_commits(commits > 0);
  // A spooled body's file and directory entry are flushed by the session's sync pool job
  // in parallel with this transaction (the session answers 250 only when both are done;
  // an envelope whose body did not reach the disk was never acknowledged, and start-up
  // recovery drops it: relay/delivery/spool_recovery). Without a spool there is none.
  if (!ec && spool_ == nullptr && std::ranges::any_of(batch, has_body_file)) ec = make_error_code(errc::internal);
  if (!ec) ec = store_->begin();
  for (std::size_t i = 0; !ec && i < batch.size(); ++i) {
    ec = run_job(*store_, batch[i]);
    if (ec) failed_at = i;
  }
  if (!ec) ec = store_->commit();
  if (!ec) {
    if (commits > 0) {
      transactions_.fetch_add(1, std::memory_order_relaxed);
      messages_committed_.fetch_add(commits, std::memory_order_relaxed);
      commit_micros_total_.fetch_add(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - started).count()),
                                     std::memory_order_relaxed);
      if (commits > largest_batch_.load(std::memory_order_relaxed)) {
        largest_batch_.store(commits, std::memory_order_relaxed);
      }
    }
    // Only now is the data durable; a callback may let a session answer 250.
    for (Job& job : batch) {
      remove_freed(job);
      complete_job(job);
    }
    return;
  }
  store_->rollback();
  for (Job& job : batch) {
    if (FreedFiles* freed = freed_files(job)) freed->clear();  // rolled back: still needed
  }
  for (std::size_t i = 0; i < batch.size(); ++i) {
    // A rolled-back commit is not retried: its session answers 4xx and the client
    // retries, which is the SMTP way. Reads and outcomes of other callers should not
    // suffer for someone else's failure, so they get one attempt on their own.
    if (std::holds_alternative<CommitJob>(batch[i]) || i == failed_at) {
      fail_job(batch[i], ec);
    } else {
      execute_alone(batch[i]);
    }
  }
}

void MessageQueue::Impl::execute_alone(Job& job) {
  std::error_code ec = store_->begin();
  if (!ec) ec = run_job(*store_, job);
  if (!ec) ec = store_->commit();
  if (ec) {
    store_->rollback();
    if (FreedFiles* freed = freed_files(job)) freed->clear();
    fail_job(job, ec);
    return;
  }
  remove_freed(job);
  complete_job(job);
}

void MessageQueue::Impl::remove_freed(Job& job) noexcept {
  FreedFiles* freed = freed_files(job);
  if (freed == nullptr || spool_ == nullptr) return;
  // A failed unlink leaves a file no envelope names: the start-up scan removes it. So
  // does a crash before a deferred unlink ran: COMMIT already dropped the name.
  if (freed->empty()) return;
  if (background_ != nullptr) {
    background_->post([spool = spool_, names = std::move(*freed)] {
      for (const std::string& name : names) spool->remove(name);
    });
  } else {
    for (const std::string& name : *freed) spool_->remove(name);
  }
  freed->clear();
}

MessageQueue::MessageQueue() = default;

MessageQueue::~MessageQueue() {
  if (!impl_) return;
  impl_->shutdown();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

std::expected<std::unique_ptr<MessageQueue>, std::string> MessageQueue::open(const std::string& db_path,
                                                                             const conf::QueueConfig& config,
                                                                             const Spool* spool,
                                                                             BodySyncPool* background,
                                                                             std::chrono::milliseconds outcome_wait) {
  auto store = SqliteStore::open(db_path);
  if (!store) return std::unexpected(store.error());
  // Checkpoints run on their own thread and connection, never inside a commit's 250.
  auto checkpointer = WalCheckpointer::open(db_path);
  if (!checkpointer) return std::unexpected(checkpointer.error());
  if ((*checkpointer)->attach(store->handle()) != SQLITE_OK) {
    return std::unexpected(db_path + ": cannot hand checkpoints to their thread: " + sqlite3_errmsg(store->handle()));
  }
  return start(std::move(*checkpointer), std::make_unique<SqliteStore>(std::move(*store)), config, spool, background,
               outcome_wait);
}

std::expected<std::unique_ptr<MessageQueue>, std::string> MessageQueue::open(std::unique_ptr<QueueStore> store,
                                                                             const conf::QueueConfig& config,
                                                                             const Spool* spool,
                                                                             BodySyncPool* background,
                                                                             std::chrono::milliseconds outcome_wait) {
  return start(nullptr, std::move(store), config, spool, background, outcome_wait);
}

std::expected<std::unique_ptr<MessageQueue>, std::string> MessageQueue::start(
    std::unique_ptr<WalCheckpointer> checkpointer, std::unique_ptr<QueueStore> store, const conf::QueueConfig& config,
    const Spool* spool, BodySyncPool* background, std::chrono::milliseconds outcome_wait) {
  std::unique_ptr<MessageQueue> queue(new MessageQueue());
  queue->impl_ = std::make_unique<Impl>(std::move(checkpointer), std::move(store), config.group_commit_max_batch,
                                        spool, background, outcome_wait);
  try {
    queue->impl_->thread_ = std::thread([impl = queue->impl_.get()] { impl->run_thread(); });
  } catch (const std::system_error& e) {
    return std::unexpected(std::string("cannot start the queue thread: ") + e.what());
  }
  return queue;
}

void MessageQueue::commit(NewMessage message, UnixMillis lease_until, CommitDone done) {
  impl_->post(CommitJob{std::move(message), lease_until, std::move(done), std::nullopt});
}

void MessageQueue::claim_due(UnixMillis now, UnixMillis lease_until, std::size_t limit, ClaimDone done) {
  impl_->post(ClaimJob{now, lease_until, limit, std::move(done), {}});
}

void MessageQueue::record(std::vector<RecipientOutcome> outcomes, RecordDone done) {
  impl_->post(RecordJob{std::move(outcomes), std::move(done), {}});
}

void MessageQueue::record_with_notice(std::vector<RecipientOutcome> outcomes, NewMessage notice,
                                      UnixMillis lease_until, NoticeDone done) {
  impl_->post(NoticeJob{std::move(outcomes), std::move(notice), lease_until, std::move(done), std::nullopt});
}

void MessageQueue::release_parked(std::uint32_t route, UnixMillis now, std::size_t limit, ReleaseDone done) {
  impl_->post(ReleaseJob{route, now, limit, std::move(done), 0});
}

void MessageQueue::renew_leases(UnixMillis until, ReleaseDone done) {
  impl_->post(RenewJob{until, std::move(done), 0});
}

void MessageQueue::next_due(std::move_only_function<void(NextDueResult)> done) {
  impl_->post(NextDueJob{std::move(done), std::nullopt});
}

std::expected<std::size_t, std::error_code> MessageQueue::recover(UnixMillis now) {
  RecoverJob job{now, {}, 0};
  if (impl_->on_queue_thread()) {
    // Called from a callback: no transaction is open there, and waiting for our own
    // thread would never return.
    RecoverResult result = std::unexpected(make_error_code(errc::internal));
    job.done = [&result](RecoverResult r) { result = r; };
    Job wrapped{std::move(job)};
    impl_->execute_alone(wrapped);
    return result;
  }
  std::promise<RecoverResult> promise;
  std::future<RecoverResult> future = promise.get_future();
  job.done = [&promise](RecoverResult r) { promise.set_value(r); };
  impl_->post(std::move(job));
  return future.get();
}

std::optional<MessageId> MessageQueue::reserve_id() {
  std::unique_lock lock(impl_->ids_mutex_);
  auto& ids = impl_->ids_;
  if (ids.next == ids.end && ids.spare_first != ids.spare_end) {
    ids.next = std::exchange(ids.spare_first, 0);
    ids.end = std::exchange(ids.spare_end, 0);
  }
  std::optional<MessageId> id;
  if (ids.next < ids.end) id = ids.next++;
  const bool refill = !ids.reserving && ids.spare_first == ids.spare_end && ids.end - ids.next < id_block / 2;
  ids.reserving = ids.reserving || refill;
  lock.unlock();  // post() may run the callback at once (shutdown), and it locks again
  if (refill) {
    impl_->post(ReserveJob{id_block, [impl = impl_.get()](ReserveResult first) { impl->add_ids(first); }, 0});
  }
  return id;
}

std::error_code MessageQueue::prepare_ids() {
  std::promise<ReserveResult> promise;
  std::future<ReserveResult> future = promise.get_future();
  {
    std::lock_guard lock(impl_->ids_mutex_);
    impl_->ids_.reserving = true;
  }
  impl_->post(ReserveJob{id_block, [&promise](ReserveResult first) { promise.set_value(first); }, 0});
  const ReserveResult first = future.get();
  impl_->add_ids(first);
  return first ? std::error_code{} : first.error();
}

QueueCounters MessageQueue::counters() const {
  return {impl_->transactions_.load(std::memory_order_relaxed),
          impl_->messages_committed_.load(std::memory_order_relaxed),
          impl_->largest_batch_.load(std::memory_order_relaxed),
          impl_->commit_micros_total_.load(std::memory_order_relaxed)};
}

void MessageQueue::shutdown() { impl_->shutdown(); }

}  // namespace queue
