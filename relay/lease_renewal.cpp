// relay/lease_renewal.cpp — the lease renewal timer (see the header).
#include "relay/lease_renewal.hpp"

#include <algorithm>
#include <chrono>
#include <spdlog/spdlog.h>

#include "relay/delivery/queue_bridge.hpp"

namespace relay {

LeaseRenewal::LeaseRenewal(boost::asio::io_context& io, queue::MessageQueue& queue,
                           std::function<conf::ConfigPtr()> config)
    : timer_(io), queue_(queue), config_(std::move(config)) {}

void LeaseRenewal::start() { schedule(); }

void LeaseRenewal::stop() { timer_.cancel(); }

void LeaseRenewal::schedule() {
  const queue::UnixMillis lease = queue::lease_time(config_()->queue, 0);
  timer_.expires_after(std::chrono::milliseconds(std::max<queue::UnixMillis>(lease / 3, 1000)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    queue_.renew_leases(unix_now_ms() + queue::lease_time(config_()->queue, 0),
                        [](std::expected<std::size_t, std::error_code> renewed) {
                          if (!renewed) spdlog::warn("queue: lease renewal failed: {}", renewed.error().message());
                        });
    schedule();
  });
}

}  // namespace relay
