// health/tcp_probe.cpp — the tcp check (connect, nothing sent) and the connect step every
// TCP-based probe shares (health/probe_connect.hpp).
//
// A connect that the deadline cut short is a timeout of the layer it was in: resolving
// (RESTOUT) or connecting (L4TOUT); any other error is L4CON with the OS error as detail.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/this_coro.hpp>

#include "health/probe.hpp"
#include "health/probe_connect.hpp"

namespace health {
namespace asio = boost::asio;
using asio::ip::tcp;

Deadline close_on_timeout(tcp::socket& socket, const conf::CheckConfig& check) {
  return Deadline(socket.get_executor(), check.timeout, [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  });
}

CheckResult result_of(const conf::CheckConfig& check, ProbeClock::time_point start, ProbeOutcome outcome) {
  return CheckResult{check.label, outcome.status, ms_since(start), std::move(outcome.detail)};
}

std::int64_t ms_since(ProbeClock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(ProbeClock::now() - start).count();
}

ProbeOutcome exchange_failure(const Deadline& deadline, std::string_view what, const boost::system::error_code& ec) {
  if (deadline.expired()) return {ProbeStatus::reply_timeout, std::string(what)};
  return {ProbeStatus::connection_lost, std::string(what) + ": " + ec.message()};
}

asio::awaitable<std::optional<ProbeOutcome>> connect_tcp(tcp::socket& socket, const conf::CheckConfig& check,
                                                         const Deadline& deadline) {
  tcp::resolver resolver(socket.get_executor());
  const Deadline resolving(socket.get_executor(), check.timeout, [&resolver] { resolver.cancel(); });
  const auto [rec, results] = co_await resolver.async_resolve(check.host, std::to_string(check.port), use_tuple);
  if (deadline.expired() || resolving.expired()) co_return ProbeOutcome{ProbeStatus::resolve_timeout, check.host};
  if (rec) co_return ProbeOutcome{ProbeStatus::resolve_failed, check.host + ": " + rec.message()};
  ProbeOutcome last{ProbeStatus::resolve_failed, "no address for " + check.host};
  for (const auto& entry : results) {
    if (deadline.expired()) co_return ProbeOutcome{ProbeStatus::connect_timeout, {}};
    const tcp::endpoint remote = entry.endpoint();
    boost::system::error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(remote.protocol(), ec);
    if (ec) {
      last = {ProbeStatus::socket_error, "socket: " + ec.message()};
      continue;
    }
    if (!check.source.empty()) {
      const auto source = asio::ip::make_address(check.source, ec);
      if (!ec) socket.bind(tcp::endpoint(source, 0), ec);
      if (ec) co_return ProbeOutcome{ProbeStatus::socket_error, "cannot bind source " + check.source + ": " + ec.message()};
    }
    const auto [cec] = co_await socket.async_connect(remote, use_tuple);
    if (!cec) co_return std::nullopt;
    const std::string where = remote.address().to_string() + ":" + std::to_string(remote.port());
    if (deadline.expired()) co_return ProbeOutcome{ProbeStatus::connect_timeout, where};
    last = {ProbeStatus::connect_failed, where + ": " + cec.message()};
    if (!socket.is_open()) break;
  }
  co_return last;
}

asio::awaitable<CheckResult> tcp_probe(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  const Deadline deadline = close_on_timeout(socket, check);
  const auto start = ProbeClock::now();
  auto failure = co_await connect_tcp(socket, check, deadline);
  co_return result_of(check, start, failure ? std::move(*failure) : ProbeOutcome{ProbeStatus::connect_ok, {}});
}

}  // namespace health
