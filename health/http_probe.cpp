// health/http_probe.cpp — the http and https checks: connect (and for https a verified
// TLS handshake), send one HTTP/1.0 GET, read the response to EOF, let the pure judge
// (health/http_judge.hpp) decide.
//
// Statuses: L6RSP/L6TOUT (TLS), L7STS (status not expected), L7BODY (text missing),
// L7RSP (not HTTP), L7TOUT/L7CLOSE (no complete response), L7OK; SETUP when the trust
// anchors cannot be loaded. HTTPS verifies the chain (system store, or the check's
// ca_file) and the host name (RFC 6125), and sends SNI for names.
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include "conf/limits.hpp"
#include "health/http_judge.hpp"
#include "health/probe.hpp"
#include "health/probe_connect.hpp"

namespace health {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t max_response_bytes = 1 << 20;

/// Sends the request on a connected (for HTTPS: handshaken) stream and judges the
/// response. One body for both schemes so HTTP and HTTPS cannot drift apart.
template <class Stream>
asio::awaitable<ProbeOutcome> http_exchange(Stream& stream, const conf::CheckConfig& check, const Deadline& deadline) {
  const std::string request = http_request(check);
  const auto [wec, written] = co_await asio::async_write(stream, asio::buffer(request), use_tuple);
  if (wec) co_return exchange_failure(deadline, "request", wec);
  std::string response;
  const auto [rec, read] =
      co_await asio::async_read(stream, asio::dynamic_buffer(response, max_response_bytes), use_tuple);
  // TLS servers often close without close_notify; the response is complete either way for
  // HTTP/1.0 (we only judge status and a substring, never trust a length we did not get).
  const bool clean_end = !rec || rec == asio::error::eof || rec == asio::ssl::error::stream_truncated;
  if (deadline.expired() || !clean_end) co_return exchange_failure(deadline, "response", rec);
  HttpVerdict verdict = judge_http(response, check.expect_status, check.body_contains);
  co_return ProbeOutcome{verdict.status, std::move(verdict.detail)};
}

}  // namespace

asio::awaitable<CheckResult> http_probe(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  const Deadline deadline = close_on_timeout(socket, check);
  const auto start = ProbeClock::now();
  if (auto failure = co_await connect_tcp(socket, check, deadline)) co_return result_of(check, start, std::move(*failure));
  co_return result_of(check, start, co_await http_exchange(socket, check, deadline));
}

asio::awaitable<CheckResult> https_probe(const conf::CheckConfig& check) {
  const auto ex = co_await asio::this_coro::executor;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.set_default_verify_paths(ec);
  if (!check.ca_file.empty()) ctx.load_verify_file(check.ca_file, ec);
  if (ec) co_return CheckResult{check.label, ProbeStatus::setup_error, 0, "cannot load trust anchors: " + ec.message()};
  asio::ssl::stream<tcp::socket> stream(ex, ctx);
  stream.set_verify_mode(asio::ssl::verify_peer);
  stream.set_verify_callback(asio::ssl::host_name_verification(check.host));
  if (!conf::is_ip_literal(check.host)) SSL_set_tlsext_host_name(stream.native_handle(), check.host.c_str());
  const Deadline deadline = close_on_timeout(stream.next_layer(), check);
  const auto start = ProbeClock::now();
  if (auto failure = co_await connect_tcp(stream.next_layer(), check, deadline))
    co_return result_of(check, start, std::move(*failure));
  const auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) {
    if (deadline.expired()) co_return result_of(check, start, {ProbeStatus::tls_timeout, {}});
    co_return result_of(check, start, {ProbeStatus::tls_handshake_failed, hec.message()});
  }
  ProbeOutcome outcome = co_await http_exchange(stream, check, deadline);
  if (is_ok(outcome.status)) outcome.detail += " (certificate verified)";
  co_return result_of(check, start, std::move(outcome));
}

}  // namespace health
