// relay/client/client_stream.cpp — plain or TLS byte stream for the SMTP client.
//
// Owns: building the OpenSSL client context for one connection (TLS >= 1.2, verify
// mode with chain + host name, optional client certificate), SNI for host names, the
// handshake, and routing reads/writes to the TCP socket or the TLS layer.
// Never: decides the TLS policy (SmtpClient does) or throws: every failure is an
// error_code plus text. Threading: the connection's executor only.
// Standards: RFC 3207, RFC 6066 §3 (SNI), RFC 6125 (name checks), RFC 8996, RFC 7672 §3 (DANE),
// RFC 8461 §4.2 (MTA-STS certificate checks).
#include "relay/client/client_stream.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace relay {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

ClientStream::ClientStream(asio::any_io_executor executor) : socket_(std::move(executor)) {}

namespace {

// RFC 7672 §3.2: the reference identifiers for DANE-TA(2) are the MX host name (also
// OpenSSL's DANE base domain) and the next-hop domain; no partial wildcards. §3.1: a
// DANE-EE(3) match needs no name at all, hence DANE_FLAG_NO_DANE_EE_NAMECHECKS.
// Returns "" when at least one record was taken.
std::string enable_dane(SSL* ssl, const TlsClientOptions& options) {
  if (SSL_dane_enable(ssl, options.server_name.c_str()) <= 0) return "cannot enable DANE for " + options.server_name;
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  for (const auto& name : options.dane_names)
    if (name != options.server_name) SSL_add1_host(ssl, name.c_str());
  int taken = 0;
  for (const auto& record : options.dane_records) {
    if (SSL_dane_tlsa_add(ssl, record.usage, record.selector, record.matching, record.data.data(),
                          record.data.size()) > 0)
      ++taken;
  }
  return taken > 0 ? "" : "no TLSA record OpenSSL can use";
}

routing::CertificateProblem certificate_problem_of(long verify_result) noexcept {
  switch (verify_result) {
    case X509_V_OK: return routing::CertificateProblem::none;
    case X509_V_ERR_HOSTNAME_MISMATCH: return routing::CertificateProblem::host_mismatch;
    case X509_V_ERR_CERT_HAS_EXPIRED: return routing::CertificateProblem::expired;
    default: return routing::CertificateProblem::untrusted;
  }
}

}  // namespace

asio::awaitable<boost::system::error_code> ClientStream::start_tls(const TlsClientOptions& options,
                                                                   std::string& error) {
  boost::system::error_code ec;
  context_ = std::make_unique<ssl::context>(ssl::context::tls_client);
  // TLS 1.2 is the floor (RFC 8996 retired 1.0/1.1).
  context_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                        ec);
  const bool dane = !options.dane_records.empty();
  if (dane) {
    // Only the TLSA records are trusted: no CA store is loaded, so PKIX cannot vouch
    // for a certificate the records do not match.
    context_->set_verify_mode(ssl::verify_peer, ec);
    if (!ec && SSL_CTX_dane_enable(context_->native_handle()) <= 0) ec = asio::error::invalid_argument;
  } else if (options.webpki) {
    // The system store and the administrator's extra anchors together; under testing
    // OpenSSL still verifies and records the result, it only does not abort on it.
    context_->set_verify_mode(options.webpki_enforce ? ssl::verify_peer : ssl::verify_none, ec);
    if (!ec) context_->set_default_verify_paths(ec);
    if (!ec && !options.ca_file.empty()) context_->load_verify_file(options.ca_file, ec);
  } else if (options.verify) {
    context_->set_verify_mode(ssl::verify_peer, ec);
    if (!ec) {
      if (options.ca_file.empty()) context_->set_default_verify_paths(ec);
      else context_->load_verify_file(options.ca_file, ec);
    }
    if (!ec) context_->set_verify_callback(ssl::host_name_verification(options.server_name), ec);
  } else {
    // Opportunistic / required without verification: encryption against passive
    // listeners only (RFC 7435), so an untrusted certificate is accepted.
    context_->set_verify_mode(ssl::verify_none, ec);
  }
  if (!ec && !options.cert_file.empty()) {
    context_->use_certificate_chain_file(options.cert_file, ec);
    if (!ec) context_->use_private_key_file(options.key_file, ssl::context::pem, ec);
  }
  if (ec) {
    error = "TLS set-up: " + ec.message();
    co_return ec;
  }
  tls_.emplace(socket_, *context_);
  boost::system::error_code literal_ec;
  (void)asio::ip::make_address(options.server_name, literal_ec);
  if (literal_ec && !options.server_name.empty()) {
    // SNI carries names only, never IP literals (RFC 6066 §3).
    SSL_set_tlsext_host_name(tls_->native_handle(), options.server_name.c_str());
  }
  if (options.webpki && !dane) {
    SSL_set_hostflags(tls_->native_handle(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    SSL_set1_host(tls_->native_handle(), options.server_name.c_str());
  }
  if (dane) {
    if (const auto why = enable_dane(tls_->native_handle(), options); !why.empty()) {
      error = "DANE set-up: " + why;
      co_return asio::error::invalid_argument;
    }
  }
  auto [hec] = co_await tls_->async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
  if (hec) {
    error = "TLS handshake: " + hec.message();
    if (const long verify = SSL_get_verify_result(tls_->native_handle());
        (options.verify || dane || options.webpki) && verify != X509_V_OK)
      error += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
  }
  if (options.verify || dane || options.webpki) {
    const long verify = SSL_get_verify_result(tls_->native_handle());
    certificate_problem_ = certificate_problem_of(verify);
    webpki_verified_ = !hec && options.webpki && !dane && verify == X509_V_OK;
  }
  dane_authenticated_ = !hec && dane && SSL_get0_dane_authority(tls_->native_handle(), nullptr, nullptr) >= 0;
  co_return hec;
}

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> ClientStream::read_some(asio::mutable_buffer buffer) {
  if (tls_) co_return co_await tls_->async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
  co_return co_await socket_.async_read_some(buffer, asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> ClientStream::write(
    const std::vector<asio::const_buffer>& buffers) {
  if (tls_) co_return co_await asio::async_write(*tls_, buffers, asio::as_tuple(asio::use_awaitable));
  co_return co_await asio::async_write(socket_, buffers, asio::as_tuple(asio::use_awaitable));
}

void ClientStream::close() {
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

TlsUsed ClientStream::tls_used() const {
  if (!tls_) return {};
  // native_handle() is not const in Asio; reading the session's names changes nothing.
  SSL* ssl = const_cast<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>&>(*tls_).native_handle();
  TlsUsed used{TlsKind::none, SSL_get_version(ssl), {}};
  if (const char* cipher = SSL_get_cipher_name(ssl)) used.cipher = cipher;
  return used;
}

}  // namespace relay
