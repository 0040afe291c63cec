// relay/client/client_stream.hpp — the byte stream of one SMTP client connection: plain TCP,
// or TLS after STARTTLS (RFC 3207).
//
// Owns: the TCP socket, the TLS context and the OpenSSL stream layered on that socket
// once start_tls() succeeded. read_some()/write() go to whichever layer is current, so
// the SMTP dialogue code (SmtpClient::send) never knows whether TLS is on.
// Policy (none/opportunistic/required/verify/dane/mta-sts) is decided by SmtpClient; this
// file only builds the context: verify mode checks the chain against a CA file or the
// system store and the peer name (RFC 6125 via OpenSSL's X509_check_host / check_ip); DANE
// mode matches the chain against TLSA records with OpenSSL's DANE support (RFC 7672);
// MTA-STS (WebPKI) mode checks the chain against the system store plus an extra CA file
// and the MX host name (RFC 8461 §4.2), enforcing or only recording the result.
// Errors: error_code results, never exceptions (context set-up errors are caught and
// returned as text). Timeouts: the caller's health::Deadline cancels the socket, which aborts
// TLS operations too, because they are composed on it.
// Threading: one coroutine at a time on the connection's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "relay/tls_used.hpp"
#include "routing/dns_message.hpp"
#include "routing/mta_sts_policy.hpp"

namespace relay {

struct TlsClientOptions {
  bool verify = false;        // chain + name
  std::string server_name;    // SNI and the name to verify (the configured host name)
  std::string ca_file;        // verify: empty → system default store
  std::string cert_file;      // client certificate chain (PEM), optional
  std::string key_file;
  /// DANE (RFC 7672 §3): non-empty means the certificate must match one of these usable
  /// TLSA records, and nothing else is trusted. `server_name` is then the MX host name
  /// (SNI, and the name a DANE-TA(2) certificate must carry, as may `dane_names`).
  std::vector<routing::TlsaRecord> dane_records;
  std::vector<std::string> dane_names;  // further names for DANE-TA(2): the next-hop domain
  /// MTA-STS (RFC 8461 §4.2): the chain must reach the system store or `ca_file` (both are
  /// loaded) and the certificate must name `server_name` (no partial wildcards).
  /// `webpki_enforce` false: the same check runs but does not fail the handshake
  /// (policy mode testing); webpki_verified() tells the result.
  bool webpki = false;
  bool webpki_enforce = false;
};

class ClientStream {
 public:
  explicit ClientStream(boost::asio::any_io_executor executor);

  boost::asio::ip::tcp::socket& socket() noexcept { return socket_; }
  const boost::asio::ip::tcp::socket& socket() const noexcept { return socket_; }
  bool tls_active() const noexcept { return tls_.has_value(); }
  /// Whether the handshake was authenticated by a TLSA record (OpenSSL's DANE authority).
  bool dane_authenticated() const noexcept { return dane_authenticated_; }
  /// Whether the certificate passed the MTA-STS check (TlsClientOptions::webpki).
  bool webpki_verified() const noexcept { return webpki_verified_; }
  /// What was wrong with the certificate under verify, DANE or MTA-STS (none: nothing, or
  /// not checked), for TLS reporting.
  routing::CertificateProblem certificate_problem() const noexcept { return certificate_problem_; }
  /// What start_tls() negotiated (protocol and cipher; the kind is SmtpClient's to say);
  /// empty without TLS.
  TlsUsed tls_used() const;

  /// TLS client handshake on the connected socket. On failure `error` describes it and
  /// the stream must not be used further (the plaintext session state is unknown).
  boost::asio::awaitable<boost::system::error_code> start_tls(const TlsClientOptions& options, std::string& error);

  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(
      boost::asio::mutable_buffer buffer);
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> write(
      const std::vector<boost::asio::const_buffer>& buffers);

  /// Best-effort TLS close_notify is skipped on purpose: QUIT already ended the session
  /// and waiting for the peer's close_notify would only add a timeout. Closes the socket.
  void close();

 private:
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::context> context_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  bool dane_authenticated_ = false;
  bool webpki_verified_ = false;
  routing::CertificateProblem certificate_problem_ = routing::CertificateProblem::none;
};

}  // namespace relay
