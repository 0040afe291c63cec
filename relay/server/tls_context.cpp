// relay/server/tls_context.cpp — building the listener's TLS context (see tls_context.hpp).
//
// Why these settings: TLS 1.0/1.1 are deprecated (RFC 8996); the TLS 1.2 list keeps
// only ECDHE/DHE key exchange with AES-GCM or ChaCha20-Poly1305 (Mozilla "intermediate",
// which every current Exchange and Postfix speaks); TLS 1.3 suites are OpenSSL's
// defaults, all AEAD. Renegotiation and compression (CRIME) are off, and the server's
// cipher order wins.
#include "relay/server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>

namespace relay {
namespace {

constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string text = ec.message();
  ERR_clear_error();
  return text;
}

}  // namespace

TlsContext::TlsContext() : context_(std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server)) {}

TlsContext::~TlsContext() = default;

std::expected<std::shared_ptr<TlsContext>, std::string> TlsContext::load_server(const std::string& certificate_file,
                                                                               const std::string& key_file) {
  std::shared_ptr<TlsContext> tls(new TlsContext());
  auto& ctx = *tls->context_;
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1) return std::unexpected("cannot set TLS 1.2 minimum");
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                  SSL_OP_SINGLE_DH_USE | SSL_OP_SINGLE_ECDH_USE);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) return std::unexpected("cannot set the TLS 1.2 cipher list");
  // DHE suites need parameters; let OpenSSL pick ones matching the key size.
  SSL_CTX_set_dh_auto(native, 1);
  // Sessions are not resumed across connections: SMTP sessions are long and few per
  // client, and a cache would be per-process state a reload has to care about. Tickets
  // are off for both versions: num_tickets covers TLS 1.3, SSL_OP_NO_TICKET the TLS 1.2
  // (RFC 5077) ticket, which Windows Schannel clients mishandle when it is large.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET);

  boost::system::error_code ec;
  ctx.use_certificate_chain_file(certificate_file, ec);
  if (ec) return std::unexpected("TLS certificate " + certificate_file + ": " + openssl_reason(ec));
  ctx.use_private_key_file(key_file, boost::asio::ssl::context::pem, ec);
  if (ec) return std::unexpected("TLS key " + key_file + ": " + openssl_reason(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return std::unexpected("TLS key " + key_file + " does not match certificate " + certificate_file);
  }
  return tls;
}

}  // namespace relay
