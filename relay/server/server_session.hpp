// relay/server/server_session.hpp — the coroutine that drives one inbound SMTP connection.
//
// Owns: the socket, the read buffer and the per-read timer of one session. It moves
// bytes between the socket and relay::ServerFsm, performs the FSM's one effect (commit
// the finished message to the queue, then hand it to delivery), and makes no protocol
// decision of its own. Replies are written only when the FSM has consumed every
// buffered byte (RFC 2920: a pipelined group gets its replies together).
// Threading: runs on the io_context thread. Errors: I/O failures end the session;
// nothing half-received is ever committed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "relay/server/listener_context.hpp"

namespace relay {

boost::asio::awaitable<void> run_server_session(boost::asio::ip::tcp::socket socket, ListenerContext& listener,
                                                SessionServices& services, std::uint64_t session_number);

}  // namespace relay
