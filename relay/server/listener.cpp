// relay/server/listener.cpp — the acceptors of one SMTP listener.
#include "relay/server/listener.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "relay/smtp/reply_table.hpp"
#include "relay/server/server_session.hpp"
#include "health/spawn_log.hpp"

namespace relay {
namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(asio::io_context& io, ListenerContext& context, SessionServices& services,
                   std::uint64_t& session_counter)
    : io_(io), context_(&context), services_(&services), session_counter_(session_counter) {}

std::string Listener::bind() {
  for (const auto& address : context_->config.bind) {
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address.address, ec);
    if (ec) return fmt::format("listener {}: bad address {}", context_->config.name, address.address);
    tcp::endpoint endpoint(ip, address.port);
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return fmt::format("listener {}: cannot listen on {}:{}: {}", context_->config.name, address.address,
                         address.port, ec.message());
    spdlog::info("listener={} direction={} listening on {}:{}", context_->config.name,
                 conf::to_string(context_->config.direction), address.address, address.port);
    acceptors_.push_back(std::move(acceptor));
  }
  return {};
}

void Listener::start() {
  for (auto& acceptor : acceptors_) {
    asio::co_spawn(io_, accept_loop(*acceptor),
                   health::log_escaped("listener " + context_->config.name + " accept loop", spdlog::level::critical));
  }
}

void Listener::close() {
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
}

asio::awaitable<void> Listener::accept_loop(tcp::acceptor& acceptor) {
  asio::steady_timer pause(io_);
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // EMFILE/ENFILE/ENOBUFS: back off instead of spinning on a full descriptor table.
      spdlog::warn("listener={} accept failed: {}", context_->config.name, ec.message());
      pause.expires_after(std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (context_->counters.sessions_active >= context_->config.max_connections) {
      ++context_->counters.connections_refused;
      asio::co_spawn(
          io_,
          [socket = std::move(socket), hostname = context_->settings.hostname]() mutable -> asio::awaitable<void> {
            const std::string reply = format_reply(ReplyId::connection_deferred, hostname);
            co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
            boost::system::error_code ignored;
            socket.close(ignored);
          },
          health::log_escaped("connection refusal"));
      continue;
    }
    ++context_->counters.connections_accepted;
    asio::co_spawn(io_, run_server_session(std::move(socket), *context_, *services_, ++session_counter_),
                   health::log_escaped("session"));
  }
}

}  // namespace relay
