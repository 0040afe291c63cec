// relay/server/tls_context.hpp — the server-side TLS configuration of one listener.
//
// Owns: one boost::asio::ssl::context loaded with a certificate chain and private key,
// restricted to TLS 1.2 and later with forward-secret AEAD cipher suites, compression
// and renegotiation off. Built once at start-up per listener with tls != "off"; it is a
// separate object so a reload can build a fresh one and hand it to new sessions while
// running sessions keep the old one alive through their shared_ptr.
// Never: performs network I/O or logs; the key file's content is never echoed.
// Threading: immutable after construction; shared by every session of a listener.
// Errors: std::expected with a readable message (file name and OpenSSL's reason).
// Standards: RFC 3207 (STARTTLS), RFC 8314 (implicit TLS), BCP 195 / RFC 9325.
#pragma once

#include <expected>
#include <memory>
#include <string>

namespace boost::asio::ssl { class context; }

namespace relay {

class TlsContext {
 public:
  /// Loads `certificate_file` (PEM chain) and `key_file` (PEM key) for a server.
  static std::expected<std::shared_ptr<TlsContext>, std::string> load_server(const std::string& certificate_file,
                                                                            const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  boost::asio::ssl::context& native() noexcept { return *context_; }

 private:
  TlsContext();
  std::unique_ptr<boost::asio::ssl::context> context_;
};

}  // namespace relay
