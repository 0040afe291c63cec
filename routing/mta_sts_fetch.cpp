// routing/mta_sts_fetch.cpp — one HTTPS GET of a policy file (see the header).
#include "routing/mta_sts_fetch.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <vector>

#include "routing/dns_resolver.hpp"

namespace routing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

StsFetchResult failed(std::string why) { return {StsFetchResult::Status::fetch_error, {}, std::move(why)}; }

// A handshake that failed on the certificate is RFC 8460's sts-webpki-invalid.
StsFetchResult handshake_failed(const std::string& what, SSL* handle) {
  const long verify = SSL_get_verify_result(handle);
  if (verify == X509_V_OK) return failed(what);
  return {StsFetchResult::Status::webpki_invalid, {}, what + " (" + X509_verify_cert_error_string(verify) + ")"};
}

}  // namespace

asio::awaitable<StsFetchResult> fetch_sts_policy(asio::any_io_executor executor, DnsResolver& resolver,
                                                 std::string domain, StsFetchOptions options) {
  const std::string host = "mta-sts." + domain;
  const auto started = std::chrono::steady_clock::now();
  auto addresses = co_await resolver.addresses(host);
  if (!addresses) co_return failed(addresses.error().text);

  boost::system::error_code ec;
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
  context.set_verify_mode(ssl::verify_peer, ec);
  context.set_default_verify_paths(ec);
  if (!options.ca_file.empty()) context.load_verify_file(options.ca_file, ec);
  if (ec) co_return failed("TLS set-up: " + ec.message());

  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  // One deadline for everything below: beast::tcp_stream closes the socket when it passes.
  beast::get_lowest_layer(stream).expires_at(started + options.timeout);
  SSL* handle = stream.native_handle();
  SSL_set_tlsext_host_name(handle, host.c_str());
  SSL_set_hostflags(handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(handle, host.c_str());

  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& address : *addresses) endpoints.emplace_back(address, options.port);
  auto [cec, connected] = co_await beast::get_lowest_layer(stream).async_connect(
      endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return failed(host + ": connect: " + cec.message());
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (hec) co_return handshake_failed(host + ": TLS handshake: " + hec.message(), handle);

  http::request<http::empty_body> request{http::verb::get, "/.well-known/mta-sts.txt", 11};
  request.set(http::field::host, host);
  request.set(http::field::user_agent, "hubrelay");
  request.set(http::field::connection, "close");
  auto [wec, written] = co_await http::async_write(stream, request, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return failed(host + ": sending the request: " + wec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(options.max_size);
  parser.header_limit(16 * 1024);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (rec == http::error::body_limit) co_return failed(host + ": policy larger than " + std::to_string(options.max_size) + " octets");
  if (rec) co_return failed(host + ": reading the answer: " + rec.message());
  auto& response = parser.get();
  // §3.3: only 200 is a policy; redirects are not followed.
  if (response.result_int() != 200)
    co_return failed(host + ": HTTP " + std::to_string(response.result_int()) + " (only 200 is a policy)");
  const std::string_view type = response[http::field::content_type];
  const std::string_view media = type.substr(0, type.find(';'));
  if (media.size() != 10 || !std::equal(media.begin(), media.end(), "text/plain", [](char a, char b) {
        return (a >= 'A' && a <= 'Z' ? static_cast<char>(a - 'A' + 'a') : a) == b;
      }))
    co_return StsFetchResult{StsFetchResult::Status::invalid, {}, host + ": Content-Type is not text/plain"};
  // The peer may close without close_notify (Connection: close): the answer is complete.
  beast::get_lowest_layer(stream).close();
  co_return StsFetchResult{StsFetchResult::Status::ok, std::move(response.body()), {}};
}

}  // namespace routing
