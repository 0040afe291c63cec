// routing/https_request.hpp — one HTTPS request to a named host, verified, bounded.
//
// Owns: what the MTA-STS policy fetch (RFC 8461 §3.3) and the upload of TLS reports
// (RFC 8460 §5.3.1) share: the host's addresses through the relay's resolver, TCP to the
// port, TLS with SNI and a certificate that must chain to the system store (plus an
// extra CA file) and name the host, one HTTP/1.1 exchange (Boost.Beast) with
// "Connection: close", a limit on the answer's body and one time limit for everything.
// The caller judges the answer (status, type); nothing here follows a redirect.
// Never: follows redirects, retries, caches, throws.
// Threading: the caller's executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace routing {

class DnsResolver;

struct HttpsRequest {
  std::string host;           // DNS name: the address lookup, SNI, certificate name, Host
  std::uint16_t port = 443;
  std::string target = "/";   // path and query
  bool post = false;          // POST `body` (of `content_type`); else GET
  std::string content_type;
  std::string body;
};

struct HttpsLimits {
  std::string ca_file;                     // extra trust anchors (PEM); empty: system store only
  std::chrono::seconds timeout{10};        // the whole exchange, connect to last byte
  std::size_t max_size = 64 * 1024;        // largest answer body read
};

struct HttpsAnswer {
  /// certificate: the TLS handshake failed on the host's certificate (why says which
  /// check); failed: anything else that kept the answer away.
  enum class Status : std::uint8_t { ok, failed, certificate };
  Status status = Status::failed;
  unsigned code = 0;           // ok: the HTTP status
  std::string content_type;    // ok: the Content-Type field
  std::string body;            // ok
  std::string why;             // otherwise: "host: what failed"
};

boost::asio::awaitable<HttpsAnswer> https_request(boost::asio::any_io_executor executor, DnsResolver& resolver,
                                                  HttpsRequest request, HttpsLimits limits);

}  // namespace routing
