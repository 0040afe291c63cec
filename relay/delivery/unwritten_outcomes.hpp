// relay/delivery/unwritten_outcomes.hpp — delivery outcomes the queue could not write yet.
//
// Owns: which recipients have an outcome the engine holds in memory because writing it
// failed (disk full, I/O error, busy), when each such write is tried again (1 s after its
// first failure, doubling to 30 s), and the outage they make up: one log line when the
// first write is held, one when the last held write is done, not one per retry. While an
// outcome is held the recipient's lease keeps it from being delivered again; the engine
// asks holds() before delivering a claimed recipient, so a lease that ends during a long
// outage cannot make it deliver a recipient whose result is only in memory.
// Never: performs I/O, reads a clock or logs — the engine does, from what this returns.
// Threading: the engine's io_context thread only. Errors: none.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "queue/message.hpp"

namespace relay {

/// How long a held outcome waits before its write is tried again after `failures` failed
/// attempts (>= 1): 1 s, 2 s, 4 s … capped at 30 s.
std::chrono::milliseconds unwritten_retry_delay(std::uint32_t failures) noexcept;

class UnwrittenOutcomes {
 public:
  /// The first write of `outcomes` failed: they are held until a retry writes them.
  /// @return true when this starts an outage (nothing was held before): log it once.
  bool hold(std::span<const queue::RecipientOutcome> outcomes);
  /// A retry of held outcomes failed again (counted, not logged).
  void failed_again() noexcept {
    ++failures_;
    ++failures_total_;
  }
  /// Held `outcomes` were written (or dropped at shutdown, `written` false).
  /// @return when this was the last held write and it was written: the outage that
  /// ended, to log once; otherwise nothing.
  struct Outage {
    std::uint64_t writes = 0;    // writes held during the outage
    std::uint64_t failures = 0;  // failed attempts, first ones included
  };
  std::optional<Outage> release(std::span<const queue::RecipientOutcome> outcomes, bool written);

  /// Whether the outcome of recipient `index` of message `id` is held.
  bool holds(queue::MessageId id, std::int32_t index) const { return held_.contains({id, index}); }
  bool empty() const noexcept { return writes_ == 0; }
  /// Failed outcome writes since start (every attempt), for the metrics.
  std::uint64_t failures_total() const noexcept { return failures_total_; }
  /// Queue ids of the messages with a held outcome, for the shutdown warning.
  std::vector<std::string> queue_ids() const;

 private:
  std::set<std::pair<queue::MessageId, std::int32_t>> held_;
  std::uint64_t writes_ = 0;         // held writes now
  std::uint64_t outage_writes_ = 0;  // writes held since the outage began
  std::uint64_t failures_ = 0;       // failed attempts since the outage began
  std::uint64_t failures_total_ = 0;
};

}  // namespace relay
