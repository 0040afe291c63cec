// relay/server/server_fsm_content.cpp — message content of the server session: DATA,
// BDAT chunks, the Received: header, the end-of-message checks, and STARTTLS.
//
// The decoding itself is relay/smtp/data_decoder (DATA) and relay/smtp/bdat_decoder
// (BDAT); here are the sequence rules around them and what the end of a message means:
// a refusal (size, bare line endings, long lines, header size) or awaiting_commit.
// STARTTLS lives here because, like DATA, it changes what the following octets are.
#include "relay/server/server_fsm.hpp"

#include <algorithm>

#include "relay/smtp/received_header.hpp"

namespace relay {

// --- The body and its checks ------------------------------------------------------------

// The trace header is written first so the message never needs to be copied to prepend
// it; everything it names is fixed once DATA or the first BDAT is accepted. Its id is the
// queue id reserved at MAIL, so `hubrelay queue show ID` and the log find the message.
void ServerFsm::begin_body(SystemTime now) {
  tx_.message.body = build_received_header(ReceivedFields{
      .helo = helo_,
      .peer_address = peer_.address,
      .hostname = settings_.hostname,
      .esmtp = esmtp_,
      .id = tx_.message.queue_id.text.empty() ? std::string_view(session_id_) : tx_.message.queue_id.text,
      .recipients = tx_.message.recipients,
      .when = now,
      .tls = tls_,
      .authenticated = authenticated(),
  });
  // The DNSBL tag sits right after our Received:, before the client's header.
  if (!dnsbl_header_.empty() && !peer_trusted()) tx_.message.body += dnsbl_header_;
  tx_.body_number = ++bodies_begun_;
  tx_.header = HeaderSectionMeter{};
  tx_.message.tls = tls_;
  tx_.message.auth_user = auth_user_;
}

// The header section ends at the first empty line; a message without one is all header.
// Measured as the octets pass (relay/smtp/header_section_meter): the body may be in a
// spool file by the end of the message.
bool ServerFsm::header_over_limit() const noexcept {
  return settings_.max_header_size != 0 && tx_.header.size() > settings_.max_header_size;
}

void ServerFsm::metered(std::size_t before) {
  const std::string& body = tx_.message.body;
  if (body.size() > before) tx_.header.feed(std::string_view(body).substr(before));
}

void ServerFsm::refuse_message(ReplyId refusal, std::string& out) {
  if (refusal == ReplyId::message_too_big) {
    decided(event_for(PolicyStage::data, policy::Decision::reject(policy::Reason::message_too_large)));
  }
  ++messages_refused_;
  reset_transaction();
  enter(ServerState::ready);
  reply(out, refusal);
}

// --- DATA -------------------------------------------------------------------------------

void ServerFsm::on_data(const Command& command, const CommandContext& context, std::string& out) {
  // Check: sequence and syntax. (Input pipelined behind DATA was refused by the command
  // table before this handler ran.)
  if (state_ != ServerState::in_transaction) return error_reply(out, ReplyId::need_mail);
  if (tx_.message.recipients.empty()) {
    return error_reply(out, tx_.rcpt_tried ? ReplyId::no_valid_recipients : ReplyId::need_rcpt);
  }
  if (!command.argument.empty()) return error_reply(out, ReplyId::syntax_error);
  // RFC 3030 §3: DATA may not follow BDAT within one transaction.
  if (tx_.bdat_started) return error_reply(out, ReplyId::bad_sequence);
  // Decide: the content filters answer DATA itself. (BDAT's octets come with the command,
  // so for BDAT they see DATA at the end of the message.)
  if (settings_.filters) {
    tx_.data_requested = context.now;
    PolicyQuery query{PolicyQueryKind::filter_data, peer_.ip, peer_.address, tx_.message.sender, {}};
    query.helo = helo_;
    query.queue_id = tx_.message.queue_id.text;
    return ask(std::move(query));
  }
  start_data(context.now, out);
}

void ServerFsm::start_data(SystemTime now, std::string& out) {
  begin_body(now);
  tx_.data.reset(DataDecoder::Options{
      .max_size = settings_.max_message_size,
      .refuse_bare_line_endings = settings_.bare_line_endings == BareLineEndings::reject,
  });
  reply(out, ReplyId::start_data);
  enter(ServerState::receiving_data);
}

std::size_t ServerFsm::consume_data_bytes(std::string_view input, std::string& out) {
  std::string& body = tx_.message.body;
  const std::size_t before = body.size();
  const auto step = tx_.data.decode(input, body);
  metered(before);
  // Once the message is certain to be refused, release what was buffered.
  if (tx_.data.output_discarded() && body.capacity() != 0) std::string().swap(body);
  if (step.finished) finish_data(out);
  return step.consumed;
}

void ServerFsm::finish_data(std::string& out) {
  // Size first: it is the refusal a client can act on most directly.
  const DataDecoder& data = tx_.data;
  ReplyId refusal = ReplyId::count_;
  if (data.too_big()) {
    refusal = ReplyId::message_too_big;
  } else if (data.bare_line_ending_seen() && settings_.bare_line_endings == BareLineEndings::reject) {
    refusal = ReplyId::bare_line_ending;
  } else if (data.text_line_too_long()) {
    refusal = ReplyId::text_line_too_long;
  } else if (header_over_limit()) {
    refusal = ReplyId::header_too_big;
  }
  if (refusal != ReplyId::count_) return refuse_message(refusal, out);
  enter(ServerState::awaiting_commit);
}

// --- BDAT (RFC 3030) --------------------------------------------------------------------

// A refused BDAT still has its chunk on the wire: the octets are read and dropped so
// they are never taken for commands (RFC 3030 §2 "the receiver-SMTP MUST ... consume").
void ServerFsm::on_bdat(const Command& command, const CommandContext& context, std::string& out) {
  // Check: without a size nothing can be skipped; what follows is read as commands,
  // which is no worse than any other client bytes (it is the same client).
  const auto argument = parse_bdat_argument(command.argument);
  if (!argument) return error_reply(out, ReplyId::syntax_error);
  chunk_ = ChunkCommand{.size = argument->size, .last = argument->last};
  ReplyId refusal = ReplyId::count_;
  if (state_ == ServerState::awaiting_helo) {
    refusal = ReplyId::need_helo;
  } else if (state_ != ServerState::in_transaction) {
    refusal = ReplyId::need_mail;
  } else if (tx_.message.recipients.empty()) {
    refusal = tx_.rcpt_tried ? ReplyId::no_valid_recipients : ReplyId::need_rcpt;
  }
  if (refusal != ReplyId::count_) {
    chunk_.discard = true;
    chunk_.skip = argument->size;
    chunk_.return_to = state_;
    error_reply(out, refusal);
    if (closed()) return;  // max_errors reached: nothing more is read
  } else {
    // Proceed: the first chunk starts the body.
    if (!tx_.bdat_started) {
      tx_.bdat_started = true;
      tx_.message.chunked = true;
      tx_.chunks.reset(BdatDecoder::Options{.max_size = settings_.max_message_size});
      begin_body(context.now);
    }
    tx_.chunks.begin_chunk(argument->size);
  }
  enter(ServerState::receiving_chunk);
  if (argument->size == 0) finish_chunk(out);
}

std::size_t ServerFsm::consume_chunk_bytes(std::string_view input, std::string& out) {
  if (chunk_.discard) {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_.skip, input.size()));
    chunk_.skip -= take;
    if (chunk_.skip == 0) finish_chunk(out);
    return take;
  }
  const std::size_t before = tx_.message.body.size();
  const auto step = tx_.chunks.decode(input, tx_.message.body);
  metered(before);
  if (step.chunk_done) finish_chunk(out);
  return step.consumed;
}

void ServerFsm::finish_chunk(std::string& out) {
  if (chunk_.discard) {
    chunk_.discard = false;
    enter(chunk_.return_to);
    return;
  }
  if (tx_.chunks.too_big()) return refuse_message(ReplyId::message_too_big, out);
  if (!chunk_.last) {
    enter(ServerState::in_transaction);
    return reply(out, ReplyId::chunk_received, {std::to_string(chunk_.size)});
  }
  const std::size_t before = tx_.message.body.size();
  tx_.chunks.finish(tx_.message.body);
  metered(before);
  ReplyId refusal = ReplyId::count_;
  if (tx_.chunks.bare_line_ending_seen() && settings_.bare_line_endings == BareLineEndings::reject) {
    refusal = ReplyId::bare_line_ending;
  } else if (header_over_limit()) {
    refusal = ReplyId::header_too_big;
  }
  if (refusal != ReplyId::count_) return refuse_message(refusal, out);
  enter(ServerState::awaiting_commit);
}

// --- STARTTLS (RFC 3207) ----------------------------------------------------------------

void ServerFsm::on_starttls(const Command& command, const CommandContext&, std::string& out) {
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

// RFC 3207 §4.2: all knowledge from before TLS is discarded.
void ServerFsm::tls_started() {
  if (state_ != ServerState::starting_tls) return;
  tls_ = true;
  auth_user_.clear();
  sasl_.abandon();
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

}  // namespace relay
