// relay/server/listener.hpp — the acceptors of one SMTP listener.
//
// Owns: one TCP acceptor per bind address of a listener, the accept loops, and the
// connection cap (over max_connections a client gets 421 4.3.2 at once instead of a
// session). Accept errors such as EMFILE pause the loop briefly instead of spinning.
// Threading: io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "relay/server/listener_context.hpp"

namespace relay {

class Listener {
 public:
  Listener(boost::asio::io_context& io, ListenerContext& context, SessionServices& services,
           std::uint64_t& session_counter);

  /// Binds every address; returns an error text for the first that fails (start-up).
  std::string bind();
  void start();
  void close();
  /// Configuration reload: sessions accepted from now on use `context` and `services`;
  /// sessions already running keep the ones they started with.
  void retarget(ListenerContext& context, SessionServices& services) noexcept {
    context_ = &context;
    services_ = &services;
  }
  const ListenerContext& context() const noexcept { return *context_; }

 private:
  boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor);

  boost::asio::io_context& io_;
  ListenerContext* context_;   // pointers, not references: retarget() swaps them on reload
  SessionServices* services_;
  std::uint64_t& session_counter_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
};

}  // namespace relay
