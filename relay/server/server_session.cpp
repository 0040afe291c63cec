// relay/server/server_session.cpp — the coroutine that drives one inbound SMTP connection.
//
// Thin by design: protocol decisions are the FSM's. The driver moves bytes over either
// the plain socket or, once TLS is up (STARTTLS or implicit), an ssl::stream layered on
// the same socket; timeouts cancel the socket, which aborts TLS operations too.
// STARTTLS: when the FSM stops in starting_tls the driver writes the 220, throws away
// every byte it has buffered (pipelined plaintext, CVE-2011-0411) and handshakes; a
// failed handshake closes the connection. Early talkers: with greeting_delay set, the
// banner waits that long and a client that speaks first gets 554 5.5.0 (plain
// listeners only: on implicit TLS the client must speak first to handshake).
// Shutdown: while the session waits for a command outside a transaction it is marked
// idle in the registry, which interrupts that wait when draining starts (421 4.3.2 at
// once); inside a transaction it goes on until the transaction ends or the grace
// period does.
#include "relay/server/server_session.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <openssl/crypto.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "queue/errc.hpp"
#include "relay/delivery/delivery_engine.hpp"
#include "health/deadline.hpp"
#include "relay/smtp/proxy_protocol.hpp"
#include "relay/smtp/require_tls.hpp"
#include "relay/delivery/queue_bridge.hpp"
#include "relay/server/body_spooler.hpp"
#include "relay/server/filter_stage.hpp"
#include "relay/server/session_tracking.hpp"
#include "relay/server/signing_stage.hpp"
#include "relay/server/tls_context.hpp"
#include "relay/server/verification.hpp"
#include "relay/throughput_ring.hpp"

namespace relay {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
// Fresh messages are delivered from memory at once; the lease keeps the retry scanner
// away from them meanwhile. Recovery after a crash clears leases.
constexpr queue::UnixMillis fresh_lease_ms = 10 * 60 * 1000;

class Session {
 public:
  Session(tcp::socket socket, ListenerContext& listener, SessionServices& services, std::uint64_t number)
      : socket_(std::move(socket)),
        deadline_(socket_.get_executor(), health::cancel_operations(socket_)),
        listener_(listener),
        services_(services),
        registration_(services.sessions, listener.counters, number, socket_),
        id_(fmt::format("{:x}", number)),
        peer_(make_peer(socket_)),
        client_limits_(listener.client_limits),
        fsm_(listener.settings, listener.policy, peer_, id_),
        spooler_(services.spool, services.config.queue.inline_body_max),
        tls_context_(listener.tls),
        filters_(socket_.get_executor(), services.config, listener.config, listener.counters, id_, services.spool),
        signing_(services.signer, services.signing, listener.config.direction, listener.counters, id_,
                 services.spool) {}

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> run() {
    spdlog::info("session={} listener={} client={} connected", id_, listener_.config.name, peer_.address);
    const auto started = std::chrono::steady_clock::now();
    observe_decisions();
    give_queue_ids();

    std::string out;
    const bool opened = co_await open_session(out);
    if (opened) {
      fsm_.start(out);
    } else if (!out.empty()) {
      co_await write(out);  // the early talker's 554 or a shutdown's 421; then close
    }
    std::string input;
    std::size_t input_offset = 0;
    auto buffer = std::make_unique_for_overwrite<char[]>(read_chunk);  // a read overwrites what it returns
    bool write_failed = false;  // no TLS close_notify on a connection that already broke

    while (opened) {
      // Feed everything buffered. The FSM stops early to let us commit, check
      // credentials, answer a policy question or start TLS.
      while (!fsm_.closed()) {
        if (fsm_.state() == ServerState::awaiting_commit) {
          co_await commit(out);
          continue;
        }
        if (fsm_.state() == ServerState::authenticating) {
          co_await authenticate(out);
          continue;
        }
        if (fsm_.state() == ServerState::checking_policy) {  // DNSBL, recipient verification
          co_await check_policy(out);
          continue;
        }
        // Draining: no new transaction, even one pipelined behind the last; the check
        // below the loop answers 421 instead.
        if (services_.sessions.draining() && !fsm_.in_transaction()) break;
        if (fsm_.state() == ServerState::starting_tls || input_offset >= input.size()) break;
        std::string_view pending(input.data() + input_offset, input.size() - input_offset);
        input_offset += fsm_.consume(pending, std::chrono::system_clock::now(), out);
        signing_.observe(fsm_.body_output(), fsm_.open_body());  // DKIM: hashed as it streams
        spooler_.drain(fsm_.body_output(), fsm_.open_body());
        signing_.drained(fsm_.body_output());
      }
      if (fsm_.state() == ServerState::starting_tls) {
        if (input_offset < input.size()) {
          spdlog::warn("session={} client={} {} octets pipelined after STARTTLS discarded", id_, peer_.address,
                       input.size() - input_offset);
        }
        input.clear();
        input_offset = 0;
      }
      if (input_offset == input.size()) {
        input.clear();
        input_offset = 0;
      }
      if (!out.empty()) {
        count_rejections(out, listener_.counters.rejections);
        if (!co_await write(out)) {
          write_failed = true;
          break;
        }
        out.clear();
      }
      if (fsm_.closed()) break;
      if (fsm_.state() == ServerState::starting_tls) {
        if (co_await handshake()) {
          fsm_.tls_started();
        } else {
          fsm_.tls_failed();
          break;
        }
        continue;
      }
      // Draining: a session with no transaction open is done (421 4.3.2); one inside a
      // transaction may finish it within the grace period.
      if (services_.sessions.draining() && !fsm_.in_transaction()) {
        fsm_.shutting_down(out);
        continue;
      }
      if (std::chrono::steady_clock::now() - started > listener_.config.timeouts.session_total) {
        fsm_.timed_out(out);
        continue;
      }

      registration_.set_idle(!fsm_.in_transaction());  // shutdown interrupts an idle wait at once
      auto [ec, n] = co_await read_some(buffer.get(), fsm_.read_timeout(listener_.config.timeouts));
      registration_.set_idle(false);
      if (deadline_.expired()) {
        fsm_.timed_out(out);
        continue;
      }
      if (ec == asio::error::operation_aborted && services_.sessions.draining()) {
        fsm_.shutting_down(out);
        continue;
      }
      if (ec) {
        if (fsm_.state() == ServerState::receiving_data)
          spdlog::info("session={} client disconnected during DATA; message discarded", id_);
        break;
      }
      input.append(buffer.get(), n);
    }

    // A graceful end (QUIT, 421 shutdown or timeout) of a TLS session says close_notify
    // (RFC 8446 §6.1) so the client can tell it from truncation; bounded by a short deadline.
    if (stream_ && fsm_.closed() && fsm_.tls_active() && !write_failed) co_await tls_close_notify();
    co_await filters_.close();
    boost::system::error_code ignored;
    stream_.reset();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    spdlog::info("session={} disconnected messages={}", id_, fsm_.messages_accepted());
  }

 private:
  static Peer make_peer(const tcp::socket& socket) {
    Peer peer;
    boost::system::error_code ec;
    auto endpoint = socket.remote_endpoint(ec);
    if (!ec) {
      peer.address = endpoint.address().to_string();
      peer.port = endpoint.port();
      if (auto ip = policy::IpAddress::parse(peer.address)) peer.ip = ip->canonical();
    }
    return peer;
  }


  // Implicit TLS handshake and the early-talker wait. False: close without a banner
  // (handshake failed, or the client talked first — then `out` holds the 554).
  asio::awaitable<bool> open_session(std::string& out) {
    if (listener_.config.proxy_protocol && !co_await read_proxy_header()) co_return false;
    if (listener_.config.tls == conf::ListenerTls::implicit) co_return co_await handshake();
    const auto delay = listener_.config.greeting_delay;
    if (delay.count() <= 0) co_return true;
    deadline_.arm(delay);
    registration_.set_idle(true);
    auto [ec] = co_await socket_.async_wait(tcp::socket::wait_read, asio::as_tuple(asio::use_awaitable));
    registration_.set_idle(false);
    deadline_.disarm();
    if (deadline_.expired()) co_return true;  // silence: a well-behaved client
    if (ec == asio::error::operation_aborted && services_.sessions.draining()) {
      fsm_.shutting_down(out);  // 421 as the greeting (RFC 5321 §3.1)
      co_return false;
    }
    spdlog::info("session={} client={} early talker: input before the banner", id_, peer_.address);
    fsm_.early_talker(out);
    co_return false;
  }

  // PROXY protocol: only a configured balancer may send the header, and it must send
  // one; the client address policy and logs use from then on is the proxied one. Read
  // exactly the header's length (v2 says it; v1 octet by octet up to its LF, at most
  // 107), so nothing after it is consumed here — it may be a TLS ClientHello.
  asio::awaitable<bool> read_proxy_header() {
    const bool allowed = std::ranges::any_of(listener_.config.proxy_from, [&](const std::string& text) {
      const auto cidr = policy::Cidr::parse(text);
      return cidr && cidr->contains(peer_.ip);
    });
    if (!allowed) {
      spdlog::warn("session={} client={} refused: not in proxy_from of listener {}", id_, peer_.address,
                   listener_.config.name);
      co_return false;
    }
    std::string header;
    std::string piece;
    deadline_.arm(listener_.config.timeouts.command);
    ProxyParse parsed;
    for (std::size_t round = 0; round <= limits::max_proxy_v2; ++round) {
      std::size_t needed = 0;
      parsed = parse_proxy_header(header, &needed);
      if (parsed.status != ProxyStatus::need_more) break;
      piece.resize(needed > header.size() ? needed - header.size() : 1);
      auto [ec, n] = co_await asio::async_read(socket_, asio::buffer(piece), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      header.append(piece, 0, n);
    }
    deadline_.disarm();
    if (parsed.status != ProxyStatus::ok) {
      spdlog::warn("session={} balancer={} bad PROXY header: {}", id_, peer_.address,
                   parsed.status == ProxyStatus::invalid ? parsed.error : std::string_view("incomplete"));
      co_return false;
    }
    if (!parsed.header.local) {
      spdlog::info("session={} balancer={} client={} (PROXY v{})", id_, peer_.address, parsed.header.source_address,
                   parsed.header.version);
      Peer proxied;
      proxied.address = parsed.header.source_address;
      proxied.port = parsed.header.source_port;
      if (auto ip = policy::IpAddress::parse(proxied.address)) proxied.ip = ip->canonical();
      peer_ = proxied;
      fsm_.set_peer(std::move(proxied));
    }
    co_return true;
  }

  asio::awaitable<bool> handshake() {
    if (!tls_context_) {
      spdlog::error("session={} TLS requested but listener {} has no TLS context", id_, listener_.config.name);
      co_return false;
    }
    stream_.emplace(socket_, tls_context_->native());
    deadline_.arm(listener_.config.timeouts.command);
    auto [ec] = co_await stream_->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    deadline_.disarm();
    if (ec) {
      spdlog::info("session={} client={} TLS handshake failed: {}", id_, peer_.address,
                   deadline_.expired() ? std::string("timeout") : ec.message());
      stream_.reset();
      co_return false;
    }
    const SSL* ssl = stream_->native_handle();
    spdlog::info("session={} client={} TLS established: {} {}", id_, peer_.address, SSL_get_version(ssl),
                 SSL_get_cipher_name(ssl));
    co_return true;
  }

  // Checks AUTH credentials. PBKDF2 runs on this thread (tens of milliseconds at the
  // default cost); the per-address throttle bounds how often a guesser can make us do it.
  asio::awaitable<void> authenticate(std::string& out) {
    AuthRequest request = fsm_.take_auth_request();
    const std::string user = printable(request.user);
    auto verdict = listener_.auth_throttle.check(peer_.address, std::chrono::steady_clock::now());
    if (verdict.refused) {
      spdlog::warn("session={} client={} AUTH refused: address locked out after repeated failures", id_, peer_.address);
      OPENSSL_cleanse(request.password.data(), request.password.size());
      fsm_.auth_done(AuthResult::locked_out, out);
      co_return;
    }
    if (verdict.delay.count() > 0) {
      asio::steady_timer pause(socket_.get_executor());
      pause.expires_after(verdict.delay);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    const bool ok = listener_.policy.authenticate(request.user, request.password);
    OPENSSL_cleanse(request.password.data(), request.password.size());
    if (ok) {
      listener_.auth_throttle.success(peer_.address);
      spdlog::info("session={} client={} authenticated user={}", id_, peer_.address, user);
      fsm_.auth_done(AuthResult::success, out);
    } else {
      listener_.auth_throttle.failure(peer_.address, std::chrono::steady_clock::now());
      spdlog::warn("session={} client={} AUTH failed user={}", id_, peer_.address, user);
      fsm_.auth_done(AuthResult::failure, out);
    }
  }

  // Answers the FSM's asynchronous policy question: the content filters' envelope stages
  // (relay/server/filter_stage), DNSBL and recipient verification (relay/server/verification).
  // Without the services asked for (cannot happen: the settings only ask when they exist)
  // the answer is "accept", so a session never hangs in checking_policy.
  asio::awaitable<void> check_policy(std::string& out) {
    PolicyAnswer answer;
    const PolicyQuery& query = fsm_.take_policy_query();
    if (is_filter_query(query.kind)) {
      answer = co_await filters_.answer(query, filter_facts(query.queue_id, fsm_.auth_user()));
    } else if (listener_.verification) {
      ListenerVerification::Context context{socket_.get_executor(), &services_.delivery.ejection(),
                                            &listener_.counters, id_, listener_.config.name};
      answer = co_await listener_.verification->answer(query, std::move(context));
    }
    fsm_.policy_answered(answer, out);
  }

  asio::awaitable<void> tls_close_notify() {
    deadline_.arm(std::chrono::seconds(2));
    auto [ec] = co_await stream_->async_shutdown(asio::as_tuple(asio::use_awaitable));
    deadline_.disarm();
    // Errors are expected (a client that closes without its own close_notify) and harmless.
    if (ec && ec != asio::error::eof && ec != asio::ssl::error::stream_truncated) {
      spdlog::debug("session={} TLS shutdown: {}", id_, ec.message());
    }
  }

  // A client-chosen name in a log line: printable ASCII only, bounded.
  static std::string printable(std::string_view text) {
    std::string out;
    for (const char c : text.substr(0, 64)) out += (c > 0x20 && c < 0x7f) ? c : '?';
    return out;
  }

  asio::awaitable<void> commit(std::string& out) {
    const std::uint64_t body_number = fsm_.open_body();
    Transaction tx = fsm_.take_transaction();
    queue::NewMessage message;
    message.id = tx.queue_id.number;  // reserved at MAIL: the Received: header names it
    message.direction = listener_.config.direction;
    message.listener = listener_.config.name;
    message.client_address = peer_.address;
    message.helo = std::move(tx.helo);
    message.sender = std::move(tx.sender);
    message.mail_parameters = std::move(tx.mail_parameters);
    message.recipients = std::move(tx.recipients);
    message.recipient_parameters = std::move(tx.recipient_parameters);  // DSN NOTIFY/ORCPT
    if (!tx.auth_user.empty()) {
      spdlog::info("session={} message submitted by authenticated user={}", id_, printable(tx.auth_user));
    }
    const std::size_t recipients = message.recipients.size();
    const bool chunked = tx.chunked;
    const auto refuse = [&](std::error_code ec, std::string_view what) {
      ++listener_.counters.commit_failures;
      const bool full = queue::to_queue_error(ec) == queue::errc::storage_full;
      spdlog::error("session={} {}: {}", id_, what, ec.message());
      fsm_.commit_done(full ? CommitStatus::storage_full : CommitStatus::temporary_failure, {}, out);
    };
    // A spooled body: its file is flushed on the sync pool while the envelope naming it
    // commits; the 250 waits for both (queue_bridge commit_spooled). On failure the file
    // is unlinked unless a committed envelope names it.
    std::optional<queue::FinishedBody> file;
    if (auto finished = spooler_.finish(tx.body)) {
      if (!*finished) co_return refuse(finished->error(), "cannot write the message body");
      if (services_.body_sync == nullptr) co_return refuse(make_error_code(queue::errc::internal), "no body sync pool");
      message.body_file = (*finished)->name();
      message.body_file_size = (*finished)->size();
      file = std::move(**finished);
    } else {
      message.body = std::move(tx.body);
    }
    // RFC 8689 §4.1: "TLS-Required: No" is read once, from the header section as received;
    // it is kept with the MAIL parameters after the filters (they never see the flag).
    const bool tls_not_required = says_tls_not_required(file ? spooler_.head() : std::string_view(message.body));
    message.received_at = unix_now_ms();
    // Content filters (relay/server/filter_stage): may modify the message, or answer for it.
    FilterVerdict filtered;
    if (filters_.enabled()) {
      filtered = co_await filters_.check(message, file, filter_facts(tx.queue_id.text, tx.auth_user));
      if (answer_unstored(filtered, fsm_, tx.queue_id.text, out)) co_return;
      // Quarantined: stored held in the same commit, so no crash can let it be delivered.
      if (filtered.kind == FilterVerdict::Kind::quarantine) message.held_reason = filtered.reason;
    }
    // DKIM (relay/server/signing_stage): signs what the filters left, reading again only
    // what they changed; never refuses.
    std::string signatures;
    if (signing_.enabled()) signatures = co_await signing_.sign(message, file, body_number, filtered.changed);
    if (tls_not_required) {
      if (!message.mail_parameters.empty()) message.mail_parameters += ' ';
      message.mail_parameters += tls_optional_flag;
    }
    const std::uint64_t size =
        file ? message.body_prefix.size() + file->size() - message.body_skip : message.body.size();
    const queue::UnixMillis lease_until = unix_now_ms() + queue::lease_time(services_.config.queue, fresh_lease_ms);
    CommitResult result = std::unexpected(make_error_code(queue::errc::internal));
    if (file) {
      result = co_await commit_spooled(services_.queue, *services_.body_sync, std::move(message), std::move(*file),
                                       lease_until);
    } else {
      result = co_await commit_message(services_.queue, std::move(message), lease_until);
    }
    if (!result) co_return refuse(result.error(), "queue commit failed");
    const std::string qid = queue::format_queue_id(result->id);
    ++listener_.counters.messages_received;
    listener_.counters.recipients_received += recipients;
    listener_.counters.bytes_received += size;
    if (services_.throughput)
      services_.throughput->add(listener_.config.direction, ThroughputRing::Flow::in, result->received_at / 1000);
    spdlog::info("session={} qid={} listener={} from=<{}> nrcpt={} size={} via={}{}{} queued", id_, qid,
                 listener_.config.name, result->sender, recipients, size, chunked ? "BDAT" : "DATA",
                 signatures.empty() ? "" : " dkim=", signatures);
    track_reception(services_.tracking, *result, listener_.config, peer_.address, fsm_.helo(), stream_ ? stream_->native_handle() : nullptr, spooler_.head(), signatures);
    fsm_.commit_done(CommitStatus::committed, qid, out);
    if (filtered.kind == FilterVerdict::Kind::quarantine) {
      spdlog::info("session={} qid={} held: {}", id_, qid, filtered.reason);
      co_return;
    }
    services_.delivery.submit(std::move(*result));
  }

  FilterFacts filter_facts(const std::string& queue_id, const std::string& auth_user) {
    FilterFacts facts{listener_.settings.hostname, listener_.config.name, peer_.address, peer_.port};
    boost::system::error_code ec;
    if (const auto local = socket_.local_endpoint(ec); !ec) facts.local_address = local.address().to_string();
    if (stream_ && fsm_.tls_active()) {
      facts.tls_version = SSL_get_version(stream_->native_handle());
      facts.cipher = SSL_get_cipher_name(stream_->native_handle());
    }
    facts.queue_id = queue_id;
    facts.auth_user = auth_user;
    return facts;
  }

  // Arms the session timer so a silent peer cannot hold the session forever.
  asio::awaitable<std::tuple<boost::system::error_code, std::size_t>> read_some(char* data,
                                                                                 std::chrono::seconds timeout) {
    deadline_.arm(timeout);
    // Plain if/else rather than ?: around co_await (g++ 12 coroutine pitfalls).
    std::tuple<boost::system::error_code, std::size_t> result;
    if (stream_) {
      result = co_await stream_->async_read_some(asio::buffer(data, read_chunk), asio::as_tuple(asio::use_awaitable));
    } else {
      result = co_await socket_.async_read_some(asio::buffer(data, read_chunk), asio::as_tuple(asio::use_awaitable));
    }
    deadline_.disarm();
    co_return result;
  }

  asio::awaitable<bool> write(const std::string& data) {
    deadline_.arm(listener_.config.timeouts.command);
    std::tuple<boost::system::error_code, std::size_t> result;
    if (stream_) {
      result = co_await asio::async_write(*stream_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    } else {
      result = co_await asio::async_write(socket_, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
    }
    const boost::system::error_code ec = std::get<0>(result);
    deadline_.disarm();
    if (ec) spdlog::info("session={} write failed: {}", id_, ec.message());
    co_return !ec;
  }

  // Each accepted MAIL takes its message's queue id from the queue now, so the Received:
  // header names the id the message will have in `hubrelay queue show` and the log.
  void give_queue_ids() {
    fsm_.set_queue_id_source([this]() -> std::optional<ReservedQueueId> {
      const auto id = services_.queue.reserve_id();
      if (!id) {
        spdlog::warn("session={} no queue id reserved yet: MAIL answered 451", id_);
        return std::nullopt;
      }
      return ReservedQueueId{*id, queue::format_queue_id(*id)};
    });
  }

  // One log line per policy decision (info unless it accepted: debug), naming the reply
  // and the envelope it was about (relay/server/decision_log), a tracking record per
  // refusal (relay/server/session_tracking), and the
  // per-listener counter behind hubrelay_policy_decisions_total.
  void observe_decisions() {
    fsm_.set_client_limits(client_limits_.get(), [] { return std::chrono::steady_clock::now(); });
    fsm_.set_decision_observer([this](const PolicyEvent& event) {
      const std::string_view verdict = policy::to_string(event.decision.verdict);
      const std::string_view reason = policy::to_string(event.decision.reason);
      ++listener_.counters.policy_decisions[{to_string(event.stage), verdict, reason}];
      track_refusal(services_.tracking, event, listener_.config, fsm_.peer().address);
      const auto level = event.decision.accepted() ? spdlog::level::debug : spdlog::level::info;
      if (!spdlog::should_log(level)) return;
      spdlog::log(level, "{}", decision_log_line(id_, listener_.config.name, fsm_.peer().address, event));
    });
  }

  tcp::socket socket_;
  health::Deadline deadline_;
  ListenerContext& listener_;
  SessionServices& services_;
  // Registry entry and sessions_active for the session's lifetime (after socket_: it
  // points there); undone by the destructor even when an exception ends run().
  SessionRegistration registration_;
  std::string id_;
  Peer peer_;
  // Declared before fsm_: the FSM's connection slot points into it until it is destroyed.
  std::shared_ptr<policy::ClientLimits> client_limits_;
  ServerFsm fsm_;
  BodySpooler spooler_;
  std::shared_ptr<TlsContext> tls_context_;
  // After the handshake all I/O goes through here; the socket stays owned above.
  std::optional<asio::ssl::stream<tcp::socket&>> stream_;
  FilterStage filters_;
  SigningStage signing_;
};

}  // namespace

asio::awaitable<void> run_server_session(tcp::socket socket, ListenerContext& listener, SessionServices& services,
                                         std::uint64_t session_number) {
  Session session(std::move(socket), listener, services, session_number);
  co_await session.run();
}

}  // namespace relay
