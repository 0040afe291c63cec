// relay/io_deadline.cpp — a per-operation deadline for socket I/O.
#include "relay/io_deadline.hpp"

namespace relay {

IoDeadline::IoDeadline(boost::asio::ip::tcp::socket& socket)
    : socket_(socket), timer_(socket.get_executor()), generation_(std::make_shared<std::uint64_t>(0)) {}

IoDeadline::~IoDeadline() { ++*generation_; }

void IoDeadline::arm(std::chrono::steady_clock::duration timeout) {
  expired_ = false;
  const std::uint64_t generation = ++*generation_;
  timer_.expires_after(timeout);
  timer_.async_wait([this, generation, current = generation_](boost::system::error_code ec) {
    if (ec || generation != *current) return;  // cancelled, re-armed, or owner gone
    expired_ = true;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
  });
}

void IoDeadline::disarm() {
  ++*generation_;
  timer_.cancel();
}

}  // namespace relay
