// relay/server/milter_link.hpp — one connection to a content filter, moving bytes only.
//
// Owns: the socket to one filter (TCP with TCP_NODELAY, or a Unix socket, through Asio's
// generic stream protocol), connecting with the filter's connect_timeout, writing a
// Request's bytes and reading packets with relay/milter's PacketReader under a per-read
// timeout. It decides nothing about the protocol: relay/milter::Conversation does. Every
// failure (refused, timeout, closed, framing) comes back as text and leaves the link closed.
// Also: MilterHealth, the per-filter "down until" times shared by every session, so a
// filter that failed is not tried again before its back-off ends.
// Threading: the io_context thread; not thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <chrono>
#include <expected>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "health/deadline.hpp"
#include "relay/milter/packet.hpp"

namespace relay {

/// Filters known to be down, by name: shared by every session and listener.
class MilterHealth {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds back_off{10};

  /// True while `name` is in its back-off after a failure.
  bool down(const std::string& name, Clock::time_point now) const;
  void failed(const std::string& name, std::string why, Clock::time_point now);
  void succeeded(const std::string& name);

  struct State {
    bool up = true;
    std::string last_error;
    Clock::time_point down_until{};
    std::uint64_t failures = 0;
  };
  const std::map<std::string, State>& states() const noexcept { return states_; }

 private:
  std::map<std::string, State> states_;
};

/// The process's one MilterHealth (the io_context thread owns it).
MilterHealth& milter_health();

class MilterLink {
 public:
  explicit MilterLink(const boost::asio::any_io_executor& executor);

  boost::asio::awaitable<std::expected<void, std::string>> connect(const conf::MilterConfig& config);
  boost::asio::awaitable<std::expected<void, std::string>> write(std::string_view bytes,
                                                                  std::chrono::milliseconds timeout);
  /// The next packet, waiting at most `timeout` for it.
  boost::asio::awaitable<std::expected<milter::Packet, std::string>> read(std::chrono::milliseconds timeout);
  void close() noexcept;
  bool is_open() const noexcept { return socket_.is_open(); }

 private:
  boost::asio::generic::stream_protocol::socket socket_;
  health::Deadline deadline_;
  milter::PacketReader reader_;
};

}  // namespace relay
