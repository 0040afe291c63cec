// relay/server_session.cpp — the coroutine that drives one inbound SMTP connection.
#include "relay/server_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "queue/errc.hpp"
#include "relay/delivery_engine.hpp"
#include "relay/io_deadline.hpp"
#include "relay/queue_bridge.hpp"
#include "relay/throughput_ring.hpp"

namespace relay {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
// Fresh messages are delivered from memory at once; the lease keeps the retry scanner
// away from them meanwhile. Recovery after a crash clears leases.
constexpr queue::UnixMillis fresh_lease_ms = 10 * 60 * 1000;

class Session {
 public:
  Session(tcp::socket socket, ListenerContext& listener, SessionServices& services, std::uint64_t number)
      : socket_(std::move(socket)),
        deadline_(socket_),
        listener_(listener),
        services_(services),
        number_(number),
        id_(fmt::format("{:x}", number)),
        peer_(make_peer(socket_)),
        fsm_(listener.settings, listener.policy, peer_, id_) {}

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> run() {
    services_.sessions.add(number_, &socket_);
    ++listener_.counters.sessions_active;
    spdlog::info("session={} listener={} client={} connected", id_, listener_.config.name, peer_.address);
    const auto started = std::chrono::steady_clock::now();

    std::string out;
    fsm_.start(out);
    std::string input;
    std::size_t input_offset = 0;
    auto buffer = std::make_unique<char[]>(read_chunk);

    while (true) {
      // Feed everything buffered; the FSM stops early only to let us commit.
      while (input_offset < input.size() && !fsm_.closed()) {
        std::string_view pending(input.data() + input_offset, input.size() - input_offset);
        input_offset += fsm_.consume(pending, std::chrono::system_clock::now(), out);
        if (fsm_.state() == ServerState::awaiting_commit) co_await commit(out);
      }
      if (input_offset == input.size()) {
        input.clear();
        input_offset = 0;
      }
      if (!out.empty()) {
        count_rejections(out, listener_.counters.rejections);
        if (!co_await write(out)) break;
        out.clear();
      }
      if (fsm_.closed()) break;
      if (services_.sessions.draining() && fsm_.state() != ServerState::receiving_data) {
        fsm_.shutting_down(out);
        continue;
      }
      if (std::chrono::steady_clock::now() - started > listener_.config.timeouts.session_total) {
        fsm_.timed_out(out);
        continue;
      }

      auto [ec, n] = co_await read_some(buffer.get(), fsm_.read_timeout(listener_.config.timeouts));
      if (deadline_.expired()) {
        fsm_.timed_out(out);
        continue;
      }
      if (ec == asio::error::operation_aborted && services_.sessions.draining()) {
        fsm_.shutting_down(out);
        continue;
      }
      if (ec) {
        if (fsm_.state() == ServerState::receiving_data)
          spdlog::info("session={} client disconnected during DATA; message discarded", id_);
        break;
      }
      input.append(buffer.get(), n);
    }

    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    --listener_.counters.sessions_active;
    services_.sessions.remove(number_);
    spdlog::info("session={} disconnected messages={}", id_, fsm_.messages_accepted());
  }

 private:
  static Peer make_peer(const tcp::socket& socket) {
    Peer peer;
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (!ec) {
      peer.address = endpoint.address().to_string();
      peer.port = endpoint.port();
      if (auto ip = policy::IpAddress::parse(peer.address)) peer.ip = ip->canonical();
    }
    return peer;
  }


  asio::awaitable<void> commit(std::string& out) {
    Transaction tx = fsm_.take_transaction();
    queue::NewMessage message;
    message.direction = listener_.config.direction;
    message.listener = listener_.config.name;
    message.client_address = peer_.address;
    message.helo = std::move(tx.helo);
    message.sender = std::move(tx.sender);
    message.mail_parameters = std::move(tx.mail_parameters);
    message.recipients = std::move(tx.recipients);
    message.body = std::move(tx.body);
    message.received_at = unix_now_ms();
    const std::size_t size = message.body.size();
    const std::size_t recipients = message.recipients.size();

    auto result = co_await commit_message(services_.queue, std::move(message), unix_now_ms() + fresh_lease_ms);
    if (!result) {
      ++listener_.counters.commit_failures;
      const bool full = result.error() == queue::errc::storage_full;
      spdlog::error("session={} queue commit failed: {}", id_, result.error().message());
      fsm_.commit_done(full ? CommitStatus::storage_full : CommitStatus::temporary_failure, {}, out);
      co_return;
    }
    const std::string qid = queue::format_queue_id(result->id);
    ++listener_.counters.messages_received;
    listener_.counters.recipients_received += recipients;
    listener_.counters.bytes_received += size;
    if (services_.throughput)
      services_.throughput->add(listener_.config.direction, ThroughputRing::Flow::in, result->received_at / 1000);
    spdlog::info("session={} qid={} listener={} from=<{}> nrcpt={} size={} queued", id_, qid,
                 listener_.config.name, result->sender, recipients, size);
    fsm_.commit_done(CommitStatus::committed, qid, out);
    services_.delivery.submit(std::move(*result));
  }

  // Arms the session timer so a silent peer cannot hold the session forever.
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(char* data,
                                                                                 std::chrono::seconds timeout) {
    deadline_.arm(timeout);
    auto result = co_await socket_.async_read_some(asio::buffer(data, read_chunk),
                                                   asio::as_tuple(asio::use_awaitable));
    deadline_.disarm();
    co_return result;
  }

  asio::awaitable<bool> write(const std::string& data) {
    deadline_.arm(listener_.config.timeouts.command);
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    deadline_.disarm();
    if (ec) spdlog::info("session={} write failed: {}", id_, ec.message());
    co_return !ec;
  }

  tcp::socket socket_;
  IoDeadline deadline_;
  ListenerContext& listener_;
  SessionServices& services_;
  std::uint64_t number_;
  std::string id_;
  Peer peer_;
  ServerFsm fsm_;

};

}  // namespace

asio::awaitable<void> run_server_session(tcp::socket socket, ListenerContext& listener, SessionServices& services,
                                         std::uint64_t session_number) {
  Session session(std::move(socket), listener, services, session_number);
  co_await session.run();
}

}  // namespace relay
