// health/smtp_probe.cpp — the smtp check: connect, expect a 220 greeting, send EHLO,
// expect 250, say QUIT.
//
// Statuses: L7BANR (greeting other than 220), L7EHLO (EHLO answered other than 250),
// L7RSP (a line that is not an SMTP reply), L7TOUT/L7CLOSE (no complete reply), L7OK.
// Standards: RFC 5321 §4.2 (reply syntax, multi-line replies), §3.1 (220 greeting),
// §4.1.1.1 (EHLO).
#include <boost/asio/read_until.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "health/probe.hpp"
#include "health/probe_connect.hpp"

namespace health {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct SmtpReply {
  int code = 0;      // 0: I/O error (see ec); -1: not an SMTP reply
  std::string text;  // the last line
  boost::system::error_code ec;
};

/// Reads one (possibly multi-line) SMTP reply.
asio::awaitable<SmtpReply> read_smtp_reply(tcp::socket& socket, std::string& buffer) {
  SmtpReply reply;
  for (int lines = 0; lines < 100; ++lines) {
    const auto [rec, n] =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, 64 * 1024), "\r\n", use_tuple);
    if (rec) {
      reply.ec = rec;
      co_return reply;
    }
    reply.text = buffer.substr(0, n - 2);
    buffer.erase(0, n);
    const std::string& line = reply.text;
    reply.code = -1;
    if (line.size() < 3) co_return reply;
    const int code = std::atoi(line.substr(0, 3).c_str());
    if (line.size() == 3 || line[3] == ' ') {
      reply.code = code;
      co_return reply;
    }
    if (line[3] != '-') co_return reply;
  }
  reply.code = -1;
  co_return reply;
}

/// The failure for a reply that is not `expected`; nullopt when it is.
std::optional<ProbeOutcome> judge(const SmtpReply& reply, int expected, ProbeStatus refused, const Deadline& deadline,
                                  std::string_view what) {
  if (reply.code == expected) return std::nullopt;
  if (reply.code == 0) return exchange_failure(deadline, what, reply.ec);
  if (reply.code < 0) return ProbeOutcome{ProbeStatus::bad_response, std::string(what) + ": " + reply.text};
  return ProbeOutcome{refused, reply.text};
}

}  // namespace

asio::awaitable<CheckResult> smtp_probe(const conf::CheckConfig& check, const std::string& helo) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  const Deadline deadline = close_on_timeout(socket, check);
  const auto start = ProbeClock::now();
  if (auto failure = co_await connect_tcp(socket, check, deadline)) co_return result_of(check, start, std::move(*failure));
  std::string buffer;
  const SmtpReply banner = co_await read_smtp_reply(socket, buffer);
  if (auto failure = judge(banner, 220, ProbeStatus::smtp_bad_banner, deadline, "banner"))
    co_return result_of(check, start, std::move(*failure));
  const std::string ehlo = "EHLO " + helo + "\r\n";
  const auto [wec, written] = co_await asio::async_write(socket, asio::buffer(ehlo), use_tuple);
  if (wec) co_return result_of(check, start, exchange_failure(deadline, "EHLO", wec));
  const SmtpReply reply = co_await read_smtp_reply(socket, buffer);
  if (auto failure = judge(reply, 250, ProbeStatus::smtp_ehlo_refused, deadline, "EHLO"))
    co_return result_of(check, start, std::move(*failure));
  CheckResult r = result_of(check, start, {ProbeStatus::protocol_ok, "220 banner, 250 to EHLO"});
  static const std::string quit = "QUIT\r\n";
  co_await asio::async_write(socket, asio::buffer(quit), use_tuple);  // courtesy; result irrelevant
  co_return r;
}

}  // namespace health
