// health/deadline.cpp — the one deadline type for socket I/O (see the header).
#include "health/deadline.hpp"

namespace health {

Deadline::Deadline(const boost::asio::any_io_executor& ex, std::function<void()> on_expire)
    : timer_(ex), state_(std::make_shared<State>()) {
  state_->on_expire = std::move(on_expire);
}

Deadline::Deadline(const boost::asio::any_io_executor& ex, Duration timeout, std::function<void()> on_expire)
    : Deadline(ex, std::move(on_expire)) {
  arm(timeout);
}

Deadline::~Deadline() {
  ++state_->generation;
  state_->on_expire = nullptr;
  timer_.cancel();
}

void Deadline::arm(Duration timeout) {
  state_->expired = false;
  const std::uint64_t generation = ++state_->generation;
  timer_.expires_after(timeout);
  timer_.async_wait([weak = std::weak_ptr<State>(state_), generation](boost::system::error_code ec) {
    const auto state = weak.lock();
    if (ec || !state || generation != state->generation) return;  // cancelled, re-armed, or owner gone
    state->expired = true;
    if (state->on_expire) state->on_expire();
  });
}

void Deadline::disarm() {
  ++state_->generation;
  timer_.cancel();
}

std::function<void()> cancel_operations(boost::asio::ip::tcp::socket& socket) {
  return [&socket] {
    boost::system::error_code ignored;
    socket.cancel(ignored);
  };
}

}  // namespace health
