// health/probe_connect.hpp — what the TCP-based probes (tcp, http, https, smtp) share.
//
// Owns: close_on_timeout (a health::Deadline over a probe's whole exchange: on expiry it
// closes the sockets, which completes the pending operation with an error the probe then reports
// as a timeout of the layer it was in), connect_tcp (resolve, bind the source, try every
// address) and the mapping of an exchange's I/O error to a status.
// Never: judges a protocol answer (each probe and its pure judge do).
// Threading: the probe's executor. Implemented in health/tcp_probe.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/config.hpp"
#include "health/deadline.hpp"
#include "health/probe_status.hpp"
#include "health/snapshot.hpp"

namespace health {

using ProbeClock = std::chrono::steady_clock;
inline constexpr auto use_tuple = boost::asio::as_tuple(boost::asio::use_awaitable);

/// A Deadline over the whole of `check` that closes `socket` when it expires.
Deadline close_on_timeout(boost::asio::ip::tcp::socket& socket, const conf::CheckConfig& check);

std::int64_t ms_since(ProbeClock::time_point start);

/// What a probe step found: the status and the facts beside it.
struct ProbeOutcome {
  ProbeStatus status;
  std::string detail;
};

/// The result of `check`, begun at `start`, that found `outcome`.
CheckResult result_of(const conf::CheckConfig& check, ProbeClock::time_point start, ProbeOutcome outcome);

/// Resolves `check.host` and connects (trying every address), binding `check.source`
/// when given. nullopt once connected. `deadline` is the caller's and closes `socket`;
/// once it has expired nothing new is started (it may fire while the resolver runs,
/// when there is no socket yet for it to close).
boost::asio::awaitable<std::optional<ProbeOutcome>> connect_tcp(boost::asio::ip::tcp::socket& socket,
                                                                const conf::CheckConfig& check,
                                                                const Deadline& deadline);

/// An I/O error in the exchange after connecting: reply_timeout when the deadline
/// closed the socket, connection_lost otherwise. `what`: "banner", "EHLO", "request".
ProbeOutcome exchange_failure(const Deadline& deadline, std::string_view what, const boost::system::error_code& ec);

}  // namespace health
