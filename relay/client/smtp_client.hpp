// relay/client/smtp_client.hpp — one SMTP client connection to a next hop (RFC 5321 client side).
//
// Owns: the socket to a hop, its read buffer, what the hop's EHLO offered, and the byte
// shuffling of one mail transaction: MAIL, RCPT…, DATA (pipelined when the hop offers
// PIPELINING, RFC 2920), the dot-stuffed body (RFC 5321 §4.5.2) and the final reply —
// or, to a hop offering CHUNKING (RFC 3030), the body as one "BDAT n LAST" chunk after
// the RCPT replies: no stuffing, no 354 round trip (Exchange's preferred way).
// It reports what happened (replies per stage, or an I/O fault); what a reply MEANS for
// the hop, message and recipients is decided by relay/outcome, not here.
// Threading: one coroutine at a time on the io_context thread. Every await has a deadline.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "conf/config.hpp"
#include "relay/client/client_stream.hpp"
#include "relay/io_deadline.hpp"
#include "relay/client/judge.hpp"
#include "relay/smtp/reply_parser.hpp"

namespace relay {

struct ClientSettings {
  std::string helo_name;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};
  std::chrono::seconds data_timeout{600};
  // --- per-hop client settings (issue 4); defaults keep a plain, anonymous session ---
  conf::TlsPolicy tls = conf::TlsPolicy::none;
  std::string tls_server_name;  // name to verify and send as SNI (the configured host)
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string auth_user;        // AUTH PLAIN, else LOGIN (RFC 4954) when non-empty
  std::string auth_password;
  std::string source_address;   // bind before connect when non-empty
};

/// What the hop offered in its EHLO reply.
struct HopCapabilities {
  bool esmtp = false;
  bool pipelining = false;
  bool eight_bit_mime = false;
  std::uint64_t max_size = 0;  // 0: no SIZE limit announced
  bool dsn = false;            // RFC 3461: RET/ENVID/NOTIFY/ORCPT are passed on
  bool smtputf8 = false;       // RFC 6531: a SMTPUTF8 message may be sent
  bool chunking = false;       // RFC 3030: the body goes as one BDAT LAST, unstuffed
};

/// A transport-level failure: the hop, not the message, is at fault.
struct ClientFault {
  FaultKind kind = FaultKind::io_error;
  std::string text;  // for logs and the recipient's last-reply column
};

/// The replies of one transaction, in stage order. A stage that was not reached has no reply.
struct TransactionReplies {
  std::optional<Reply> mail;
  std::vector<std::optional<Reply>> rcpt;  // one per recipient, in order
  std::optional<Reply> data;               // reply to DATA (354 expected); none with BDAT
  std::optional<Reply> final_reply;        // reply after the terminating dot, or to BDAT LAST
  std::optional<ClientFault> fault;        // the connection broke or timed out
  std::optional<Reply> hop_reply;          // 421 or a reply that refuses the whole session
};

struct Envelope {
  std::string sender;
  std::vector<std::string> recipients;
  bool eight_bit = false;
  // --- DSN / SMTPUTF8 ---
  bool smtputf8 = false;                         // MAIL gets SMTPUTF8 (the hop must offer it)
  std::string mail_parameters;                   // stored MAIL parameters (RET/ENVID read from them)
  std::vector<std::string> recipient_parameters; // stored RCPT parameters, same index as recipients
};

/// The MAIL and RCPT lines (with CRLF) for `envelope` to a hop with `capabilities`:
/// SIZE, BODY, SMTPUTF8 and the DSN parameters only when the hop offers them. Pure.
std::string mail_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t body_size);
std::string rcpt_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t index);

class SmtpClient {
 public:
  SmtpClient(boost::asio::any_io_executor executor, ClientSettings settings);

  /// Connects to the first reachable endpoint of host:port, reads the banner and says
  /// EHLO (HELO if the hop refuses EHLO). On failure returns the fault or the refusal.
  boost::asio::awaitable<std::optional<ClientFault>> connect(const std::string& host, std::uint16_t port,
                                                             std::optional<Reply>& refusal);

  /// As above with the addresses already resolved (routing::DnsResolver); tried in order,
  /// each bound to settings.source_address first when set. After EHLO: STARTTLS as the
  /// TLS policy says (a required/verify policy that cannot be met is a tls_failed fault
  /// and nothing is sent), then AUTH when credentials are set (only over TLS unless the
  /// policy is none). A 4xx/5xx to STARTTLS or AUTH comes back in `refusal`.
  boost::asio::awaitable<std::optional<ClientFault>> connect(const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
                                                             std::optional<Reply>& refusal);

  /// Whether the session runs over TLS and, after connect, the stage a refusal came from.
  bool tls_active() const noexcept { return stream_.tls_active(); }
  Stage refusal_stage() const noexcept { return refusal_stage_; }

  /// Runs one mail transaction. After a transaction that did not complete (MAIL or all
  /// RCPT refused) the session is reset with RSET so the connection stays reusable.
  boost::asio::awaitable<TransactionReplies> send(const Envelope& envelope, const std::string& body);

  /// Polite QUIT (best effort, short deadline), then close.
  boost::asio::awaitable<void> quit();

  /// Issue 6 (recipient callout): MAIL FROM:<sender>, RCPT TO:<recipient>, RSET, one
  /// command at a time; no DATA is ever sent. Returns the RCPT reply, or the MAIL reply
  /// when MAIL was refused (the caller treats a refused MAIL as a failed callout), or the
  /// fault. The caller QUITs.
  boost::asio::awaitable<std::expected<Reply, ClientFault>> verify_recipient(const std::string& sender,
                                                                            const std::string& recipient,
                                                                            bool& mail_refused);

  bool usable() const noexcept { return usable_; }
  const HopCapabilities& capabilities() const noexcept { return capabilities_; }
  std::uint32_t transactions() const noexcept { return transactions_; }
  std::string remote() const;

 private:
  boost::asio::awaitable<std::optional<ClientFault>> write(const std::vector<boost::asio::const_buffer>& buffers,
                                                           std::chrono::seconds timeout);
  boost::asio::awaitable<std::optional<ClientFault>> write_one(boost::asio::const_buffer buffer,
                                                               std::chrono::seconds timeout);
  boost::asio::awaitable<std::expected<Reply, ClientFault>> read_reply(std::chrono::seconds timeout);
  ClientFault fault_from(boost::system::error_code ec, const char* stage);
  void parse_capabilities(const Reply& ehlo);

  boost::asio::awaitable<std::optional<ClientFault>> greet(std::optional<Reply>& refusal);
  boost::asio::awaitable<std::optional<ClientFault>> start_tls(std::optional<Reply>& refusal);
  boost::asio::awaitable<std::optional<ClientFault>> authenticate(std::optional<Reply>& refusal);
  void parse_extensions(const Reply& ehlo);

  ClientStream stream_;
  IoDeadline deadline_;
  bool offers_starttls_ = false;
  std::vector<std::string> auth_mechanisms_;  // upper case, from the EHLO AUTH line
  Stage refusal_stage_ = Stage::banner;
  ClientSettings settings_;
  ReplyParser parser_;
  std::string buffer_;
  HopCapabilities capabilities_;
  bool usable_ = false;
  std::uint32_t transactions_ = 0;
};

/// Splits `body` into write buffers with RFC 5321 §4.5.2 dot-stuffing applied and the
/// terminating ".\r\n" appended. The buffers point into `body` and two static strings.
std::vector<boost::asio::const_buffer> stuffed_body_buffers(const std::string& body);

}  // namespace relay
