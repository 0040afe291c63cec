// routing/https_request.cpp — one verified HTTPS exchange with Beast (see the header).
#include "routing/https_request.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <vector>

#include "routing/dns_resolver.hpp"

namespace routing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

HttpsAnswer failed(std::string why) { return {HttpsAnswer::Status::failed, 0, {}, {}, std::move(why)}; }

// A handshake that failed on the certificate says so (RFC 8460 sts-webpki-invalid for
// the policy fetch).
HttpsAnswer handshake_failed(const std::string& what, SSL* handle) {
  const long verify = SSL_get_verify_result(handle);
  if (verify == X509_V_OK) return failed(what);
  return {HttpsAnswer::Status::certificate, 0, {}, {}, what + " (" + X509_verify_cert_error_string(verify) + ")"};
}

}  // namespace

asio::awaitable<HttpsAnswer> https_request(asio::any_io_executor executor, DnsResolver& resolver,
                                           HttpsRequest request, HttpsLimits limits) {
  const std::string& host = request.host;
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
  if (!limits.ca_file.empty()) context.load_verify_file(limits.ca_file, ec);
  if (ec) co_return failed("TLS set-up: " + ec.message());

  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  // One deadline for everything below: beast::tcp_stream closes the socket when it passes.
  beast::get_lowest_layer(stream).expires_at(started + limits.timeout);
  SSL* handle = stream.native_handle();
  SSL_set_tlsext_host_name(handle, host.c_str());
  SSL_set_hostflags(handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  SSL_set1_host(handle, host.c_str());

  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& address : *addresses) endpoints.emplace_back(address, request.port);
  auto [cec, connected] = co_await beast::get_lowest_layer(stream).async_connect(
      endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return failed(host + ": connect: " + cec.message());
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (hec) co_return handshake_failed(host + ": TLS handshake: " + hec.message(), handle);

  http::request<http::string_body> outgoing{request.post ? http::verb::post : http::verb::get, request.target, 11};
  outgoing.set(http::field::host, request.port == 443 ? host : host + ":" + std::to_string(request.port));
  outgoing.set(http::field::user_agent, "hubrelay");
  outgoing.set(http::field::connection, "close");
  if (request.post) {
    outgoing.set(http::field::content_type, request.content_type);
    outgoing.body() = std::move(request.body);
    outgoing.prepare_payload();
  }
  auto [wec, written] = co_await http::async_write(stream, outgoing, asio::as_tuple(asio::use_awaitable));
  if (wec) co_return failed(host + ": sending the request: " + wec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(limits.max_size);
  parser.header_limit(16 * 1024);
  auto [rec, read] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (rec == http::error::body_limit)
    co_return failed(host + ": answer larger than " + std::to_string(limits.max_size) + " octets");
  if (rec) co_return failed(host + ": reading the answer: " + rec.message());
  auto& response = parser.get();
  // The peer may close without close_notify (Connection: close): the answer is complete.
  beast::get_lowest_layer(stream).close();
  co_return HttpsAnswer{HttpsAnswer::Status::ok, response.result_int(),
                        std::string(response[http::field::content_type]), std::move(response.body()), {}};
}

}  // namespace routing
