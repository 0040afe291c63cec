// relay/server/server_fsm.cpp — the server session rules: framing, the command table,
// the session and envelope commands, commit and session end.
//
// Each command handler runs in the same order: (1) check — sequence (503) and syntax
// (501/555/504), (2) decide — limits and policy (which may ask the driver a question),
// (3) proceed — effect and positive reply. Errors that count towards max_errors are the
// client's mistakes — unknown verbs, syntax, bad sequence, over-long lines — and 5xx
// policy refusals (so a relay prober or a dictionary attack is cut off); limits the
// client is told to work around (452 too many recipients, 552 size) and 4xx policy
// deferrals do not count.
// Line framing: a command ends at LF; a CR before it is removed. Accepting a bare LF
// here is harmless (unlike inside DATA, it cannot move a message boundary) and keeps
// hand-driven testing with netcat working. A line longer than 512 octets incl. CRLF
// (RFC 5321 §4.5.3.1.4; 12288 for AUTH lines, RFC 4954 §4) is discarded up to its LF and
// answered 500 5.5.2 once.
// Pipelining (RFC 2920): every complete line in the input is processed in order and the
// replies accumulate in `out`; the driver writes them when the input is used up. A
// command that must end a group (DATA) with input already buffered behind it is a
// client that did not wait for the 354: 554 5.5.0 and close, as Postfix does by
// default (smtpd_forbid_unauth_pipelining), so content never runs into the command
// stream or the other way round. BDAT is meant to be pipelined and is exempt.
#include "relay/server/server_fsm.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "relay/smtp/esmtp_parameters.hpp"

namespace relay {
namespace {

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

// --- Transitions and replies ------------------------------------------------------------

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

void ServerFsm::error_reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args) {
  reply(out, id, args);
  ++errors_;
  // max_errors == 0 disables the limit.
  if (settings_.max_errors != 0 && errors_ >= settings_.max_errors) close_with(out, ReplyId::too_many_errors);
}

void ServerFsm::policy_refusal(std::string& out, ReplyId id, std::initializer_list<std::string_view> args) {
  if (reply_spec(id).code >= 500) return error_reply(out, id, args);
  reply(out, id, args);
}

// --- Session start and input ------------------------------------------------------------

void ServerFsm::start(std::string& out) {
  if (state_ != ServerState::greeting) return;
  auto decision = policy_->on_connect(policy::Client{peer_.ip, false});
  // Per-client limits only for clients the policy lets in at all.
  if (decision.accepted() && limits_ != nullptr) {
    decision = limits_->admit(peer_.ip, peer_trusted(), steady_now(), connection_slot_);
  }
  if (!decision.accepted()) {
    decided(event_for(PolicyStage::connect, decision));
    close_with(out, reply_for(decision, PolicyStage::connect));
    return;
  }
  // DNSBL before the banner (dnsbl_check = "connect"); the answer decides and sends the
  // banner or the refusal.
  if (settings_.dnsbl && settings_.dnsbl_at_connect && !peer_trusted()) {
    query_at_connect_ = true;
    return ask(PolicyQuery{PolicyQueryKind::dnsbl, peer_.ip, peer_.address, {}, {}});
  }
  decided(event_for(PolicyStage::connect, decision));
  // The content filters see the connection before the banner (a 421 from them replaces it).
  if (settings_.filters) return ask(PolicyQuery{PolicyQueryKind::filter_connect, peer_.ip, peer_.address, {}, {}});
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
  std::string_view line = input.substr(0, lf);
  bool too_long = discarding_line_ || line_.size() + lf > limit + 1;
  if (!too_long) {
    if (!line_.empty()) {
      line_.append(line);
      line = line_;
    }
    if (line.ends_with('\r')) line.remove_suffix(1);
    too_long = line.size() > limit;
  }
  if (too_long) {
    discarding_line_ = false;
    line_.clear();
    sasl_.abandon();  // an over-long AUTH response ends the exchange
    error_reply(out, ReplyId::line_too_long);
    return used;
  }
  handle_command(line, CommandContext{now, used < input.size()}, out);
  line_.clear();
  return used;
}

// --- The command table ------------------------------------------------------------------
//
// before_tls: on a listener with tls = "required", only MAIL is refused (530) before
// STARTTLS; RCPT, DATA and BDAT cannot pass their sequence checks without a MAIL (and
// BDAT must still read its chunk), AUTH answers 538 itself. ends_group: RFC 2920 §3.1
// lists EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP as group ends; only after DATA does
// buffered input change meaning (content, not commands), so only DATA enforces it.
// counts_error: an unknown verb counts; a known one we do not offer (EXPN) gets 502
// uncounted — a client probing for an extension it saw elsewhere is not misbehaving.

const ServerFsm::CommandRule& ServerFsm::rule_for(Verb verb) noexcept {
  static constexpr std::array<CommandRule, 15> table{{
      {.verb = Verb::ehlo, .handler = &ServerFsm::on_ehlo},
      {.verb = Verb::helo, .handler = &ServerFsm::on_helo},
      {.verb = Verb::mail, .handler = &ServerFsm::on_mail, .before_tls = false},
      {.verb = Verb::rcpt, .handler = &ServerFsm::on_rcpt},
      {.verb = Verb::data, .handler = &ServerFsm::on_data, .ends_group = true},
      {.verb = Verb::rset, .handler = &ServerFsm::on_rset},
      {.verb = Verb::noop, .handler = &ServerFsm::on_noop},
      {.verb = Verb::quit, .handler = &ServerFsm::on_quit},
      {.verb = Verb::vrfy, .handler = &ServerFsm::on_vrfy},
      {.verb = Verb::help, .handler = &ServerFsm::on_help},
      {.verb = Verb::starttls, .handler = &ServerFsm::on_starttls},
      {.verb = Verb::auth, .handler = &ServerFsm::on_auth},
      {.verb = Verb::bdat, .handler = &ServerFsm::on_bdat},
      {.verb = Verb::expn, .handler = nullptr},
      {.verb = Verb::unknown, .handler = nullptr, .counts_error = true},
  }};
  static_assert(
      [] {
        for (std::size_t i = 0; i < table.size(); ++i) {
          if (static_cast<std::size_t>(table[i].verb) != i) return false;
        }
        return table.size() == static_cast<std::size_t>(Verb::unknown) + 1;
      }(),
      "one row per Verb, in enum order");
  return table[static_cast<std::size_t>(verb)];
}

void ServerFsm::handle_command(std::string_view line, const CommandContext& context, std::string& out) {
  if (sasl_.active()) return on_auth_response(line, out);
  const Command command = parse_command(line);
  const CommandRule& rule = rule_for(command.verb);
  if (rule.ends_group && context.more_input) return close_with(out, ReplyId::pipelining_violation);
  if (!rule.before_tls && !tls_ && settings_.tls == conf::ListenerTls::required) {
    return error_reply(out, ReplyId::tls_required);
  }
  if (rule.handler == nullptr) {
    return rule.counts_error ? error_reply(out, ReplyId::command_unrecognized)
                             : reply(out, ReplyId::command_not_implemented);
  }
  (this->*rule.handler)(command, context, out);
}

// --- Session commands -------------------------------------------------------------------

void ServerFsm::on_ehlo(const Command& command, const CommandContext&, std::string& out) { greet(command, true, out); }
void ServerFsm::on_helo(const Command& command, const CommandContext&, std::string& out) { greet(command, false, out); }

void ServerFsm::greet(const Command& command, bool extended, std::string& out) {
  // Check.
  const std::string_view name = command.argument.substr(0, command.argument.find(' '));
  if (name.empty() || has_control_or_eight_bit(command.argument)) return error_reply(out, ReplyId::helo_syntax);
  // Decide: a refused HELO changes nothing; the client may try again.
  const auto decision = policy_->on_helo(client(), name);
  PolicyEvent event = event_for(PolicyStage::helo, decision);
  event.helo = name;
  decided(event);
  if (!decision.accepted()) return policy_refusal(out, reply_for(decision, PolicyStage::helo));
  // Proceed: EHLO/HELO in the middle of a transaction resets it (RFC 5321 §4.1.4).
  helo_.assign(name);
  esmtp_ = extended;
  reset_transaction();
  // The content filters see the name (a session they refused already is not asked again).
  if (settings_.filters && filter_refusal_.empty()) {
    PolicyQuery query{PolicyQueryKind::filter_helo, peer_.ip, peer_.address, {}, {}};
    query.helo = helo_;
    return ask(std::move(query));
  }
  finish_greet(out);
}

void ServerFsm::finish_greet(std::string& out) {
  enter(ServerState::ready);
  if (!esmtp_) return reply(out, ReplyId::helo_greeting, {settings_.hostname});
  // BINARYMIME is not offered: a binary body could not be carried to a hop that only
  // speaks DATA, so CHUNKING here is for efficiency, not for binary content.
  std::vector<std::string> extensions{
      "PIPELINING",
      "SIZE " + std::to_string(settings_.max_message_size),  // RFC 1870: 0 means no fixed limit
      "8BITMIME",
      "ENHANCEDSTATUSCODES",
      "CHUNKING",
      "DSN",       // RFC 3461: RET, ENVID, NOTIFY, ORCPT (relay/smtp/esmtp_parameters)
      "SMTPUTF8",  // RFC 6531: UTF-8 paths after MAIL ... SMTPUTF8
  };
  if (!tls_ && (settings_.tls == conf::ListenerTls::offered || settings_.tls == conf::ListenerTls::required)) {
    extensions.emplace_back("STARTTLS");
  }
  if (settings_.auth && auth_allowed() && !authenticated()) extensions.emplace_back("AUTH PLAIN LOGIN");
  // RFC 8689 §3: REQUIRETLS is offered on an encrypted session only (after STARTTLS, or
  // on an implicit-TLS listener), like Exim and Postfix do.
  if (tls_) extensions.emplace_back("REQUIRETLS");
  append_multiline_reply(out, ReplyId::ehlo_greeting, extensions, {settings_.hostname});
  last_reply_ = ReplyId::ehlo_greeting;
}

void ServerFsm::on_rset(const Command& command, const CommandContext&, std::string& out) {
  if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  reset_transaction();
  if (state_ == ServerState::in_transaction) enter(ServerState::ready);
  reply(out, ReplyId::ok);
}

// "NOOP [ SP String ]" (§4.1.1.9): the argument is ignored.
void ServerFsm::on_noop(const Command&, const CommandContext&, std::string& out) { reply(out, ReplyId::ok); }

void ServerFsm::on_quit(const Command& command, const CommandContext&, std::string& out) {
  if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  close_with(out, ReplyId::closing);
}

void ServerFsm::on_vrfy(const Command& command, const CommandContext&, std::string& out) {
  if (command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  reply(out, ReplyId::cannot_verify);
}

void ServerFsm::on_help(const Command&, const CommandContext&, std::string& out) { reply(out, ReplyId::help); }

// --- Envelope: MAIL and RCPT ------------------------------------------------------------

void ServerFsm::on_mail(const Command& command, const CommandContext&, std::string& out) {
  // Check: sequence, then syntax. The path is read allowing UTF-8 because SMTPUTF8 comes
  // after it; without SMTPUTF8 an 8-bit path is refused below (553 5.6.7). On failure
  // the strict parse names the error.
  if (state_ == ServerState::awaiting_helo) return error_reply(out, ReplyId::need_helo);
  if (state_ == ServerState::in_transaction) return error_reply(out, ReplyId::nested_mail);
  auto mail = parse_mail_from(command.argument, PathOptions{.allow_utf8 = true});
  if (!mail) {
    auto strict = parse_mail_from(command.argument);
    return error_reply(out, mail_error_reply(strict ? mail.error() : strict.error()));
  }
  auto parameters = interpret_mail_extensions(mail->parameters);
  if (!parameters) return error_reply(out, parameter_error_reply(parameters.error()));
  if (!parameters->smtputf8 && has_eight_bit(mail->sender)) return error_reply(out, ReplyId::non_ascii_address);
  // RFC 8689 §4.1: the promise to keep the message on verified TLS means nothing if it
  // came here in clear.
  if (parameters->requiretls && !tls_) return error_reply(out, ReplyId::requiretls_needs_tls);
  // Decide. The content filters refused the session (at connect or HELO): their reply.
  if (!filter_refusal_.empty()) return filter_refused(filter_refusal_, out);
  // RFC 1870 §6.1: refuse at MAIL a message declared larger than we would take.
  if (parameters->basic.size && settings_.max_message_size != 0 &&
      *parameters->basic.size > settings_.max_message_size) {
    PolicyEvent event = event_for(PolicyStage::mail, policy::Decision::reject(policy::Reason::message_too_large));
    event.sender = mail->sender;
    decided(event);
    return reply(out, ReplyId::message_too_big);
  }
  auto decision = policy_->on_mail(client(), mail->sender);
  // A refused MAIL costs no token; the rate counts what would be accepted.
  if (decision.accepted() && limits_ != nullptr) decision = limits_->take_message(peer_.ip, peer_trusted(), steady_now());
  PolicyEvent event = event_for(PolicyStage::mail, decision);
  event.sender = mail->sender;
  decided(event);
  if (!decision.accepted()) return policy_refusal(out, reply_for(decision, PolicyStage::mail));
  // Proceed: a new transaction, with the queue id its Received: header will name.
  std::optional<ReservedQueueId> queue_id;
  if (queue_ids_ && !(queue_id = queue_ids_())) return reply(out, ReplyId::local_error);
  tx_ = OpenTransaction{};
  Transaction& message = tx_.message;
  if (queue_id) message.queue_id = std::move(*queue_id);
  message.helo = helo_;
  message.sender = std::move(mail->sender);
  message.mail_parameters.assign(mail->parameter_text);
  message.eight_bit = parameters->basic.body == BodyType::eight_bit_mime;
  message.smtputf8 = parameters->smtputf8;
  // The content filters see the sender; the transaction begins when they let it.
  if (settings_.filters) {
    PolicyQuery query{PolicyQueryKind::filter_mail, peer_.ip, peer_.address, message.sender, {}};
    query.helo = helo_;
    query.parameters = message.mail_parameters;
    query.queue_id = message.queue_id.text;
    return ask(std::move(query));
  }
  reply(out, ReplyId::sender_ok);
  enter(ServerState::in_transaction);
}

void ServerFsm::on_rcpt(const Command& command, const CommandContext&, std::string& out) {
  // Check. Any RCPT, even a malformed one, counts as tried: RFC 5321 §3.3 "or all such
  // commands were rejected" decides between 503 and 554 at DATA.
  if (state_ != ServerState::in_transaction) return error_reply(out, ReplyId::need_mail);
  tx_.rcpt_tried = true;
  if (tx_.bdat_started) return error_reply(out, ReplyId::bad_sequence);  // RFC 3030 §2: no RCPT between chunks
  auto rcpt = parse_rcpt_to(command.argument, PathOptions{.allow_utf8 = tx_.message.smtputf8});
  if (!rcpt) return error_reply(out, rcpt_error_reply(rcpt.error()));
  if (auto parameters = interpret_rcpt_parameters(rcpt->parameters); !parameters) {
    return error_reply(out, parameter_error_reply(parameters.error()));
  }
  // A repeated recipient is acknowledged again but stored (and counted) once.
  if (std::ranges::find(tx_.message.recipients, rcpt->recipient) != tx_.message.recipients.end()) {
    return reply(out, ReplyId::recipient_ok);
  }
  // Decide. RFC 5321 §4.5.3.1.10: 452, so the client sends the rest in another transaction.
  if (tx_.message.recipients.size() >= settings_.max_recipients) {
    PolicyEvent event = event_for(PolicyStage::rcpt, policy::Decision::defer(policy::Reason::too_many_recipients));
    event.recipient = rcpt->recipient;
    decided(event);
    return reply(out, ReplyId::too_many_recipients);
  }
  const auto decision = policy_->on_rcpt(client(), rcpt->recipient);
  if (!decision.accepted()) return refuse_recipient(decision, rcpt->recipient, out);
  // DNSBL and recipient verification may ask the driver first; the recipient rate is
  // taken last, so a refused recipient costs no token. One RCPT is open at a time
  // (pipelined ones wait), so its DSN parameters wait here until it is accepted.
  tx_.rcpt_parameters.assign(rcpt->parameter_text);
  after_rcpt_policy(std::move(rcpt->recipient), out);
}

// --- Commit and session end -------------------------------------------------------------

Transaction ServerFsm::take_transaction() { return std::exchange(tx_.message, Transaction{}); }

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

void ServerFsm::early_talker(std::string& out) {
  if (state_ != ServerState::greeting) return;
  reply(out, ReplyId::early_talker);
  enter(ServerState::closed);
}

std::chrono::seconds ServerFsm::read_timeout(const conf::ServerTimeouts& t) const noexcept {
  // RFC 5321 §4.5.3.2: 5 minutes for a command, 3 minutes per DATA block.
  const bool data = state_ == ServerState::receiving_data || state_ == ServerState::receiving_chunk;
  return data ? t.data_block : t.command;
}

}  // namespace relay
