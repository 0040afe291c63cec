// health/deadline.hpp — the one deadline type for socket I/O (Boost 1.81 has no cancel_after).
//
// Owns: one steady_timer and what to do when it fires. arm() before an await, disarm()
// after it; if the deadline passes first, `on_expire` runs (it cancels or closes the
// socket, which completes the pending operation with an error) and expired() is true
// until the next arm(). The probes use the armed-at-once form over a whole exchange; the
// SMTP server session and client re-arm one Deadline per command.
// A generation counter makes a late timer handler harmless: it acts only while the
// operation it was armed for is still pending, and never after destruction.
// Lives in health/ because the probes are the lowest layer that does socket I/O; relay's
// session and client use the same type (relay may depend on health, never the reverse).
// Threading: the executor it was made with; not thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace health {

class Deadline {
 public:
  using Duration = std::chrono::steady_clock::duration;

  /// Unarmed; arm(timeout) calls `on_expire` when a timeout passes.
  Deadline(const boost::asio::any_io_executor& ex, std::function<void()> on_expire);
  /// Armed at once: calls `on_expire` once if `timeout` passes while this object is alive.
  Deadline(const boost::asio::any_io_executor& ex, Duration timeout, std::function<void()> on_expire);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(Duration timeout);
  void disarm();
  bool expired() const noexcept { return state_->expired; }

 private:
  struct State {
    std::uint64_t generation = 0;
    bool expired = false;
    std::function<void()> on_expire;
  };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

/// The usual `on_expire`: cancel every pending operation on `socket` (it stays open, so a
/// session can still say 421 or a client QUIT).
std::function<void()> cancel_operations(boost::asio::ip::tcp::socket& socket);

}  // namespace health
