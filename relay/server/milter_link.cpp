// relay/server/milter_link.cpp — one connection to a content filter (see milter_link.hpp).
#include "relay/server/milter_link.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace relay {
namespace asio = boost::asio;

bool MilterHealth::down(const std::string& name, Clock::time_point now) const {
  const auto it = states_.find(name);
  return it != states_.end() && !it->second.up && now < it->second.down_until;
}

void MilterHealth::failed(const std::string& name, std::string why, Clock::time_point now) {
  State& state = states_[name];
  state.up = false;
  state.last_error = std::move(why);
  state.down_until = now + back_off;
  ++state.failures;
}

void MilterHealth::succeeded(const std::string& name) {
  State& state = states_[name];
  state.up = true;
  state.down_until = {};
}

MilterHealth& milter_health() {
  static MilterHealth health;
  return health;
}

MilterLink::MilterLink(const asio::any_io_executor& executor)
    : socket_(executor), deadline_(executor, [this] {
        boost::system::error_code ignored;
        socket_.cancel(ignored);
      }) {}

void MilterLink::close() noexcept {
  boost::system::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  reader_.clear();
}

asio::awaitable<std::expected<void, std::string>> MilterLink::connect(const conf::MilterConfig& config) {
  close();
  reader_ = milter::PacketReader();
  deadline_.arm(config.connect_timeout);
  boost::system::error_code ec;
  if (!config.socket_path.empty()) {
    const asio::local::stream_protocol::endpoint endpoint(config.socket_path);
    std::tie(ec) = co_await socket_.async_connect(asio::generic::stream_protocol::endpoint(endpoint),
                                                  asio::as_tuple(asio::use_awaitable));
  } else {
    asio::ip::tcp::resolver resolver(socket_.get_executor());
    auto [resolve_ec, results] = co_await resolver.async_resolve(config.host, std::to_string(config.port),
                                                                 asio::as_tuple(asio::use_awaitable));
    ec = resolve_ec;
    if (!ec) {
      ec = asio::error::host_not_found;
      for (const auto& entry : results) {
        if (deadline_.expired()) break;
        boost::system::error_code ignored;
        socket_.close(ignored);
        std::tie(ec) = co_await socket_.async_connect(asio::generic::stream_protocol::endpoint(entry.endpoint()),
                                                      asio::as_tuple(asio::use_awaitable));
        if (!ec) {
          // Milter is request and reply in small packets: without TCP_NODELAY, Nagle
          // holds a packet written behind an unacknowledged one until the filter's
          // delayed ACK (about 40 ms a stage on Linux).
          socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
          break;
        }
      }
    }
  }
  deadline_.disarm();
  if (ec) {
    close();
    co_return std::unexpected(std::string(deadline_.expired() ? "connect timed out" : "connect: " + ec.message()));
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<std::expected<void, std::string>> MilterLink::write(std::string_view bytes,
                                                                     std::chrono::milliseconds timeout) {
  if (bytes.empty()) co_return std::expected<void, std::string>{};
  deadline_.arm(timeout);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                                            asio::as_tuple(asio::use_awaitable));
  deadline_.disarm();
  if (ec) {
    close();
    co_return std::unexpected(std::string(deadline_.expired() ? "write timed out" : "write: " + ec.message()));
  }
  co_return std::expected<void, std::string>{};
}

asio::awaitable<std::expected<milter::Packet, std::string>> MilterLink::read(std::chrono::milliseconds timeout) {
  std::string buffer;  // not zero-filled (once per reply): a read overwrites the octets it returns
  buffer.resize_and_overwrite(16 * 1024, [](char*, std::size_t n) { return n; });
  deadline_.arm(timeout);
  for (;;) {
    auto next = reader_.next();
    if (!next) {
      deadline_.disarm();
      close();
      co_return std::unexpected(std::string(milter::to_string(next.error())));
    }
    if (*next) {
      deadline_.disarm();
      co_return std::move(**next);
    }
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (ec) {
      deadline_.disarm();
      const bool expired = deadline_.expired();
      close();
      co_return std::unexpected(std::string(expired                   ? "reply timed out"
                                            : ec == asio::error::eof ? "filter closed the connection"
                                                                     : "read: " + ec.message()));
    }
    reader_.feed(std::string_view(buffer.data(), n));
  }
}

}  // namespace relay
