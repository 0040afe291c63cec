// relay/io_deadline.hpp — a per-operation deadline for socket I/O (Boost 1.81 has no
// cancel_after).
//
// Owns: one steady_timer. arm() before an await, disarm() after it; if the deadline
// passes first, the socket's pending operations are cancelled and expired() is true.
// A shared generation counter makes a late timer handler harmless: it acts only while
// the operation it was armed for is still pending, and never after destruction.
// Threading: same executor as the socket; not thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace relay {

class IoDeadline {
 public:
  explicit IoDeadline(boost::asio::ip::tcp::socket& socket);
  ~IoDeadline();
  IoDeadline(const IoDeadline&) = delete;
  IoDeadline& operator=(const IoDeadline&) = delete;

  void arm(std::chrono::steady_clock::duration timeout);
  void disarm();
  bool expired() const noexcept { return expired_; }

 private:
  boost::asio::ip::tcp::socket& socket_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<std::uint64_t> generation_;
  bool expired_ = false;
};

}  // namespace relay
