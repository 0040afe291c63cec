// relay/client/smtp_client.cpp — one SMTP client connection to a next hop.
#include "relay/client/smtp_client.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include "relay/smtp/esmtp_parameters.hpp"  // DSN parameters passed on (RFC 3461)

namespace relay {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view dot = ".";
constexpr std::string_view terminator = ".\r\n";

bool positive(const std::optional<Reply>& reply) { return reply && reply->code >= 200 && reply->code < 400; }

}  // namespace

std::vector<asio::const_buffer> stuffed_body_buffers(const std::string& body) {
  std::vector<asio::const_buffer> buffers;
  std::size_t start = 0;
  // A line that begins with "." gets one more (RFC 5321 §4.5.2); the first line counts.
  if (!body.empty() && body.front() == '.') buffers.emplace_back(dot.data(), dot.size());
  for (std::size_t pos = body.find("\r\n.", 0); pos != std::string::npos; pos = body.find("\r\n.", pos + 3)) {
    buffers.emplace_back(body.data() + start, pos + 2 - start);
    buffers.emplace_back(dot.data(), dot.size());
    start = pos + 2;
  }
  buffers.emplace_back(body.data() + start, body.size() - start);
  if (body.size() < 2 || body.compare(body.size() - 2, 2, crlf) != 0) buffers.emplace_back(crlf.data(), crlf.size());
  buffers.emplace_back(terminator.data(), terminator.size());
  return buffers;
}

SmtpClient::SmtpClient(asio::any_io_executor executor, ClientSettings settings)
    : stream_(executor), deadline_(stream_.socket()), settings_(std::move(settings)) {}

std::string SmtpClient::remote() const {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  return ec ? std::string("?") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

ClientFault SmtpClient::fault_from(boost::system::error_code ec, const char* stage) {
  usable_ = false;
  if (deadline_.expired()) return {FaultKind::timeout, fmt::format("timeout while {}", stage)};
  if (ec == asio::error::connection_refused) return {FaultKind::connect_refused, fmt::format("connection refused ({})", stage)};
  return {FaultKind::io_error, fmt::format("{} while {}", ec.message(), stage)};
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::connect(const std::string& host, std::uint16_t port,
                                                                std::optional<Reply>& refusal) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, port);
  } else {
    tcp::resolver resolver(stream_.socket().get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(asio::use_awaitable));
    if (rec) co_return ClientFault{FaultKind::io_error, fmt::format("cannot resolve {}: {}", host, rec.message())};
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  co_return co_await connect(endpoints, refusal);
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::connect(const std::vector<tcp::endpoint>& endpoints,
                                                                std::optional<Reply>& refusal) {
  boost::system::error_code ec;
  std::optional<asio::ip::address> source;
  if (!settings_.source_address.empty()) {
    source = asio::ip::make_address(settings_.source_address, ec);
    if (ec) co_return ClientFault{FaultKind::io_error, "bad source address " + settings_.source_address};
  }
  if (endpoints.empty()) co_return ClientFault{FaultKind::io_error, "no address to connect to"};

  // One endpoint after the other, each with its own deadline (RFC 5321 §5.1: try the
  // next address of the same host before giving up on it).
  std::optional<ClientFault> last;
  auto& socket = stream_.socket();
  bool connected = false;
  for (const auto& endpoint : endpoints) {
    socket.close(ec);
    socket.open(endpoint.protocol(), ec);
    if (ec) {
      last = ClientFault{FaultKind::io_error, fmt::format("socket: {}", ec.message())};
      continue;
    }
    if (source) {
      if (source->is_v4() != endpoint.address().is_v4()) {
        last = ClientFault{FaultKind::io_error, fmt::format("source {} cannot reach {}", source->to_string(),
                                                            endpoint.address().to_string())};
        continue;
      }
      // seed 003: the egress interface is chosen by binding its address.
      socket.bind(tcp::endpoint(*source, 0), ec);
      if (ec) {
        last = ClientFault{FaultKind::io_error, fmt::format("bind to {}: {}", source->to_string(), ec.message())};
        continue;
      }
    }
    deadline_.arm(settings_.connect_timeout);
    auto [cec] = co_await socket.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    deadline_.disarm();
    if (!cec) {
      connected = true;
      break;
    }
    const std::string where = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    if (deadline_.expired()) last = ClientFault{FaultKind::connect_timeout, "connect timeout to " + where};
    else
      last = ClientFault{cec == asio::error::connection_refused ? FaultKind::connect_refused : FaultKind::io_error,
                         fmt::format("connect to {} failed: {}", where, cec.message())};
  }
  if (!connected) co_return last;
  socket.set_option(tcp::no_delay(true), ec);
  usable_ = true;

  refusal_stage_ = Stage::banner;
  auto banner = co_await read_reply(settings_.command_timeout);
  if (!banner) co_return banner.error();
  if (banner->code != 220) {
    refusal = *banner;
    usable_ = false;
    co_return std::nullopt;
  }
  if (auto fault = co_await greet(refusal); fault || refusal) co_return fault;

  if (settings_.tls != conf::TlsPolicy::none) {
    const bool must = settings_.tls == conf::TlsPolicy::required || settings_.tls == conf::TlsPolicy::verify;
    if (offers_starttls_) {
      if (auto fault = co_await start_tls(refusal); fault || refusal) co_return fault;
    } else if (must) {
      // Nothing has been sent but EHLO: failing here is what keeps mail off plaintext.
      usable_ = false;
      co_return ClientFault{FaultKind::tls_failed, "STARTTLS required but not offered by the hop"};
    }
  }
  if (!settings_.auth_user.empty()) {
    if (auto fault = co_await authenticate(refusal); fault || refusal) co_return fault;
  }
  co_return std::nullopt;
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::greet(std::optional<Reply>& refusal) {
  refusal_stage_ = Stage::ehlo;
  const std::string ehlo = "EHLO " + settings_.helo_name + "\r\n";
  if (auto fault = co_await write_one(asio::buffer(ehlo), settings_.command_timeout)) co_return fault;
  auto reply = co_await read_reply(settings_.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code == 250) {
    parse_capabilities(*reply);
    parse_extensions(*reply);
    co_return std::nullopt;
  }
  if (reply->code == 421 || stream_.tls_active()) {
    // After STARTTLS there is no falling back to HELO: the hop must speak ESMTP.
    refusal = *reply;
    usable_ = false;
    co_return std::nullopt;
  }
  // RFC 5321 §3.2: a server that does not understand EHLO gets HELO.
  const std::string helo = "HELO " + settings_.helo_name + "\r\n";
  if (auto fault = co_await write_one(asio::buffer(helo), settings_.command_timeout)) co_return fault;
  reply = co_await read_reply(settings_.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code != 250) {
    refusal = *reply;
    usable_ = false;
  }
  co_return std::nullopt;
}

void SmtpClient::parse_extensions(const Reply& ehlo) {
  offers_starttls_ = false;
  auth_mechanisms_.clear();
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string line = ehlo.lines[i];
    for (char& c : line) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (line == "STARTTLS") offers_starttls_ = true;
    if (line.starts_with("AUTH ") || line.starts_with("AUTH=")) {
      std::size_t pos = 5;
      while (pos < line.size()) {
        const std::size_t end = std::min(line.find(' ', pos), line.size());
        if (end > pos) auth_mechanisms_.push_back(line.substr(pos, end - pos));
        pos = end + 1;
      }
    }
  }
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::start_tls(std::optional<Reply>& refusal) {
  refusal_stage_ = Stage::starttls;
  static const std::string starttls_command = "STARTTLS\r\n";
  if (auto fault = co_await write_one(asio::buffer(starttls_command), settings_.command_timeout)) co_return fault;
  auto reply = co_await read_reply(settings_.command_timeout);
  if (!reply) co_return reply.error();
  if (reply->code != 220) {
    refusal = *reply;
    usable_ = false;
    co_return std::nullopt;
  }
  if (!buffer_.empty()) {
    // Bytes after the 220 arrived in plaintext and could have been injected by a
    // man in the middle (the CVE-2011-0411 class): never act on them.
    usable_ = false;
    co_return ClientFault{FaultKind::protocol_error, "data pipelined after the STARTTLS reply"};
  }
  TlsClientOptions options{.verify = settings_.tls == conf::TlsPolicy::verify,
                           .server_name = settings_.tls_server_name,
                           .ca_file = settings_.tls_ca_file,
                           .cert_file = settings_.tls_cert_file,
                           .key_file = settings_.tls_key_file};
  std::string error;
  deadline_.arm(settings_.command_timeout);
  const auto ec = co_await stream_.start_tls(options, error);
  deadline_.disarm();
  if (ec) {
    usable_ = false;
    co_return ClientFault{FaultKind::tls_failed, deadline_.expired() ? "TLS handshake timeout" : error};
  }
  // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
  capabilities_ = HopCapabilities{};
  co_return co_await greet(refusal);
}

namespace {

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

asio::awaitable<std::optional<ClientFault>> SmtpClient::authenticate(std::optional<Reply>& refusal) {
  refusal_stage_ = Stage::auth;
  if (!stream_.tls_active() && settings_.tls != conf::TlsPolicy::none) {
    // Credentials never cross plaintext unless the administrator chose tls = "none".
    usable_ = false;
    co_return ClientFault{FaultKind::tls_failed, "refusing to send AUTH credentials without TLS"};
  }
  const bool plain = std::ranges::find(auth_mechanisms_, "PLAIN") != auth_mechanisms_.end();
  const bool login = std::ranges::find(auth_mechanisms_, "LOGIN") != auth_mechanisms_.end();
  if (!plain && !login) {
    usable_ = false;
    co_return ClientFault{FaultKind::protocol_error, "hop offers no AUTH PLAIN or LOGIN"};
  }
  // Never logged: these lines carry the secret.
  std::vector<std::string> steps;
  if (plain) {
    std::string token;
    token.push_back('\0');
    token += settings_.auth_user;
    token.push_back('\0');
    token += settings_.auth_password;
    steps.push_back("AUTH PLAIN " + base64(token) + "\r\n");
  } else {
    steps.push_back("AUTH LOGIN\r\n");
    steps.push_back(base64(settings_.auth_user) + "\r\n");
    steps.push_back(base64(settings_.auth_password) + "\r\n");
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (auto fault = co_await write_one(asio::buffer(steps[i]), settings_.command_timeout)) co_return fault;
    auto reply = co_await read_reply(settings_.command_timeout);
    if (!reply) co_return reply.error();
    const bool last = i + 1 == steps.size();
    if ((last && reply->code == 235) || (!last && reply->code == 334)) continue;
    if (last || reply->code != 334) {
      refusal = *reply;
      usable_ = false;
      co_return std::nullopt;
    }
  }
  co_return std::nullopt;
}

std::string mail_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t body_size) {
  std::string mail = "MAIL FROM:<" + envelope.sender + ">";
  if (capabilities.max_size) mail += " SIZE=" + std::to_string(body_size);
  if (envelope.eight_bit && capabilities.eight_bit_mime) mail += " BODY=8BITMIME";
  if (envelope.smtputf8 && capabilities.smtputf8) mail += " SMTPUTF8";
  // RFC 3461 §4.1/§5.2: to a hop without DSN the parameters are dropped (the delivery
  // engine sends the "relayed" notice NOTIFY=SUCCESS asked for).
  if (capabilities.dsn) mail += dsn_mail_parameters(envelope.mail_parameters);
  return mail + "\r\n";
}

std::string rcpt_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t index) {
  const std::string& address = envelope.recipients[index];
  std::string rcpt = "RCPT TO:<" + address + ">";
  if (capabilities.dsn) {
    const std::string_view stored =
        index < envelope.recipient_parameters.size() ? std::string_view(envelope.recipient_parameters[index]) : "";
    rcpt += dsn_rcpt_parameters(stored, address);
  }
  return rcpt + "\r\n";
}

void SmtpClient::parse_capabilities(const Reply& ehlo) {
  capabilities_ = HopCapabilities{};
  capabilities_.esmtp = true;
  for (std::size_t i = 1; i < ehlo.lines.size(); ++i) {
    std::string keyword;
    const std::string& line = ehlo.lines[i];
    for (char c : line) {
      if (c == ' ') break;
      keyword.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (keyword == "PIPELINING") capabilities_.pipelining = true;
    else if (keyword == "8BITMIME") capabilities_.eight_bit_mime = true;
    else if (keyword == "SIZE" && line.size() > 5) capabilities_.max_size = std::strtoull(line.c_str() + 5, nullptr, 10);
    else if (keyword == "DSN") capabilities_.dsn = true;
    else if (keyword == "SMTPUTF8") capabilities_.smtputf8 = true;
    else if (keyword == "CHUNKING") capabilities_.chunking = true;
  }
}

asio::awaitable<TransactionReplies> SmtpClient::send(const Envelope& envelope, const std::string& body) {
  TransactionReplies result;
  result.rcpt.resize(envelope.recipients.size());
  ++transactions_;

  const std::string mail = mail_command(envelope, capabilities_, body.size());
  std::vector<std::string> rcpts;
  rcpts.reserve(envelope.recipients.size());
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) rcpts.push_back(rcpt_command(envelope, capabilities_, i));
  static const std::string data_command = "DATA\r\n";
  static const std::string rset_command = "RSET\r\n";

  auto fail = [&](ClientFault fault) -> TransactionReplies& {
    result.fault = std::move(fault);
    usable_ = false;
    return result;
  };
  auto hop_refusal = [&](const Reply& reply) {
    if (reply.code == 421) {
      result.hop_reply = reply;
      usable_ = false;
      return true;
    }
    return false;
  };

  // With CHUNKING no DATA is sent: BDAT follows once a RCPT was accepted (below).
  const bool chunking = capabilities_.chunking;
  if (capabilities_.pipelining) {
    // RFC 2920: MAIL, every RCPT and DATA go in one write; replies come back in order.
    std::vector<asio::const_buffer> group{asio::buffer(mail)};
    for (const auto& r : rcpts) group.push_back(asio::buffer(r));
    if (!chunking) group.push_back(asio::buffer(data_command));
    if (auto fault = co_await write(group, settings_.command_timeout)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.command_timeout);
    if (!reply) co_return fail(reply.error());
    result.mail = *reply;
    if (hop_refusal(*reply)) co_return result;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      reply = co_await read_reply(settings_.command_timeout);
      if (!reply) co_return fail(reply.error());
      result.rcpt[i] = *reply;
      if (hop_refusal(*reply)) co_return result;
    }
    if (!chunking) {
      reply = co_await read_reply(settings_.command_timeout);
      if (!reply) co_return fail(reply.error());
      result.data = *reply;
      if (hop_refusal(*reply)) co_return result;
    }
  } else {
    if (auto fault = co_await write_one(asio::buffer(mail), settings_.command_timeout)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.command_timeout);
    if (!reply) co_return fail(reply.error());
    result.mail = *reply;
    if (hop_refusal(*reply)) co_return result;
    if (positive(result.mail)) {
      bool any_accepted = false;
      for (std::size_t i = 0; i < rcpts.size(); ++i) {
        if (auto fault = co_await write_one(asio::buffer(rcpts[i]), settings_.command_timeout)) co_return fail(*fault);
        reply = co_await read_reply(settings_.command_timeout);
        if (!reply) co_return fail(reply.error());
        result.rcpt[i] = *reply;
        if (hop_refusal(*reply)) co_return result;
        any_accepted = any_accepted || positive(result.rcpt[i]);
      }
      if (any_accepted && !chunking) {
        if (auto fault = co_await write_one(asio::buffer(data_command), settings_.command_timeout)) co_return fail(*fault);
        reply = co_await read_reply(settings_.command_timeout);
        if (!reply) co_return fail(reply.error());
        result.data = *reply;
        if (hop_refusal(*reply)) co_return result;
      }
    }
  }

  const bool any_rcpt = std::ranges::any_of(result.rcpt, [](const auto& r) { return positive(r); });
  if (chunking && positive(result.mail) && any_rcpt) {
    // RFC 3030 §2: the whole message in one last chunk; its octets are exactly the body
    // (canonical CRLF, never dot-stuffed), and the reply to it is the final reply.
    const std::string bdat = "BDAT " + std::to_string(body.size()) + " LAST\r\n";
    std::vector<asio::const_buffer> chunk{asio::buffer(bdat), asio::buffer(body)};
    if (auto fault = co_await write(chunk, settings_.data_timeout)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.data_timeout);
    if (!reply) co_return fail(reply.error());
    result.final_reply = *reply;
    hop_refusal(*reply);
    co_return result;
  }
  if (positive(result.mail) && any_rcpt && result.data && result.data->code == 354) {
    if (auto fault = co_await write(stuffed_body_buffers(body), settings_.data_timeout)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.data_timeout);
    if (!reply) co_return fail(reply.error());
    result.final_reply = *reply;
    hop_refusal(*reply);
    co_return result;
  }
  if (result.data && result.data->code == 354) {
    // A pipelining server answered 354 although no recipient was accepted (RFC 2920
    // §3.1 lets it): send an empty message's terminator so the stream stays in sync,
    // the reply is ignored, and nothing is delivered because no RCPT was accepted.
    if (auto fault = co_await write_one(asio::buffer(terminator.data(), terminator.size()), settings_.data_timeout))
      co_return fail(*fault);
    auto reply = co_await read_reply(settings_.data_timeout);
    if (!reply) co_return fail(reply.error());
  }
  // The transaction did not complete: reset so the connection can carry the next one.
  if (auto fault = co_await write_one(asio::buffer(rset_command), settings_.command_timeout)) co_return fail(*fault);
  auto reply = co_await read_reply(settings_.command_timeout);
  if (!reply) co_return fail(reply.error());
  if (reply->code != 250) usable_ = false;
  co_return result;
}

asio::awaitable<void> SmtpClient::quit() {
  if (usable_) {
    static const std::string quit_command = "QUIT\r\n";
    if (!co_await write_one(asio::buffer(quit_command), std::chrono::seconds(5)))
      (void)co_await read_reply(std::chrono::seconds(5));
  }
  usable_ = false;
  stream_.close();
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::write_one(asio::const_buffer buffer,
                                                                  std::chrono::seconds timeout) {
  // One buffer wrapped here: g++ 12 cannot keep a braced list alive across co_await.
  std::vector<asio::const_buffer> buffers{buffer};
  co_return co_await write(buffers, timeout);
}

asio::awaitable<std::optional<ClientFault>> SmtpClient::write(const std::vector<asio::const_buffer>& buffers,
                                                              std::chrono::seconds timeout) {
  deadline_.arm(timeout);
  auto [ec, n] = co_await stream_.write(buffers);
  deadline_.disarm();
  if (ec) co_return fault_from(ec, "sending");
  co_return std::nullopt;
}

asio::awaitable<std::expected<Reply, ClientFault>> SmtpClient::read_reply(std::chrono::seconds timeout) {
  std::array<char, read_chunk> chunk;
  while (true) {
    auto parsed = parser_.parse(buffer_);
    if (parsed.status == ReplyParser::Status::complete) co_return std::move(parsed.reply);
    if (parsed.status == ReplyParser::Status::malformed) {
      usable_ = false;
      co_return std::unexpected(ClientFault{FaultKind::protocol_error, "malformed reply: " + parsed.error});
    }
    deadline_.arm(timeout);
    auto [ec, n] = co_await stream_.read_some(asio::buffer(chunk));
    deadline_.disarm();
    if (ec) co_return std::unexpected(fault_from(ec, "waiting for a reply"));
    buffer_.append(chunk.data(), n);
  }
}

// Issue 6: a recipient callout. Sequential on purpose (no PIPELINING): the RCPT reply
// is the only answer that matters and RSET keeps the hop's session clean for QUIT.
asio::awaitable<std::expected<Reply, ClientFault>> SmtpClient::verify_recipient(const std::string& sender,
                                                                               const std::string& recipient,
                                                                               bool& mail_refused) {
  mail_refused = false;
  // A UTF-8 address is only legal in a SMTPUTF8 transaction (RFC 6531 §3.4); without the
  // parameter the hop would refuse the syntax, not the mailbox.
  const bool utf8 = capabilities_.smtputf8 && (has_eight_bit(sender) || has_eight_bit(recipient));
  const std::string mail = "MAIL FROM:<" + sender + ">" + (utf8 ? " SMTPUTF8" : "") + "\r\n";
  const std::string rcpt = "RCPT TO:<" + recipient + ">\r\n";
  static const std::string rset_command = "RSET\r\n";
  if (auto fault = co_await write_one(asio::buffer(mail), settings_.command_timeout)) co_return std::unexpected(*fault);
  auto reply = co_await read_reply(settings_.command_timeout);
  if (!reply) co_return std::unexpected(reply.error());
  if (!reply->positive()) {
    mail_refused = true;
    co_return *reply;
  }
  if (auto fault = co_await write_one(asio::buffer(rcpt), settings_.command_timeout)) co_return std::unexpected(*fault);
  auto answer = co_await read_reply(settings_.command_timeout);
  if (!answer) co_return std::unexpected(answer.error());
  if (auto fault = co_await write_one(asio::buffer(rset_command), settings_.command_timeout)) co_return *answer;
  (void)co_await read_reply(settings_.command_timeout);
  co_return *answer;
}

}  // namespace relay
