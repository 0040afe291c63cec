// relay/dkim/signing_pool.hpp — the threads that sign finished messages.
//
// Owns: N threads (fixed at construction) and their FIFO of signing jobs. An RSA-2048
// signature costs about a millisecond of CPU; done on the I/O thread it would stall every
// other session on it, so a session hands the finished message's header section and the
// body hashes it computed while the data streamed in (never the body) to this pool and
// awaits the DKIM-Signature fields to prepend. sign_message() is the awaitable interface:
// the job runs on a pool thread and the result is posted back to the awaiting
// coroutine's executor, so no pool thread touches session state.
// Shutdown: the destructor (or shutdown()) runs what is queued, then joins. After shutdown
// began, a job completes at once on the calling thread with a failure ("signing pool
// closed"): the session then commits the message unsigned rather than not at all.
// Never: throws after construction, blocks the submitting thread beyond a mutex.
// Pattern: queue/body_sync_pool (the fdatasync threads); the threads and their queue are an
// asio::thread_pool here.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "relay/dkim/key_ring.hpp"

namespace relay::dkim {

/// One message to sign: the signer of the configuration generation the session belongs
/// to (kept alive by the job), the header section, the body hashes, who sent it, when.
struct SignJob {
  SignerPtr signer;
  std::string header_section;
  BodyHashes body;
  conf::Direction direction = conf::Direction::outbound;
  std::int64_t now = 0;  // seconds since the epoch: t=
};

class SigningPool {
 public:
  using Done = std::move_only_function<void(Signer::Result)>;

  /// Starts `threads` threads (at least one).
  explicit SigningPool(std::size_t threads);
  ~SigningPool();
  SigningPool(const SigningPool&) = delete;
  SigningPool& operator=(const SigningPool&) = delete;

  /// Queues `job`; `done(result)` runs on a pool thread once it is signed.
  void submit(SignJob job, Done done);
  /// Stops accepting work, runs what is queued, joins. Idempotent; never from a callback.
  void shutdown();

 private:
  std::mutex mutex_;  // orders submit() against shutdown(): nothing is posted after the join
  bool stopping_ = false;
  boost::asio::thread_pool threads_;
};

/// Signs `job` on `pool`; resumes on the awaiting coroutine's executor with the result.
boost::asio::awaitable<Signer::Result> sign_message(SigningPool& pool, SignJob job);

}  // namespace relay::dkim
