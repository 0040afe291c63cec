// relay/server/server_fsm.cpp — the server session rules.
//
// Each command handler runs in the same order: (1) sequence check (503), (2) syntax
// check (501/555/504), (3) limits and policy, (4) effect and positive reply. Errors that
// count towards max_errors are the client's mistakes — unknown verbs, syntax, bad
// sequence, over-long lines — and 5xx policy refusals (so a relay prober or a
// dictionary attack is cut off); limits the client is told to work around (452 too many
// recipients, 552 size) and 4xx policy deferrals do not count.
// Line framing: a command ends at LF; a CR before it is removed. Accepting a bare LF
// here is harmless (unlike inside DATA, it cannot move a message boundary) and keeps
// hand-driven testing with netcat working. A line longer than 512 octets incl. CRLF
// (RFC 5321 §4.5.3.1.4; 12288 for AUTH lines, RFC 4954 §4) is discarded up to its LF and
// answered 500 5.5.2 once.
// Pipelining (RFC 2920): every complete line in the input is processed in order and the
// replies accumulate in `out`; the driver writes them when the input is used up.
#include "relay/server/server_fsm.hpp"

#include <algorithm>
#include <array>
#include <optional>

#include "policy/base64.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "relay/smtp/received_header.hpp"

namespace relay {
namespace {

constexpr std::size_t max_command_content = limits::max_command_line - 2;  // without CRLF

bool has_control_or_eight_bit(std::string_view text) noexcept {
  return std::ranges::any_of(text, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u >= 0x7f;
  });
}

ReplyId mail_error_reply(EnvelopeError error) noexcept {
  switch (error) {
    case EnvelopeError::syntax: return ReplyId::mail_syntax;
    case EnvelopeError::bad_address: return ReplyId::bad_sender_syntax;
    case EnvelopeError::non_ascii_address: return ReplyId::non_ascii_address;
    case EnvelopeError::bad_parameters: return ReplyId::syntax_error;
  }
  return ReplyId::syntax_error;
}

ReplyId rcpt_error_reply(EnvelopeError error) noexcept {
  switch (error) {
    case EnvelopeError::syntax: return ReplyId::rcpt_syntax;
    case EnvelopeError::bad_address: return ReplyId::bad_recipient_syntax;
    case EnvelopeError::non_ascii_address: return ReplyId::non_ascii_address;
    case EnvelopeError::bad_parameters: return ReplyId::syntax_error;
  }
  return ReplyId::syntax_error;
}

ReplyId parameter_error_reply(ParameterError error) noexcept {
  switch (error) {
    case ParameterError::unknown_keyword: return ReplyId::parameters_not_recognized;
    case ParameterError::bad_value: return ReplyId::syntax_error;
    case ParameterError::unsupported_value: return ReplyId::parameter_not_implemented;
  }
  return ReplyId::syntax_error;
}

}  // namespace

std::string_view to_string(ServerState s) noexcept {
  switch (s) {
    case ServerState::greeting: return "greeting";
    case ServerState::awaiting_helo: return "awaiting_helo";
    case ServerState::ready: return "ready";
    case ServerState::in_transaction: return "in_transaction";
    case ServerState::receiving_data: return "receiving_data";
    case ServerState::awaiting_commit: return "awaiting_commit";
    case ServerState::starting_tls: return "starting_tls";
    case ServerState::receiving_chunk: return "receiving_chunk";
    case ServerState::authenticating: return "authenticating";
    case ServerState::closed: return "closed";
    case ServerState::checking_policy: return "checking_policy";
  }
  return "unknown";
}

ServerFsm::ServerFsm(const ServerSettings& settings, const policy::ListenerPolicy& policy, Peer peer,
                     std::string session_id)
    : settings_(settings),
      policy_(&policy),
      peer_(std::move(peer)),
      session_id_(std::move(session_id)),
      tls_(settings.tls == conf::ListenerTls::implicit) {}

void ServerFsm::enter(ServerState next) noexcept {
  if (next == state_) return;
  const ServerState previous = state_;
  state_ = next;
  if (observer_) observer_(previous, next);
}

void ServerFsm::reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args) {
  append_reply(out, id, args);
  last_reply_ = id;
}

void ServerFsm::close_with(std::string& out, ReplyId id) {
  reply(out, id, {settings_.hostname});
  enter(ServerState::closed);
}

void ServerFsm::error_reply(std::string& out, ReplyId id) {
  reply(out, id);
  ++errors_;
  // max_errors == 0 disables the limit.
  if (settings_.max_errors != 0 && errors_ >= settings_.max_errors) close_with(out, ReplyId::too_many_errors);
}

void ServerFsm::reset_transaction() noexcept {
  transaction_ = Transaction{};
  rcpt_tried_ = false;
  bdat_started_ = false;
  chunked_octets_ = 0;
  chunk_cr_pending_ = false;
  chunk_too_big_ = false;
  chunk_bare_line_endings_ = 0;
  body_start_ = 0;
}

void ServerFsm::start(std::string& out) {
  if (state_ != ServerState::greeting) return;
  auto decision = policy_->on_connect(policy::Client{peer_.ip, false});
  // Issue 6: per-client limits only for clients the policy lets in at all.
  if (decision.accepted() && limits_ != nullptr) {
    decision = limits_->admit(peer_.ip, peer_trusted(), steady_now(), connection_slot_);
  }
  if (!decision.accepted()) {
    decided(PolicyStage::connect, decision);
    close_with(out, reply_for(decision, PolicyStage::connect));
    return;
  }
  // Issue 6: DNSBL before the banner (dnsbl_check = "connect"); the answer decides and
  // sends the banner or the refusal.
  if (settings_.dnsbl && settings_.dnsbl_at_connect && !peer_trusted()) {
    query_at_connect_ = true;
    return ask(PolicyQuery{PolicyQueryKind::dnsbl, peer_.ip, peer_.address, {}, {}}, out);
  }
  decided(PolicyStage::connect, decision);
  reply(out, ReplyId::banner, {settings_.hostname});
  enter(ServerState::awaiting_helo);
}

std::size_t ServerFsm::consume(std::string_view input, SystemTime now, std::string& out) {
  std::size_t used = 0;
  while (used < input.size()) {
    const std::string_view rest = input.substr(used);
    switch (state_) {
      case ServerState::awaiting_helo:
      case ServerState::ready:
      case ServerState::in_transaction:
        used += consume_command_bytes(rest, now, out);
        break;
      case ServerState::receiving_data:
        used += consume_data_bytes(rest, out);
        break;
      case ServerState::receiving_chunk:
        used += consume_chunk_bytes(rest, out);
        break;
      case ServerState::greeting:
      case ServerState::awaiting_commit:
      case ServerState::starting_tls:
      case ServerState::authenticating:
      case ServerState::checking_policy:
      case ServerState::closed:
        return used;
    }
  }
  return used;
}

// Consumes at most one command line (or everything, when no LF is in sight).
std::size_t ServerFsm::consume_command_bytes(std::string_view input, SystemTime now, std::string& out) {
  const std::size_t lf = input.find('\n');
  // The first octets of the line decide its limit (AUTH lines may be longer).
  std::string head = line_.substr(0, 5);
  if (head.size() < 5) head.append(input.substr(0, 5 - head.size()));
  const std::size_t limit = command_content_limit(head);
  if (lf == std::string_view::npos) {
    if (!discarding_line_) {
      // 511 octets may still be a 510-octet line plus the CR of its CRLF.
      if (line_.size() + input.size() > limit + 1) {
        discarding_line_ = true;
        std::string().swap(line_);
      } else {
        line_.append(input);
      }
    }
    return input.size();
  }
  const std::size_t used = lf + 1;
  if (discarding_line_) {
    discarding_line_ = false;
    auth_step_ = AuthStep::none;  // an over-long AUTH response ends the exchange
    error_reply(out, ReplyId::line_too_long);
    return used;
  }
  if (line_.size() + lf > limit + 1) {
    line_.clear();
    auth_step_ = AuthStep::none;  // an over-long AUTH response ends the exchange
    error_reply(out, ReplyId::line_too_long);
    return used;
  }
  std::string_view line = input.substr(0, lf);
  if (!line_.empty()) {
    line_.append(line);
    line = line_;
  }
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.size() > limit) {
    line_.clear();
    auth_step_ = AuthStep::none;  // an over-long AUTH response ends the exchange
    error_reply(out, ReplyId::line_too_long);
    return used;
  }
  handle_command(line, now, out);
  line_.clear();
  return used;
}

std::size_t ServerFsm::consume_data_bytes(std::string_view input, std::string& out) {
  const auto step = decoder_.decode(input, transaction_.body);
  // Once the message is certain to be refused, release what was buffered.
  if (decoder_.output_discarded() && transaction_.body.capacity() != 0) std::string().swap(transaction_.body);
  if (step.finished) finish_data(out);
  return step.consumed;
}

void ServerFsm::handle_command(std::string_view line, SystemTime now, std::string& out) {
  if (auth_step_ != AuthStep::none) return on_auth_response(line, out);
  const Command command = parse_command(line);
  switch (command.verb) {
    case Verb::ehlo:
      on_helo(command, true, out);
      return;
    case Verb::helo:
      on_helo(command, false, out);
      return;
    case Verb::mail:
      on_mail(command, out);
      return;
    case Verb::rcpt:
      on_rcpt(command, out);
      return;
    case Verb::data:
      on_data(command, now, out);
      return;
    case Verb::rset:
      if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
      reset_transaction();
      if (state_ == ServerState::in_transaction) enter(ServerState::ready);
      return reply(out, ReplyId::ok);
    case Verb::noop:  // "NOOP [ SP String ]" (§4.1.1.9): the argument is ignored
      return reply(out, ReplyId::ok);
    case Verb::quit:
      if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
      return close_with(out, ReplyId::closing);
    case Verb::vrfy:
      if (command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
      return reply(out, ReplyId::cannot_verify);
    case Verb::help:
      return reply(out, ReplyId::help);
    case Verb::starttls:
      on_starttls(command, out);
      return;
    case Verb::bdat:
      on_bdat(command, now, out);
      return;
    case Verb::auth:
      on_auth(command, out);
      return;
    case Verb::expn:
      // Known verbs we do not offer: 502, not counted — a client probing for an
      // extension it saw elsewhere is not misbehaving.
      return reply(out, ReplyId::command_not_implemented);
    case Verb::unknown:
      return error_reply(out, ReplyId::command_unrecognized);
  }
}

void ServerFsm::on_helo(const Command& command, bool extended, std::string& out) {
  const std::string_view name = command.argument.substr(0, command.argument.find(' '));
  if (name.empty() || has_control_or_eight_bit(command.argument)) return error_reply(out, ReplyId::helo_syntax);
  // Issue 6: HELO checks. A refused HELO changes nothing; the client may try again.
  const auto decision = policy_->on_helo(policy::Client{peer_.ip, authenticated(), auth_user_}, name);
  decided(PolicyStage::helo, decision);
  if (!decision.accepted()) {
    const ReplyId id = reply_for(decision, PolicyStage::helo);
    return reply_spec(id).code >= 500 ? error_reply(out, id) : reply(out, id);
  }
  helo_.assign(name);
  esmtp_ = extended;
  // EHLO/HELO in the middle of a transaction resets it (RFC 5321 §4.1.4).
  reset_transaction();
  enter(ServerState::ready);
  if (!extended) return reply(out, ReplyId::helo_greeting, {settings_.hostname});
  // BINARYMIME is not offered: a binary body could not be carried to a hop that only
  // speaks DATA, so CHUNKING here is for efficiency, not for binary content.
  std::vector<std::string> extensions{
      "PIPELINING",
      "SIZE " + std::to_string(settings_.max_message_size),  // RFC 1870: 0 means no fixed limit
      "8BITMIME",
      "ENHANCEDSTATUSCODES",
      "CHUNKING",
      "DSN",       // RFC 3461: RET, ENVID, NOTIFY, ORCPT (relay/esmtp_parameters)
      "SMTPUTF8",  // RFC 6531: UTF-8 paths after MAIL ... SMTPUTF8
  };
  if (!tls_ && (settings_.tls == conf::ListenerTls::offered || settings_.tls == conf::ListenerTls::required)) {
    extensions.emplace_back("STARTTLS");
  }
  if (settings_.auth && auth_allowed() && !authenticated()) extensions.emplace_back("AUTH PLAIN LOGIN");
  append_multiline_reply(out, ReplyId::ehlo_greeting, extensions, {settings_.hostname});
  last_reply_ = ReplyId::ehlo_greeting;
}

void ServerFsm::on_mail(const Command& command, std::string& out) {
  if (state_ == ServerState::awaiting_helo) return error_reply(out, ReplyId::need_helo);
  if (state_ == ServerState::in_transaction) return error_reply(out, ReplyId::nested_mail);
  if (!tls_ && settings_.tls == conf::ListenerTls::required) return error_reply(out, ReplyId::tls_required);
  // The path is read allowing UTF-8 because SMTPUTF8 comes after it; without SMTPUTF8 an
  // 8-bit path is refused below (553 5.6.7). On failure the strict parse names the error.
  auto mail = parse_mail_from(command.argument, PathOptions{.allow_utf8 = true});
  if (!mail) {
    auto strict = parse_mail_from(command.argument);
    return error_reply(out, mail_error_reply(strict ? mail.error() : strict.error()));
  }
  auto parameters = interpret_mail_extensions(mail->parameters);
  if (!parameters) return error_reply(out, parameter_error_reply(parameters.error()));
  if (!parameters->smtputf8 && has_eight_bit(mail->sender)) return error_reply(out, ReplyId::non_ascii_address);
  // RFC 1870 §6.1: refuse at MAIL a message declared larger than we would take.
  if (parameters->basic.size && settings_.max_message_size != 0 &&
      *parameters->basic.size > settings_.max_message_size) {
    return reply(out, ReplyId::message_too_big);
  }
  auto decision = policy_->on_mail(policy::Client{peer_.ip, authenticated(), auth_user_}, mail->sender);
  // Issue 6: a refused MAIL costs no token; the rate counts what would be accepted.
  if (decision.accepted() && limits_ != nullptr) decision = limits_->take_message(peer_.ip, peer_trusted(), steady_now());
  decided(PolicyStage::mail, decision);
  if (!decision.accepted()) {
    const ReplyId id = reply_for(decision, PolicyStage::mail);
    return reply_spec(id).code >= 500 ? error_reply(out, id) : reply(out, id);
  }
  transaction_ = Transaction{};
  transaction_.helo = helo_;
  transaction_.sender = std::move(mail->sender);
  transaction_.mail_parameters.assign(mail->parameter_text);
  transaction_.eight_bit = parameters->basic.body == BodyType::eight_bit_mime;
  transaction_.smtputf8 = parameters->smtputf8;
  rcpt_tried_ = false;
  reply(out, ReplyId::sender_ok);
  enter(ServerState::in_transaction);
}

void ServerFsm::on_rcpt(const Command& command, std::string& out) {
  if (state_ != ServerState::in_transaction) return error_reply(out, ReplyId::need_mail);
  // Any RCPT, even a malformed one, counts as tried: RFC 5321 §3.3 "or all such
  // commands were rejected" decides between 503 and 554 at DATA.
  rcpt_tried_ = true;
  if (bdat_started_) return error_reply(out, ReplyId::bad_sequence);  // RFC 3030 §2: no RCPT between chunks
  auto rcpt = parse_rcpt_to(command.argument, PathOptions{.allow_utf8 = transaction_.smtputf8});
  if (!rcpt) return error_reply(out, rcpt_error_reply(rcpt.error()));
  if (auto parameters = interpret_rcpt_parameters(rcpt->parameters); !parameters) {
    return error_reply(out, parameter_error_reply(parameters.error()));
  }
  // A repeated recipient is acknowledged again but stored (and counted) once.
  if (std::ranges::find(transaction_.recipients, rcpt->recipient) != transaction_.recipients.end()) {
    return reply(out, ReplyId::recipient_ok);
  }
  // RFC 5321 §4.5.3.1.10: 452, so the client sends the rest in another transaction.
  if (transaction_.recipients.size() >= settings_.max_recipients) {
    decided(PolicyStage::rcpt, policy::Decision::defer(policy::Reason::too_many_recipients));
    return reply(out, ReplyId::too_many_recipients);
  }
  const auto decision = policy_->on_rcpt(policy::Client{peer_.ip, authenticated(), auth_user_}, rcpt->recipient);
  if (!decision.accepted()) return refuse_recipient(decision, out);
  // Issue 6: DNSBL and recipient verification may ask the driver first; the recipient
  // rate is taken last, so a refused recipient costs no token. One RCPT is open at a
  // time (pipelined ones wait), so its DSN parameters wait here until it is accepted.
  rcpt_parameters_.assign(rcpt->parameter_text);
  after_rcpt_policy(std::move(rcpt->recipient), out);
}

void ServerFsm::on_data(const Command& command, SystemTime now, std::string& out) {
  if (state_ != ServerState::in_transaction) return error_reply(out, ReplyId::need_mail);
  if (transaction_.recipients.empty()) {
    return error_reply(out, rcpt_tried_ ? ReplyId::no_valid_recipients : ReplyId::need_rcpt);
  }
  if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  // RFC 3030 §3: DATA may not follow BDAT within one transaction.
  if (bdat_started_) return error_reply(out, ReplyId::bad_sequence);
  begin_body(now);
  decoder_.reset(DataDecoder::Options{
      .max_size = settings_.max_message_size,
      .refuse_bare_line_endings = settings_.bare_line_endings == BareLineEndings::reject,
  });
  reply(out, ReplyId::start_data);
  enter(ServerState::receiving_data);
}

void ServerFsm::finish_data(std::string& out) {
  // Size first: it is the refusal a client can act on most directly.
  ReplyId refusal = ReplyId::count_;
  if (decoder_.too_big()) {
    refusal = ReplyId::message_too_big;
  } else if (decoder_.bare_line_ending_seen() && settings_.bare_line_endings == BareLineEndings::reject) {
    refusal = ReplyId::bare_line_ending;
  } else if (decoder_.text_line_too_long()) {
    refusal = ReplyId::text_line_too_long;
  } else if (header_over_limit(transaction_.body)) {
    refusal = ReplyId::header_too_big;
  }
  if (refusal != ReplyId::count_) {
    if (refusal == ReplyId::message_too_big) {
      decided(PolicyStage::data, policy::Decision::reject(policy::Reason::message_too_large));
    }
    ++messages_refused_;
    reset_transaction();
    enter(ServerState::ready);
    return reply(out, refusal);
  }
  enter(ServerState::awaiting_commit);
}

// Issue 6: every policy evaluation passes here, so the driver sees each one once.
void ServerFsm::decided(PolicyStage stage, policy::Decision decision) {
  last_decision_ = decision;
  last_decision_stage_ = stage;
  if (decision_observer_) decision_observer_(stage, decision);
}

bool ServerFsm::peer_trusted() const noexcept {
  return policy_->trusted(policy::Client{peer_.ip, authenticated(), auth_user_});
}

Transaction ServerFsm::take_transaction() {
  Transaction taken = std::move(transaction_);
  transaction_ = Transaction{};
  return taken;
}

void ServerFsm::commit_done(CommitStatus status, std::string_view queue_id, std::string& out) {
  if (state_ != ServerState::awaiting_commit) return;
  switch (status) {
    case CommitStatus::committed:
      ++messages_accepted_;
      reply(out, ReplyId::queued, {queue_id});
      break;
    case CommitStatus::temporary_failure:
      reply(out, ReplyId::local_error);
      break;
    case CommitStatus::storage_full:
      reply(out, ReplyId::insufficient_storage);
      break;
  }
  reset_transaction();
  enter(ServerState::ready);
}

void ServerFsm::timed_out(std::string& out) {
  if (state_ == ServerState::closed) return;
  close_with(out, ReplyId::timeout);
}

void ServerFsm::shutting_down(std::string& out) {
  if (state_ == ServerState::closed) return;
  close_with(out, ReplyId::shutting_down);
}

std::chrono::seconds ServerFsm::read_timeout(const conf::ServerTimeouts& t) const noexcept {
  // RFC 5321 §4.5.3.2: 5 minutes for a command, 3 minutes per DATA block.
  const bool data = state_ == ServerState::receiving_data || state_ == ServerState::receiving_chunk;
  return data ? t.data_block : t.command;
}

}  // namespace relay

// --- Issue 3: STARTTLS, BDAT, early talkers --------------------------------------------

namespace relay {

// The trace header is written first so the message never needs to be copied to prepend
// it; everything it names is fixed once DATA or the first BDAT is accepted.
void ServerFsm::begin_body(SystemTime now) {
  transaction_.body = build_received_header(ReceivedFields{
      .helo = helo_,
      .peer_address = peer_.address,
      .hostname = settings_.hostname,
      .esmtp = esmtp_,
      .id = session_id_,
      .recipients = transaction_.recipients,
      .when = now,
      .tls = tls_,
      .authenticated = authenticated(),
  });
  // Issue 6: the DNSBL tag sits right after our Received:, before the client's header.
  if (!dnsbl_header_.empty() && !peer_trusted()) transaction_.body += dnsbl_header_;
  body_start_ = transaction_.body.size();
  transaction_.tls = tls_;
  transaction_.auth_user = auth_user_;
}

// The header section ends at the first empty line; a message without one is all header.
bool ServerFsm::header_over_limit(std::string_view body) const noexcept {
  if (settings_.max_header_size == 0 || body.size() <= body_start_) return false;
  const std::string_view message = body.substr(body_start_);
  std::size_t header = message.size();
  if (message.starts_with("\r\n")) {
    header = 0;
  } else if (const auto blank = message.find("\r\n\r\n"); blank != std::string_view::npos) {
    header = blank + 2;
  }
  return header > settings_.max_header_size;
}

void ServerFsm::on_starttls(const Command& command, std::string& out) {
  if (settings_.tls == conf::ListenerTls::off) return reply(out, ReplyId::command_not_implemented);
  // Covers implicit TLS too: TLS is already up from the first byte.
  if (tls_) return error_reply(out, ReplyId::tls_already_active);
  if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  if (state_ == ServerState::awaiting_helo) return error_reply(out, ReplyId::need_helo);
  if (state_ == ServerState::in_transaction) return error_reply(out, ReplyId::bad_sequence);
  reply(out, ReplyId::ready_to_start_tls);
  // Nothing the client sent after this line may be acted on (CVE-2011-0411): consume()
  // stops here and the driver throws away whatever it has buffered.
  line_.clear();
  discarding_line_ = false;
  enter(ServerState::starting_tls);
}

void ServerFsm::tls_started() {
  if (state_ != ServerState::starting_tls) return;
  tls_ = true;
  auth_user_.clear();
  auth_step_ = AuthStep::none;
  helo_.clear();
  esmtp_ = false;
  reset_transaction();
  line_.clear();
  discarding_line_ = false;
  enter(ServerState::awaiting_helo);
}

void ServerFsm::tls_failed() {
  if (state_ != ServerState::starting_tls) return;
  enter(ServerState::closed);
}

void ServerFsm::early_talker(std::string& out) {
  if (state_ != ServerState::greeting) return;
  reply(out, ReplyId::early_talker);
  enter(ServerState::closed);
}

// A refused BDAT still has its chunk on the wire: the octets are read and dropped so
// they are never taken for commands (RFC 3030 §2 "the receiver-SMTP MUST ... consume").
void ServerFsm::on_bdat(const Command& command, SystemTime now, std::string& out) {
  const auto argument = parse_bdat_argument(command.argument);
  // Without a size nothing can be skipped; what follows is read as commands, which is
  // no worse than any other client bytes (it is the same client).
  if (!argument) return error_reply(out, ReplyId::syntax_error);
  chunk_size_ = argument->size;
  chunk_remaining_ = argument->size;
  chunk_last_ = argument->last;
  chunk_discard_ = false;
  ReplyId refusal = ReplyId::count_;
  if (state_ == ServerState::awaiting_helo) {
    refusal = ReplyId::need_helo;
  } else if (state_ != ServerState::in_transaction) {
    refusal = ReplyId::need_mail;
  } else if (transaction_.recipients.empty()) {
    refusal = rcpt_tried_ ? ReplyId::no_valid_recipients : ReplyId::need_rcpt;
  }
  if (refusal != ReplyId::count_) {
    chunk_discard_ = true;
    chunk_return_ = state_;
    error_reply(out, refusal);
    if (closed()) return;  // max_errors reached: nothing more is read
  } else if (!bdat_started_) {
    bdat_started_ = true;
    transaction_.chunked = true;
    begin_body(now);
  }
  enter(ServerState::receiving_chunk);
  if (chunk_remaining_ == 0) finish_chunk(out);
}

std::size_t ServerFsm::consume_chunk_bytes(std::string_view input, std::string& out) {
  const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_remaining_, input.size()));
  if (!chunk_discard_) append_chunk(input.substr(0, take));
  chunk_remaining_ -= take;
  if (chunk_remaining_ == 0) finish_chunk(out);
  return take;
}

// BDAT content is not dot-stuffed, but it is still relayed as lines, so line endings
// get the same treatment as in DATA: a bare CR or LF becomes CRLF (normalize) or dooms
// the message (reject). A CR at the end of a chunk waits for the next chunk's first
// octet. Octets past the size cap are counted, not stored.
void ServerFsm::append_chunk(std::string_view bytes) {
  std::string& body = transaction_.body;
  const auto emit = [&](std::string_view piece) {
    chunked_octets_ += piece.size();
    if (settings_.max_message_size != 0 && chunked_octets_ > settings_.max_message_size) chunk_too_big_ = true;
    if (chunk_too_big_) {
      if (body.capacity() != 0) std::string().swap(body);
      return;
    }
    body.append(piece);
  };
  std::size_t i = 0;
  while (i < bytes.size()) {
    if (chunk_cr_pending_) {
      chunk_cr_pending_ = false;
      emit("\r\n");
      if (bytes[i] == '\n') {
        ++i;
        continue;
      }
      ++chunk_bare_line_endings_;  // a CR not followed by LF
    }
    const std::size_t stop = bytes.find_first_of("\r\n", i);
    const std::size_t end = stop == std::string_view::npos ? bytes.size() : stop;
    if (end > i) emit(bytes.substr(i, end - i));
    if (stop == std::string_view::npos) break;
    if (bytes[stop] == '\r') {
      chunk_cr_pending_ = true;
    } else {
      ++chunk_bare_line_endings_;  // an LF without CR
      emit("\r\n");
    }
    i = stop + 1;
  }
}

void ServerFsm::finish_chunk(std::string& out) {
  if (chunk_discard_) {
    chunk_discard_ = false;
    enter(chunk_return_);
    return;
  }
  if (chunk_too_big_) {
    decided(PolicyStage::data, policy::Decision::reject(policy::Reason::message_too_large));
    ++messages_refused_;
    reset_transaction();
    enter(ServerState::ready);
    return reply(out, ReplyId::message_too_big);
  }
  if (!chunk_last_) {
    enter(ServerState::in_transaction);
    return reply(out, ReplyId::chunk_received, {std::to_string(chunk_size_)});
  }
  if (chunk_cr_pending_) {  // a bare CR at the very end
    chunk_cr_pending_ = false;
    ++chunk_bare_line_endings_;
    transaction_.body.append("\r\n");
  }
  // Relayed with DATA, the message must end in CRLF before the final dot.
  if (transaction_.body.size() > body_start_ && !transaction_.body.ends_with("\r\n")) transaction_.body.append("\r\n");
  ReplyId refusal = ReplyId::count_;
  if (chunk_bare_line_endings_ != 0 && settings_.bare_line_endings == BareLineEndings::reject) {
    refusal = ReplyId::bare_line_ending;
  } else if (header_over_limit(transaction_.body)) {
    refusal = ReplyId::header_too_big;
  }
  if (refusal != ReplyId::count_) {
    ++messages_refused_;
    reset_transaction();
    enter(ServerState::ready);
    return reply(out, refusal);
  }
  enter(ServerState::awaiting_commit);
}

}  // namespace relay

// --- Issue 3: AUTH PLAIN / LOGIN (RFC 4954, RFC 4616) -------------------------------------

namespace relay {
namespace {

constexpr std::string_view login_username_prompt = "VXNlcm5hbWU6";  // "Username:"
constexpr std::string_view login_password_prompt = "UGFzc3dvcmQ6";  // "Password:"

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::ranges::equal(a, b, [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 4954 §4: "=" is an empty initial response.
std::optional<std::string> decode_response(std::string_view text) {
  if (text == "=") return std::string();
  return policy::base64_decode(text);
}

}  // namespace

// RFC 4954 §4 lets AUTH lines (the command with an initial response, and continuation
// lines) reach 12288 octets, because a SASL token can be long; every other command line
// keeps RFC 5321's 512. The first five octets ("AUTH ") are enough to tell.
std::size_t ServerFsm::command_content_limit(std::string_view head) const noexcept {
  if (auth_step_ != AuthStep::none) return limits::max_auth_line - 2;  // a continuation line
  if (settings_.auth && head.size() == 5 && iequals(head.substr(0, 4), "AUTH") && head[4] == ' ') {
    return limits::max_auth_line - 2;
  }
  return max_command_content;
}

// Plaintext credentials only under TLS, unless the listener allows it for clients on
// its trusted networks (a HUB server on the same LAN that cannot do TLS).
bool ServerFsm::auth_allowed() const noexcept {
  if (tls_) return true;
  return settings_.auth_plaintext_trusted && policy_->trusted(policy::Client{peer_.ip, false});
}

void ServerFsm::on_auth(const Command& command, std::string& out) {
  if (!settings_.auth) return reply(out, ReplyId::command_not_implemented);
  if (state_ == ServerState::awaiting_helo) return error_reply(out, ReplyId::need_helo);
  if (authenticated()) return error_reply(out, ReplyId::auth_already_done);
  if (state_ != ServerState::ready) return error_reply(out, ReplyId::bad_sequence);  // not during a transaction
  if (!auth_allowed()) {
    return error_reply(out, settings_.tls == conf::ListenerTls::off ? ReplyId::command_not_implemented
                                                                    : ReplyId::auth_needs_tls);
  }
  const std::string_view argument = command.argument;
  const auto space = argument.find(' ');
  const std::string_view mechanism = argument.substr(0, space);
  std::string_view initial = space == std::string_view::npos ? std::string_view{} : argument.substr(space + 1);
  while (initial.starts_with(' ')) initial.remove_prefix(1);
  const bool has_initial = space != std::string_view::npos && !initial.empty();
  if (iequals(mechanism, "PLAIN")) {
    if (!has_initial) {
      auth_step_ = AuthStep::plain;
      return reply(out, ReplyId::auth_continue, {""});
    }
    auth_step_ = AuthStep::plain;
    return on_auth_response(initial, out);
  }
  if (iequals(mechanism, "LOGIN")) {
    if (!has_initial) {
      auth_step_ = AuthStep::login_user;
      return reply(out, ReplyId::auth_continue, {login_username_prompt});
    }
    auth_step_ = AuthStep::login_user;
    return on_auth_response(initial, out);
  }
  return error_reply(out, ReplyId::auth_mechanism_unsupported);
}

void ServerFsm::on_auth_response(std::string_view line, std::string& out) {
  const AuthStep step = auth_step_;
  auth_step_ = AuthStep::none;
  if (line == "*") return reply(out, ReplyId::auth_cancelled);  // RFC 4954 §4: the client gave up
  auto decoded = decode_response(line);
  if (!decoded) return error_reply(out, ReplyId::auth_bad_response);
  switch (step) {
    case AuthStep::plain: {
      // RFC 4616: [authzid] NUL authcid NUL passwd. Acting for another identity
      // (authzid != authcid) is not supported, so it fails like a wrong password.
      const std::string_view text = *decoded;
      const auto first = text.find('\0');
      const auto second = first == std::string_view::npos ? first : text.find('\0', first + 1);
      if (second == std::string_view::npos || text.find('\0', second + 1) != std::string_view::npos) {
        return error_reply(out, ReplyId::auth_bad_response);
      }
      const std::string_view authzid = text.substr(0, first);
      const std::string_view authcid = text.substr(first + 1, second - first - 1);
      if (authcid.empty() || (!authzid.empty() && authzid != authcid)) return error_reply(out, ReplyId::auth_failed);
      return auth_credentials(std::string(authcid), std::string(text.substr(second + 1)));
    }
    case AuthStep::login_user:
      if (decoded->empty() || decoded->find('\0') != std::string::npos) {
        return error_reply(out, ReplyId::auth_bad_response);
      }
      auth_request_.user = std::move(*decoded);
      auth_step_ = AuthStep::login_password;
      return reply(out, ReplyId::auth_continue, {login_password_prompt});
    case AuthStep::login_password:
      return auth_credentials(std::move(auth_request_.user), std::move(*decoded));
    case AuthStep::none:
      break;
  }
}

void ServerFsm::auth_credentials(std::string user, std::string password) {
  auth_pending_user_ = user;  // the driver takes the request; the name is kept for success
  auth_request_ = AuthRequest{std::move(user), std::move(password)};
  enter(ServerState::authenticating);
}

AuthRequest ServerFsm::take_auth_request() {
  AuthRequest taken = std::move(auth_request_);
  auth_request_ = AuthRequest{};
  return taken;
}

void ServerFsm::auth_done(AuthResult result, std::string& out) {
  if (state_ != ServerState::authenticating) return;
  enter(ServerState::ready);
  switch (result) {
    case AuthResult::success:
      auth_user_ = std::move(auth_pending_user_);
      auth_request_ = AuthRequest{};
      return reply(out, ReplyId::auth_succeeded);
    case AuthResult::failure:
      auth_pending_user_.clear();
      auth_request_ = AuthRequest{};
      return error_reply(out, ReplyId::auth_failed);
    case AuthResult::locked_out:
      auth_pending_user_.clear();
      auth_request_ = AuthRequest{};
      return reply(out, ReplyId::auth_locked_out);
  }
}

}  // namespace relay

// --- Issue 6: asynchronous policy checks (DNSBL, recipient verification) ---------------------
//
// The FSM decides *whether* to ask and what an answer means; the driver only fetches the
// answer. While a question is open, consume() takes nothing, so pipelined commands wait
// in the driver's buffer (like behind awaiting_commit) and are answered in order.
// DNSBL at RCPT (the default) is asked once per session, at the first RCPT that passed
// the synchronous rules; the result holds for the rest of the session. Trusted and
// authenticated clients are never asked about (they may relay anyway).

namespace relay {

void ServerFsm::ask(PolicyQuery query, std::string&) {
  query_ = std::move(query);
  enter(ServerState::checking_policy);
}

void ServerFsm::policy_refusal(std::string& out, ReplyId id, std::initializer_list<std::string_view> args) {
  reply(out, id, args);
  if (reply_spec(id).code < 500) return;
  ++errors_;
  if (settings_.max_errors != 0 && errors_ >= settings_.max_errors) close_with(out, ReplyId::too_many_errors);
}

void ServerFsm::after_rcpt_policy(std::string recipient, std::string& out) {
  const bool trusted = peer_trusted();
  if (settings_.dnsbl && !trusted) {
    if (dnsbl_state_ == DnsblState::unchecked && !settings_.dnsbl_at_connect) {
      query_at_connect_ = false;
      return ask(PolicyQuery{PolicyQueryKind::dnsbl, peer_.ip, peer_.address, transaction_.sender, std::move(recipient)},
                 out);
    }
    if (dnsbl_state_ == DnsblState::listed) return refuse_listed(out);
  }
  if (settings_.verify_recipients && !trusted) {
    const auto at = recipient.rfind('@');
    const std::string_view domain = at == std::string::npos ? std::string_view{} : std::string_view(recipient).substr(at + 1);
    if (policy_->accepts_domain(domain)) {
      return ask(PolicyQuery{PolicyQueryKind::recipient, peer_.ip, peer_.address, transaction_.sender, std::move(recipient)},
                 out);
    }
  }
  accept_recipient(std::move(recipient), out);
}

void ServerFsm::accept_recipient(std::string recipient, std::string& out) {
  policy::Decision decision;
  if (limits_ != nullptr) decision = limits_->take_recipient(peer_.ip, peer_trusted(), steady_now());
  if (!decision.accepted()) return refuse_recipient(decision, out);
  decided(PolicyStage::rcpt, decision);
  transaction_.recipients.push_back(std::move(recipient));
  transaction_.recipient_parameters.push_back(std::move(rcpt_parameters_));
  rcpt_parameters_.clear();
  reply(out, ReplyId::recipient_ok);
}

void ServerFsm::refuse_recipient(policy::Decision decision, std::string& out) {
  decided(PolicyStage::rcpt, decision);
  const ReplyId id = reply_for(decision, PolicyStage::rcpt);
  reply_spec(id).code >= 500 ? error_reply(out, id) : reply(out, id);
}

void ServerFsm::refuse_listed(std::string& out) {
  decided(PolicyStage::rcpt, policy::Decision::reject(policy::Reason::dnsbl_listed));
  policy_refusal(out, ReplyId::dnsbl_listed, {peer_.address, dnsbl_listing_});
}

void ServerFsm::policy_answered(const PolicyAnswer& answer, std::string& out) {
  if (state_ != ServerState::checking_policy) return;
  PolicyQuery query = std::move(query_);
  query_ = PolicyQuery{};
  if (query.kind == PolicyQueryKind::dnsbl) {
    const bool listed = answer.decision.verdict == policy::Verdict::reject;
    dnsbl_state_ = listed ? DnsblState::listed : DnsblState::passed;
    // "zone" or "zone; the zone's TXT reason", as Postfix's reject_rbl_client words it.
    dnsbl_listing_ = !listed ? std::string{} : answer.reason.empty() ? answer.zone : answer.zone + "; " + answer.reason;
    dnsbl_header_ = listed ? std::string{} : answer.header;
    if (query_at_connect_) {
      query_at_connect_ = false;
      if (listed) {
        decided(PolicyStage::connect, policy::Decision::reject(policy::Reason::dnsbl_listed));
        // Before the banner only 554 then closing makes sense (RFC 5321 §3.1).
        reply(out, ReplyId::dnsbl_listed, {peer_.address, dnsbl_listing_});
        return enter(ServerState::closed);
      }
      decided(PolicyStage::connect, policy::Decision::accept());
      reply(out, ReplyId::banner, {settings_.hostname});
      return enter(ServerState::awaiting_helo);
    }
    enter(ServerState::in_transaction);
    if (listed) return refuse_listed(out);
    return after_rcpt_policy(std::move(query.recipient), out);
  }
  enter(ServerState::in_transaction);
  if (answer.decision.accepted()) return accept_recipient(std::move(query.recipient), out);
  decided(PolicyStage::rcpt, answer.decision);
  policy_refusal(out, reply_for(answer.decision, PolicyStage::rcpt));
}

}  // namespace relay
