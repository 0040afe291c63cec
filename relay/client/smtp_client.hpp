// relay/client/smtp_client.hpp — one SMTP client connection to a next hop (RFC 5321 client side).
//
// Owns: the socket to a hop, its read buffer, what the hop's EHLO offered, and the byte
// shuffling of one mail transaction: MAIL, RCPT…, DATA (pipelined when the hop offers
// PIPELINING, RFC 2920), the dot-stuffed body (RFC 5321 §4.5.2) and the final reply —
// or, to a hop offering CHUNKING (RFC 3030), the body as one "BDAT n LAST" chunk after
// the RCPT replies: no stuffing, no 354 round trip (Exchange's preferred way).
// It reports what happened (replies per stage, or a fault and its stage) as a Transcript;
// what a reply MEANS for the hop, message and recipients is decided by relay/client/judge,
// not here.
// Threading: one coroutine at a time on the io_context thread. Every await has a deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <functional>
#include <span>
#include <system_error>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "relay/client/client_settings.hpp"
#include "relay/client/client_stream.hpp"
#include "relay/client/ehlo_capabilities.hpp"
#include "relay/client/judge.hpp"
#include "health/deadline.hpp"
#include "relay/smtp/reply_parser.hpp"

namespace relay {

struct Envelope {
  std::string sender;
  std::vector<std::string> recipients;
  bool eight_bit = false;
  // --- DSN / SMTPUTF8 ---
  bool smtputf8 = false;                         // MAIL gets SMTPUTF8 (the hop must offer it)
  bool requiretls = false;                       // MAIL gets REQUIRETLS (checked before: relay/smtp/require_tls)
  std::string mail_parameters;                   // stored MAIL parameters (RET/ENVID read from them)
  std::vector<std::string> recipient_parameters; // stored RCPT parameters, same index as recipients
};

/// The MAIL and RCPT lines (with CRLF) for `envelope` to a hop with `capabilities`:
/// SIZE, BODY, SMTPUTF8, REQUIRETLS and the DSN parameters only when the hop offers them. Pure.
std::string mail_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t body_size);
std::string rcpt_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t index);

/// A message body as the client reads it: its size (SIZE=, BDAT n) and a reader that
/// fills a buffer from the current position, 0 at the end (queue::StoredBodyReader after
/// rewind(), or a string). A read error ends the transaction as a local io_error fault.
struct BodySource {
  std::uint64_t size = 0;
  std::move_only_function<std::expected<std::size_t, std::error_code>(std::span<char>)> read;
};

class SmtpClient {
 public:
  SmtpClient(boost::asio::any_io_executor executor, ClientSettings settings);

  /// Connects to the first reachable endpoint of host:port, reads the banner and says
  /// EHLO (HELO if the hop refuses EHLO). Returns the refusal or fault, if any.
  boost::asio::awaitable<Transcript> connect(const std::string& host, std::uint16_t port);

  /// As above with the addresses already resolved (routing::DnsResolver); tried in order,
  /// each bound to settings.source_address first when set. After EHLO: STARTTLS as the
  /// TLS policy says (a required/verify policy that cannot be met is a tls_failed fault
  /// and nothing is sent), then AUTH when credentials are set (only over TLS unless the
  /// policy is none). A 4xx/5xx to STARTTLS or AUTH comes back as the refusal.
  boost::asio::awaitable<Transcript> connect(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints);

  /// Whether the session runs over TLS.
  bool tls_active() const noexcept { return stream_.tls_active(); }
  /// What protected the session and the TLS version and cipher negotiated ("TLSv1.3",
  /// "TLS_AES_256_GCM_SHA384"; both empty without TLS).
  TlsUsed tls_used() const;

  /// What protected the session (relay/tls_used): none (plaintext), opportunistic (TLS
  /// without authentication), verified (tls = "verify": chain and name checked) or dane
  /// (the certificate matched the host's TLSA records, RFC 7672) or mta-sts (chain and MX
  /// host name checked under the domain's MTA-STS policy, RFC 8461).
  TlsKind tls_kind() const noexcept;
  /// tls_kind()'s name, for log text only: decisions take the kind.
  std::string_view tls_mode() const noexcept { return to_string(tls_kind()); }
  /// Under MTA-STS (ClientSettings::sts), what failed, as an RFC 8460 result type (none:
  /// the session was verified, or not yet tried): for logs and TLS reporting.
  routing::TlsFailure sts_failure() const noexcept;

  /// Runs one mail transaction. After a transaction that did not complete (MAIL or all
  /// RCPT refused) the session is reset with RSET so the connection stays reusable.
  /// The body is read in chunks from `body` (from its first octet) and sent as it is
  /// read: dot-stuffed after DATA, raw in one BDAT LAST; memory stays one chunk.
  boost::asio::awaitable<Transcript> send(const Envelope& envelope, BodySource& body);
  /// The same with the body in memory (one chunk).
  boost::asio::awaitable<Transcript> send(const Envelope& envelope, const std::string& body);

  /// Polite QUIT (best effort, short deadline), then close.
  boost::asio::awaitable<void> quit();

  /// Recipient callout: MAIL FROM:<sender>, RCPT TO:<recipient>, RSET, one command at a
  /// time; no DATA is ever sent. Returns the MAIL reply and, when MAIL was accepted, the
  /// RCPT reply (rcpt[0]), or the fault. The caller QUITs.
  boost::asio::awaitable<Transcript> verify_recipient(const std::string& sender, const std::string& recipient);

  bool usable() const noexcept { return usable_; }
  const HopCapabilities& capabilities() const noexcept { return capabilities_; }
  std::uint32_t transactions() const noexcept { return transactions_; }
  std::string remote() const;
  /// The addresses of the connection's two ends without ports ("" when not connected):
  /// what TLS reports name as sending-mta-ip and receiving-ip.
  std::string local_ip() const;
  std::string remote_ip() const;

 private:
  boost::asio::awaitable<std::optional<Fault>> write(const std::vector<boost::asio::const_buffer>& buffers,
                                                     std::chrono::seconds timeout, Stage stage);
  boost::asio::awaitable<std::optional<Fault>> write_one(boost::asio::const_buffer buffer, std::chrono::seconds timeout,
                                                         Stage stage);
  boost::asio::awaitable<std::expected<Reply, Fault>> read_reply(std::chrono::seconds timeout, Stage stage);
  /// Streams the body after a 354 (dot-stuffed, with the terminator) or after "BDAT n
  /// LAST" (raw, `prefix` being that command), chunk by chunk.
  boost::asio::awaitable<std::optional<Fault>> write_body(BodySource& body, bool chunking, const std::string& prefix);
  /// Sends `line` and reads its reply, both within `timeout` (0: the stage's timeout).
  boost::asio::awaitable<std::expected<Reply, Fault>> command(boost::asio::const_buffer line, Stage stage,
                                                              std::chrono::seconds timeout = {});
  Fault fault_from(boost::system::error_code ec, const char* doing, Stage stage);

  boost::asio::awaitable<Transcript> greet();
  boost::asio::awaitable<Transcript> start_tls();
  boost::asio::awaitable<Transcript> authenticate();

  ClientStream stream_;
  health::Deadline deadline_;
  ClientSettings settings_;
  ReplyParser parser_;
  std::string buffer_;
  HopCapabilities capabilities_;
  bool usable_ = false;
  std::uint32_t transactions_ = 0;
};

}  // namespace relay
