// relay/client/smtp_client.cpp — one SMTP client connection to a next hop.
//
// Every step reports what it saw into a Transcript (the reply in its stage's slot, or the
// fault with its stage) and stops where the protocol cannot go on; a 421 ends the session.
// Whether to go on (send RCPT, DATA) is protocol flow and uses the judge's accepted().
#include "relay/client/smtp_client.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "policy/base64.hpp"
#include "relay/smtp/dot_stuffer.hpp"
#include "relay/smtp/esmtp_parameters.hpp"  // DSN parameters passed on (RFC 3461)

namespace relay {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::string_view crlf = "\r\n";
constexpr std::string_view dot = ".";
constexpr std::string_view terminator = ".\r\n";
// Octets of the body read per write: what one delivery holds of a spooled body.
constexpr std::size_t body_chunk = 64 * 1024;
// Buffers of one chunk's write at most. Asio hands a socket at most 64 per writev; more
// (a chunk dense with dot-led lines) are joined into one. Over TLS every buffer of a
// gathered write would become its own record and socket write, so there they are
// always joined (encryption copies the octets anyway).
constexpr std::size_t max_gathered = 64;

}  // namespace

SmtpClient::SmtpClient(asio::any_io_executor executor, ClientSettings settings)
    : stream_(executor), deadline_(executor, health::cancel_operations(stream_.socket())), settings_(std::move(settings)) {}

TlsKind SmtpClient::tls_kind() const noexcept {
  if (!stream_.tls_active()) return TlsKind::none;
  if (stream_.dane_authenticated()) return TlsKind::dane;
  if (stream_.webpki_verified()) return TlsKind::mta_sts;
  if (settings_.tls == conf::TlsPolicy::verify) return TlsKind::verified;
  return TlsKind::opportunistic;
}

TlsUsed SmtpClient::tls_used() const {
  TlsUsed used = stream_.tls_used();
  used.kind = tls_kind();
  return used;
}

routing::TlsFailure SmtpClient::sts_failure() const noexcept {
  if (settings_.sts == ClientSettings::Sts::off || stream_.webpki_verified()) return routing::TlsFailure::none;
  return routing::classify_session_failure(stream_.tls_active() || capabilities_.starttls,
                                           stream_.certificate_problem());
}

std::string SmtpClient::remote() const {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  return ec ? std::string("?") : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

std::string SmtpClient::local_ip() const {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().local_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

std::string SmtpClient::remote_ip() const {
  boost::system::error_code ec;
  auto endpoint = stream_.socket().remote_endpoint(ec);
  return ec ? std::string() : endpoint.address().to_string();
}

Fault SmtpClient::fault_from(boost::system::error_code ec, const char* doing, Stage stage) {
  usable_ = false;
  if (deadline_.expired()) return {FaultKind::timeout, stage, fmt::format("timeout while {}", doing)};
  if (ec == asio::error::connection_refused)
    return {FaultKind::connect_refused, stage, fmt::format("connection refused ({})", doing)};
  return {FaultKind::io_error, stage, fmt::format("{} while {}", ec.message(), doing)};
}

namespace {

Transcript with_fault(Fault fault) {
  Transcript t;
  t.fault = std::move(fault);
  return t;
}

Transcript with_refusal(Stage stage, Reply reply) {
  Transcript t;
  t.refusal = StagedReply{stage, std::move(reply)};
  return t;
}

}  // namespace

asio::awaitable<Transcript> SmtpClient::connect(const std::string& host, std::uint16_t port) {
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, port);
  } else {
    tcp::resolver resolver(stream_.socket().get_executor());
    auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(asio::use_awaitable));
    if (rec)
      co_return with_fault({FaultKind::io_error, Stage::connect, fmt::format("cannot resolve {}: {}", host, rec.message())});
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  co_return co_await connect(endpoints);
}

asio::awaitable<Transcript> SmtpClient::connect(const std::vector<tcp::endpoint>& endpoints) {
  boost::system::error_code ec;
  std::optional<asio::ip::address> source;
  if (!settings_.source_address.empty()) {
    source = asio::ip::make_address(settings_.source_address, ec);
    if (ec) co_return with_fault({FaultKind::io_error, Stage::connect, "bad source address " + settings_.source_address});
  }
  if (endpoints.empty()) co_return with_fault({FaultKind::io_error, Stage::connect, "no address to connect to"});

  // One endpoint after the other, each with its own deadline (RFC 5321 §5.1: try the
  // next address of the same host before giving up on it).
  std::optional<Fault> last;
  auto& socket = stream_.socket();
  bool connected = false;
  for (const auto& endpoint : endpoints) {
    socket.close(ec);
    socket.open(endpoint.protocol(), ec);
    if (ec) {
      last = Fault{FaultKind::io_error, Stage::connect, fmt::format("socket: {}", ec.message())};
      continue;
    }
    if (source) {
      if (source->is_v4() != endpoint.address().is_v4()) {
        last = Fault{FaultKind::io_error, Stage::connect,
                     fmt::format("source {} cannot reach {}", source->to_string(), endpoint.address().to_string())};
        continue;
      }
      // The egress interface is chosen by binding its address.
      socket.bind(tcp::endpoint(*source, 0), ec);
      if (ec) {
        last = Fault{FaultKind::io_error, Stage::connect,
                     fmt::format("bind to {}: {}", source->to_string(), ec.message())};
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
    if (deadline_.expired()) last = Fault{FaultKind::connect_timeout, Stage::connect, "connect timeout to " + where};
    else
      last = Fault{cec == asio::error::connection_refused ? FaultKind::connect_refused : FaultKind::io_error,
                   Stage::connect, fmt::format("connect to {} failed: {}", where, cec.message())};
  }
  if (!connected) co_return with_fault(std::move(*last));
  socket.set_option(tcp::no_delay(true), ec);
  usable_ = true;

  auto banner = co_await read_reply(settings_.command_timeout, Stage::banner);
  if (!banner) co_return with_fault(std::move(banner.error()));
  if (banner->code != 220) {
    usable_ = false;
    co_return with_refusal(Stage::banner, std::move(*banner));
  }
  if (auto greeted = co_await greet(); !greeted.opened()) co_return greeted;

  if (settings_.tls != conf::TlsPolicy::none) {
    const bool must = settings_.tls == conf::TlsPolicy::required || settings_.tls == conf::TlsPolicy::verify;
    const bool dane = !settings_.dane_records.empty();
    if (capabilities_.starttls) {
      if (auto secured = co_await start_tls(); !secured.opened()) co_return secured;
    } else if (dane) {
      // RFC 7672 §2.2: TLSA records make TLS mandatory; a missing STARTTLS may be an
      // attacker stripping it, so the mail waits rather than going out in clear.
      usable_ = false;
      co_return with_fault({FaultKind::tls_failed, Stage::starttls,
                            "STARTTLS not offered, but the host's TLSA records (DANE) require TLS"});
    } else if (settings_.sts == ClientSettings::Sts::verify) {
      // RFC 8461 §4.2: the policy requires TLS; a missing STARTTLS may be stripped.
      usable_ = false;
      co_return with_fault({FaultKind::tls_failed, Stage::starttls,
                            "STARTTLS not offered, but the domain's MTA-STS policy requires TLS"});
    } else if (must) {
      // Nothing has been sent but EHLO: failing here is what keeps mail off plaintext.
      usable_ = false;
      co_return with_fault({FaultKind::tls_failed, Stage::starttls, "STARTTLS required but not offered by the hop"});
    }
  }
  if (!settings_.auth_user.empty()) co_return co_await authenticate();
  co_return Transcript{};
}

asio::awaitable<Transcript> SmtpClient::greet() {
  const std::string ehlo = "EHLO " + settings_.helo_name + "\r\n";
  auto reply = co_await command(asio::buffer(ehlo), Stage::ehlo);
  if (!reply) co_return with_fault(std::move(reply.error()));
  if (reply->code == 250) {
    capabilities_ = parse_ehlo(*reply);
    co_return Transcript{};
  }
  if (reply->code == 421 || stream_.tls_active()) {
    // After STARTTLS there is no falling back to HELO: the hop must speak ESMTP.
    usable_ = false;
    co_return with_refusal(Stage::ehlo, std::move(*reply));
  }
  // RFC 5321 §3.2: a server that does not understand EHLO gets HELO.
  const std::string helo = "HELO " + settings_.helo_name + "\r\n";
  reply = co_await command(asio::buffer(helo), Stage::ehlo);
  if (!reply) co_return with_fault(std::move(reply.error()));
  if (reply->code != 250) {
    usable_ = false;
    co_return with_refusal(Stage::ehlo, std::move(*reply));
  }
  co_return Transcript{};
}

asio::awaitable<Transcript> SmtpClient::start_tls() {
  static const std::string starttls_command = "STARTTLS\r\n";
  auto reply = co_await command(asio::buffer(starttls_command), Stage::starttls);
  if (!reply) co_return with_fault(std::move(reply.error()));
  if (reply->code != 220) {
    usable_ = false;
    co_return with_refusal(Stage::starttls, std::move(*reply));
  }
  if (!buffer_.empty()) {
    // Bytes after the 220 arrived in plaintext and could have been injected by a
    // man in the middle (the CVE-2011-0411 class): never act on them.
    usable_ = false;
    co_return with_fault({FaultKind::protocol_error, Stage::starttls, "data pipelined after the STARTTLS reply"});
  }
  TlsClientOptions options{.verify = settings_.tls == conf::TlsPolicy::verify,
                           .server_name = settings_.tls_server_name,
                           .ca_file = settings_.tls_ca_file,
                           .cert_file = settings_.tls_cert_file,
                           .key_file = settings_.tls_key_file,
                           .dane_records = settings_.dane_records,
                           .dane_names = settings_.dane_names,
                           .webpki = settings_.sts != ClientSettings::Sts::off,
                           .webpki_enforce = settings_.sts == ClientSettings::Sts::verify};
  if (options.webpki) options.ca_file = settings_.sts_ca_file;
  std::string error;
  deadline_.arm(settings_.command_timeout);
  const auto ec = co_await stream_.start_tls(options, error);
  deadline_.disarm();
  if (ec) {
    usable_ = false;
    co_return with_fault({FaultKind::tls_failed, Stage::starttls, deadline_.expired() ? "TLS handshake timeout" : error});
  }
  // RFC 3207 §4.2: forget everything learnt before TLS and say EHLO again.
  capabilities_ = HopCapabilities{};
  co_return co_await greet();
}

asio::awaitable<Transcript> SmtpClient::authenticate() {
  if (!stream_.tls_active() && settings_.tls != conf::TlsPolicy::none) {
    // Credentials never cross plaintext unless the administrator chose tls = "none".
    usable_ = false;
    co_return with_fault({FaultKind::tls_failed, Stage::auth, "refusing to send AUTH credentials without TLS"});
  }
  const auto& mechanisms = capabilities_.auth_mechanisms;
  const bool plain = std::ranges::find(mechanisms, "PLAIN") != mechanisms.end();
  const bool login = std::ranges::find(mechanisms, "LOGIN") != mechanisms.end();
  if (!plain && !login) {
    usable_ = false;
    co_return with_fault({FaultKind::protocol_error, Stage::auth, "hop offers no AUTH PLAIN or LOGIN"});
  }
  // Never logged: these lines carry the secret.
  std::vector<std::string> steps;
  if (plain) {
    std::string token;
    token.push_back('\0');
    token += settings_.auth_user;
    token.push_back('\0');
    token += settings_.auth_password;
    steps.push_back("AUTH PLAIN " + policy::base64_encode(token) + "\r\n");
  } else {
    steps.push_back("AUTH LOGIN\r\n");
    steps.push_back(policy::base64_encode(settings_.auth_user) + "\r\n");
    steps.push_back(policy::base64_encode(settings_.auth_password) + "\r\n");
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    auto reply = co_await command(asio::buffer(steps[i]), Stage::auth);
    if (!reply) co_return with_fault(std::move(reply.error()));
    const bool last = i + 1 == steps.size();
    if ((last && reply->code == 235) || (!last && reply->code == 334)) continue;
    usable_ = false;
    co_return with_refusal(Stage::auth, std::move(*reply));
  }
  co_return Transcript{};
}

std::string mail_command(const Envelope& envelope, const HopCapabilities& capabilities, std::size_t body_size) {
  std::string mail = "MAIL FROM:<" + envelope.sender + ">";
  if (capabilities.max_size) mail += " SIZE=" + std::to_string(body_size);
  if (envelope.eight_bit && capabilities.eight_bit_mime) mail += " BODY=8BITMIME";
  if (envelope.smtputf8 && capabilities.smtputf8) mail += " SMTPUTF8";
  if (envelope.requiretls && capabilities.requiretls) mail += " REQUIRETLS";
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

asio::awaitable<Transcript> SmtpClient::send(const Envelope& envelope, const std::string& body) {
  BodySource source{body.size(), [&body, offset = std::size_t{0}](std::span<char> buffer) mutable
                                     -> std::expected<std::size_t, std::error_code> {
                      const std::size_t n = std::min(buffer.size(), body.size() - offset);
                      std::copy_n(body.data() + offset, n, buffer.data());
                      offset += n;
                      return n;
                    }};
  co_return co_await send(envelope, source);
}

asio::awaitable<Transcript> SmtpClient::send(const Envelope& envelope, BodySource& body) {
  Transcript result;
  result.rcpt.resize(envelope.recipients.size());
  ++transactions_;

  const std::string mail = mail_command(envelope, capabilities_, body.size);
  std::vector<std::string> rcpts;
  rcpts.reserve(envelope.recipients.size());
  for (std::size_t i = 0; i < envelope.recipients.size(); ++i) rcpts.push_back(rcpt_command(envelope, capabilities_, i));
  static const std::string data_command = "DATA\r\n";
  static const std::string rset_command = "RSET\r\n";

  auto fail = [&](Fault fault) -> Transcript& {
    result.fault = std::move(fault);
    usable_ = false;
    return result;
  };
  // Stores `reply` in its stage's slot; a 421 closes the session (RFC 5321 §3.8).
  auto keep = [&](std::optional<Reply>& slot, Reply reply) {
    slot = std::move(reply);
    if (slot->code != 421) return false;
    usable_ = false;
    return true;
  };

  // With CHUNKING no DATA is sent: BDAT follows once a RCPT was accepted (below).
  const bool chunking = capabilities_.chunking;
  if (capabilities_.pipelining) {
    // RFC 2920: MAIL, every RCPT and DATA go in one write; replies come back in order.
    std::vector<asio::const_buffer> group{asio::buffer(mail)};
    for (const auto& r : rcpts) group.push_back(asio::buffer(r));
    if (!chunking) group.push_back(asio::buffer(data_command));
    if (auto fault = co_await write(group, settings_.command_timeout, Stage::mail)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.command_timeout, Stage::mail);
    if (!reply) co_return fail(reply.error());
    if (keep(result.mail, *reply)) co_return result;
    for (std::size_t i = 0; i < rcpts.size(); ++i) {
      reply = co_await read_reply(settings_.command_timeout, Stage::rcpt);
      if (!reply) co_return fail(reply.error());
      if (keep(result.rcpt[i], *reply)) co_return result;
    }
    if (!chunking) {
      reply = co_await read_reply(settings_.command_timeout, Stage::data);
      if (!reply) co_return fail(reply.error());
      if (keep(result.data, *reply)) co_return result;
    }
  } else {
    auto reply = co_await command(asio::buffer(mail), Stage::mail);
    if (!reply) co_return fail(reply.error());
    if (keep(result.mail, *reply)) co_return result;
    if (accepted(result.mail)) {
      bool any_accepted = false;
      for (std::size_t i = 0; i < rcpts.size(); ++i) {
        reply = co_await command(asio::buffer(rcpts[i]), Stage::rcpt);
        if (!reply) co_return fail(reply.error());
        if (keep(result.rcpt[i], *reply)) co_return result;
        any_accepted = any_accepted || accepted(result.rcpt[i]);
      }
      if (any_accepted && !chunking) {
        reply = co_await command(asio::buffer(data_command), Stage::data);
        if (!reply) co_return fail(reply.error());
        if (keep(result.data, *reply)) co_return result;
      }
    }
  }

  const bool any_rcpt = std::ranges::any_of(result.rcpt, [](const auto& r) { return accepted(r); });
  if (chunking && accepted(result.mail) && any_rcpt) {
    // RFC 3030 §2: the whole message in one last chunk; its octets are exactly the body
    // (canonical CRLF, never dot-stuffed), and the reply to it is the final reply.
    const std::string bdat = "BDAT " + std::to_string(body.size) + " LAST\r\n";
    if (auto fault = co_await write_body(body, true, bdat)) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.data_timeout, Stage::dot);
    if (!reply) co_return fail(reply.error());
    keep(result.final_reply, *reply);
    co_return result;
  }
  if (accepted(result.mail) && any_rcpt && result.data && result.data->code == 354) {
    if (auto fault = co_await write_body(body, false, {})) co_return fail(*fault);
    auto reply = co_await read_reply(settings_.data_timeout, Stage::dot);
    if (!reply) co_return fail(reply.error());
    keep(result.final_reply, *reply);
    co_return result;
  }
  if (result.data && result.data->code == 354) {
    // A pipelining server answered 354 although no recipient was accepted (RFC 2920
    // §3.1 lets it): send an empty message's terminator so the stream stays in sync,
    // the reply is ignored, and nothing is delivered because no RCPT was accepted.
    auto reply = co_await command(asio::buffer(terminator.data(), terminator.size()), Stage::dot);
    if (!reply) co_return fail(reply.error());
  }
  // The transaction did not complete: reset so the connection can carry the next one.
  auto reply = co_await command(asio::buffer(rset_command), Stage::mail);
  if (!reply) co_return fail(reply.error());
  if (reply->code != 250) usable_ = false;
  co_return result;
}

asio::awaitable<void> SmtpClient::quit() {
  if (usable_) {
    static const std::string quit_command = "QUIT\r\n";
    (void)co_await command(asio::buffer(quit_command), Stage::dot, std::chrono::seconds(5));
  }
  usable_ = false;
  stream_.close();
}

// One chunk read, stuffed (DATA) or not (BDAT), written, then the next: the body is never
// whole in memory. The first write carries `prefix` (the BDAT command) and the last the
// terminator, so a small body still goes in one write. A body that ends early (the file
// shrank) is a fault: the hop must not take a truncated message.
// The body is not copied on plain TCP: the chunk goes out as the stuffer's pieces, views
// into the chunk (a line-leading dot is shared by two of them, which doubles it), in one
// gathered write. Over TLS, or when a chunk falls into more pieces than one write
// gathers, the pieces are joined into one buffer first (see max_gathered).
asio::awaitable<std::optional<Fault>> SmtpClient::write_body(BodySource& body, bool chunking, const std::string& prefix) {
  // Sized to the body when it is smaller than a chunk, and left uninitialised: a 1 KiB
  // message must not pay for allocating and zeroing 64 KiB (measurable at high rates).
  const std::size_t chunk_size = static_cast<std::size_t>(std::clamp<std::uint64_t>(body.size, 1, body_chunk));
  const auto chunk = std::make_unique_for_overwrite<char[]>(chunk_size);
  std::vector<asio::const_buffer> pieces;
  std::string joined;
  const auto add = [&pieces](std::string_view piece) { pieces.push_back(asio::buffer(piece.data(), piece.size())); };
  if (!prefix.empty()) add(prefix);
  DotStuffer stuffer;
  std::uint64_t sent = 0;
  for (;;) {
    auto n = body.read(std::span(chunk.get(), chunk_size));
    if (!n) {
      usable_ = false;
      co_return Fault{FaultKind::io_error, Stage::dot, "cannot read the queued body: " + n.error().message()};
    }
    const std::string_view piece(chunk.get(), *n);
    sent += *n;
    if (chunking) {
      if (!piece.empty()) add(piece);
    } else {
      stuffer.stuff(piece, add);
    }
    const bool last = *n == 0 || sent >= body.size;
    if (last && sent != body.size) {
      usable_ = false;
      co_return Fault{FaultKind::io_error, Stage::dot, "the queued body is shorter than its size"};
    }
    if (last && !chunking) stuffer.finish(add);
    if (!pieces.empty()) {
      if (stream_.tls_active() || pieces.size() > max_gathered) {
        joined.clear();
        for (const asio::const_buffer& b : pieces) joined.append(static_cast<const char*>(b.data()), b.size());
        pieces.assign(1, asio::buffer(joined));
      }
      if (auto fault = co_await write(pieces, settings_.data_timeout, Stage::dot)) co_return fault;
    }
    if (last) co_return std::nullopt;
    pieces.clear();
  }
}

asio::awaitable<std::optional<Fault>> SmtpClient::write_one(asio::const_buffer buffer, std::chrono::seconds timeout,
                                                            Stage stage) {
  // One buffer wrapped here: g++ 12 cannot keep a braced list alive across co_await.
  std::vector<asio::const_buffer> buffers{buffer};
  co_return co_await write(buffers, timeout, stage);
}

asio::awaitable<std::optional<Fault>> SmtpClient::write(const std::vector<asio::const_buffer>& buffers,
                                                        std::chrono::seconds timeout, Stage stage) {
  deadline_.arm(timeout);
  auto [ec, n] = co_await stream_.write(buffers);
  deadline_.disarm();
  if (ec) co_return fault_from(ec, "sending", stage);
  co_return std::nullopt;
}

asio::awaitable<std::expected<Reply, Fault>> SmtpClient::read_reply(std::chrono::seconds timeout, Stage stage) {
  std::array<char, read_chunk> chunk;
  while (true) {
    auto parsed = parser_.parse(buffer_);
    if (parsed.status == ReplyParser::Status::complete) co_return std::move(parsed.reply);
    if (parsed.status == ReplyParser::Status::malformed) {
      usable_ = false;
      co_return std::unexpected(Fault{FaultKind::protocol_error, stage, "malformed reply: " + parsed.error});
    }
    deadline_.arm(timeout);
    auto [ec, n] = co_await stream_.read_some(asio::buffer(chunk));
    deadline_.disarm();
    if (ec) co_return std::unexpected(fault_from(ec, "waiting for a reply", stage));
    buffer_.append(chunk.data(), n);
  }
}

asio::awaitable<std::expected<Reply, Fault>> SmtpClient::command(asio::const_buffer line, Stage stage,
                                                                 std::chrono::seconds timeout) {
  if (timeout.count() == 0) timeout = stage == Stage::dot ? settings_.data_timeout : settings_.command_timeout;
  if (auto fault = co_await write_one(line, timeout, stage)) co_return std::unexpected(std::move(*fault));
  co_return co_await read_reply(timeout, stage);
}

// A recipient callout. Sequential on purpose (no PIPELINING): the RCPT reply is the only
// answer that matters and RSET keeps the hop's session clean for QUIT.
asio::awaitable<Transcript> SmtpClient::verify_recipient(const std::string& sender, const std::string& recipient) {
  Transcript result;
  // A UTF-8 address is only legal in a SMTPUTF8 transaction (RFC 6531 §3.4); without the
  // parameter the hop would refuse the syntax, not the mailbox.
  const bool utf8 = capabilities_.smtputf8 && (has_eight_bit(sender) || has_eight_bit(recipient));
  const std::string mail = "MAIL FROM:<" + sender + ">" + (utf8 ? " SMTPUTF8" : "") + "\r\n";
  const std::string rcpt = "RCPT TO:<" + recipient + ">\r\n";
  static const std::string rset_command = "RSET\r\n";
  auto reply = co_await command(asio::buffer(mail), Stage::mail);
  if (!reply) co_return with_fault(std::move(reply.error()));
  result.mail = std::move(*reply);
  if (!accepted(result.mail)) co_return result;
  auto answer = co_await command(asio::buffer(rcpt), Stage::rcpt);
  if (!answer) {
    result.fault = std::move(answer.error());
    co_return result;
  }
  result.rcpt.push_back(std::move(*answer));
  (void)co_await command(asio::buffer(rset_command), Stage::mail);
  co_return result;
}

}  // namespace relay
