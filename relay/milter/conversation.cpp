// relay/milter/conversation.cpp — the MTA side of one filter connection (see conversation.hpp).
#include "relay/milter/conversation.hpp"

namespace relay::milter {

std::string_view to_string(Stage stage) noexcept {
  switch (stage) {
    case Stage::negotiate: return "negotiate";
    case Stage::connect: return "connect";
    case Stage::helo: return "helo";
    case Stage::mail: return "mail";
    case Stage::rcpt: return "rcpt";
    case Stage::data: return "data";
    case Stage::header: return "header";
    case Stage::eoh: return "eoh";
    case Stage::body: return "body";
    case Stage::eom: return "eom";
  }
  return "unknown";
}

std::string negotiation_packet() {
  std::string data;
  append_u32(data, protocol_version);
  append_u32(data, action_bit::all);
  append_u32(data, step_bit::offered);
  return encode_packet(command::negotiate, data);
}

std::expected<Negotiated, std::string> parse_negotiation(const Packet& packet) {
  if (packet.code != command::negotiate) return std::unexpected("no negotiation reply");
  DataCursor cursor(packet.data);
  auto version = cursor.u32();
  auto actions = cursor.u32();
  auto steps = cursor.u32();
  if (!version || !actions || !steps) return std::unexpected("short negotiation reply");
  if (*version < 2 || *version > protocol_version) return std::unexpected("unsupported protocol version");
  if ((*actions & ~action_bit::all) != 0) return std::unexpected("filter asks for actions not offered");
  // Bits above the offered steps that only size data (MDS_*) are harmless: we never send
  // more than 64 KiB a chunk. Any other step we did not offer is a disagreement.
  constexpr std::uint32_t size_bits = 0x30000000;
  if ((*steps & ~(step_bit::offered | size_bits)) != 0) return std::unexpected("filter asks for steps not offered");
  Negotiated result{*version, *actions, *steps & step_bit::offered, {}};
  while (!cursor.empty()) {
    auto stage = cursor.u32();
    auto names = cursor.cstring();
    if (!stage || !names || *stage >= macro_stage_count) return std::unexpected("malformed symbol list");
    if ((*actions & action_bit::set_symbol_list) == 0) return std::unexpected("symbol list without asking for it");
    auto parsed = parse_macro_names(*names);
    if (!parsed) return std::unexpected("malformed symbol list");
    result.symbol_lists[*stage] = std::move(*parsed);
  }
  return result;
}

Request Conversation::negotiate() {
  stage_ = Stage::negotiate;
  awaiting_ = true;
  return {negotiation_packet(), true};
}

Request Conversation::send(Stage stage, char code, std::string data, std::uint32_t skip_bit,
                           std::uint32_t no_reply_bit, MacroStage macro_stage, const MacroValues* values) {
  stage_ = stage;
  if (!negotiated_done_ || failed_ || awaiting_) return {};
  if (skip_bit != 0 && (negotiated_.steps & skip_bit) != 0) return {};
  Request request;
  if (values != nullptr) {
    const auto index = static_cast<std::size_t>(macro_stage);
    const auto& names = negotiated_.symbol_lists[index] ? *negotiated_.symbol_lists[index] : macros_[index];
    request.bytes = macro_packet(code, names, *values);
  }
  append_packet(request.bytes, code, data);
  request.await_reply = no_reply_bit == 0 || (negotiated_.steps & no_reply_bit) == 0;
  awaiting_ = request.await_reply;
  return request;
}

Request Conversation::connect(const ConnectInfo& info, const MacroValues& values) {
  if (session_done()) return {};
  std::string data;
  append_cstring(data, info.client_name);
  data += info.ipv6 ? '6' : '4';
  data += static_cast<char>(info.client_port >> 8);
  data += static_cast<char>(info.client_port & 0xff);
  append_cstring(data, info.client_address);
  return send(Stage::connect, command::connect, std::move(data), step_bit::no_connect, step_bit::nr_connect,
              MacroStage::connect, &values);
}

Request Conversation::helo(std::string_view name, const MacroValues& values) {
  if (session_done()) return {};
  std::string data;
  append_cstring(data, name);
  return send(Stage::helo, command::helo, std::move(data), step_bit::no_helo, step_bit::nr_helo, MacroStage::helo,
              &values);
}

namespace {
std::string path_with_arguments(std::string_view path, std::span<const std::string> arguments) {
  std::string data;
  append_cstring(data, "<" + std::string(path) + ">");
  for (const auto& argument : arguments) append_cstring(data, argument);
  return data;
}
}  // namespace

Request Conversation::mail(std::string_view sender, std::span<const std::string> arguments, const MacroValues& values) {
  if (session_done()) return {};
  message_done_ = false;
  body_skipped_ = false;
  modifications_.clear();
  message_open_ = true;
  return send(Stage::mail, command::mail, path_with_arguments(sender, arguments), step_bit::no_mail,
              step_bit::nr_mail, MacroStage::mail, &values);
}

Request Conversation::rcpt(std::string_view recipient, std::span<const std::string> arguments,
                           const MacroValues& values) {
  if (message_done()) return {};
  return send(Stage::rcpt, command::rcpt, path_with_arguments(recipient, arguments), step_bit::no_rcpt,
              step_bit::nr_rcpt, MacroStage::rcpt, &values);
}

Request Conversation::data(const MacroValues& values) {
  if (message_done()) return {};
  return send(Stage::data, command::data, {}, step_bit::no_data, step_bit::nr_data, MacroStage::data, &values);
}

Request Conversation::header(std::string_view name, std::string_view value) {
  if (message_done()) return {};
  std::string data;
  append_cstring(data, name);
  append_cstring(data, value);
  return send(Stage::header, command::header, std::move(data), step_bit::no_headers, step_bit::nr_header,
              MacroStage::eoh, nullptr);
}

Request Conversation::end_of_headers(const MacroValues& values) {
  if (message_done()) return {};
  return send(Stage::eoh, command::end_of_headers, {}, step_bit::no_eoh, step_bit::nr_eoh, MacroStage::eoh, &values);
}

bool Conversation::wants_body() const noexcept {
  return !message_done() && !body_skipped_ && negotiated_done_ && (negotiated_.steps & step_bit::no_body) == 0;
}

Request Conversation::body(std::string_view chunk) {
  if (!wants_body() || chunk.empty()) return {};
  return send(Stage::body, command::body, std::string(chunk.substr(0, body_chunk_max)), step_bit::no_body,
              step_bit::nr_body, MacroStage::eom, nullptr);
}

Request Conversation::end_of_message(const MacroValues& values) {
  if (message_done()) return {};
  modifications_.clear();
  // End of message is always answered (no step may skip it).
  return send(Stage::eom, command::end_of_body, {}, 0, 0, MacroStage::eom, &values);
}

std::string Conversation::abort() {
  const bool due = message_open_ && !failed_ && !session_done_ && negotiated_done_;
  message_open_ = false;
  message_done_ = false;
  body_skipped_ = false;
  modifications_.clear();
  return due ? encode_packet(command::abort, {}) : std::string();
}

std::string Conversation::quit() {
  if (failed_ || !negotiated_done_) return {};
  return encode_packet(command::quit, {});
}

bool Conversation::allowed(ReplyKind kind) const noexcept {
  const std::uint32_t actions = negotiated_.actions;
  switch (kind) {
    case ReplyKind::add_header: return (actions & action_bit::add_headers) != 0;
    case ReplyKind::insert_header:
    case ReplyKind::change_header: return (actions & action_bit::change_headers) != 0;
    case ReplyKind::replace_body: return (actions & action_bit::change_body) != 0;
    case ReplyKind::change_from: return (actions & action_bit::change_from) != 0;
    case ReplyKind::add_rcpt: return (actions & action_bit::add_rcpt) != 0;
    case ReplyKind::add_rcpt_par: return (actions & action_bit::add_rcpt_par) != 0;
    case ReplyKind::del_rcpt: return (actions & action_bit::del_rcpt) != 0;
    case ReplyKind::quarantine: return (actions & action_bit::quarantine) != 0;
    default: return true;
  }
}

Outcome Conversation::receive(const Packet& packet) {
  auto failure = [&](std::string why) {
    failed_ = true;
    awaiting_ = false;
    Outcome outcome;
    outcome.status = Outcome::Status::failed;
    outcome.error = std::move(why);
    return outcome;
  };
  if (failed_) return failure("filter already failed");
  if (!awaiting_) return failure("unexpected packet");
  if (stage_ == Stage::negotiate) {
    auto negotiated = parse_negotiation(packet);
    if (!negotiated) return failure(negotiated.error());
    negotiated_ = std::move(*negotiated);
    negotiated_done_ = true;
    awaiting_ = false;
    Outcome outcome;
    outcome.status = Outcome::Status::decided;
    return outcome;
  }
  auto reply = parse_reply(packet);
  if (!reply) return failure(reply.error());
  if (reply->kind == ReplyKind::progress) {
    Outcome outcome;
    outcome.progress = true;
    return outcome;
  }
  if (!is_verdict(reply->kind)) {
    // Modifications and quarantine: only while end of message is answered, only as negotiated.
    if (stage_ != Stage::eom) return failure(std::string(to_string(reply->kind)) + " before end of message");
    if (!allowed(reply->kind)) return failure(std::string(to_string(reply->kind)) + " not negotiated");
    modifications_.push_back(std::move(*reply));
    return {};
  }
  awaiting_ = false;
  Outcome outcome;
  outcome.status = Outcome::Status::decided;
  outcome.verdict = reply->kind;
  outcome.reply = std::move(reply->text);
  switch (reply->kind) {
    case ReplyKind::skip:
      // Only a body chunk may be answered with skip, and only when negotiated.
      if (stage_ != Stage::body || (negotiated_.steps & step_bit::skip) == 0) return failure("skip out of place");
      body_skipped_ = true;
      break;
    case ReplyKind::continue_:
      break;
    case ReplyKind::reject:
    case ReplyKind::tempfail:
    case ReplyKind::reply_code:
      // At RCPT a refusal is the recipient's; before MAIL the session's; else the message's.
      if (stage_ == Stage::connect || stage_ == Stage::helo) session_done_ = true;
      else if (stage_ != Stage::rcpt) message_done_ = true;
      break;
    case ReplyKind::accept:
      if (stage_ == Stage::connect || stage_ == Stage::helo) session_done_ = true;
      else message_done_ = true;
      break;
    case ReplyKind::discard:
      if (stage_ == Stage::connect || stage_ == Stage::helo) return failure("discard before a message");
      message_done_ = true;
      break;
    case ReplyKind::shutdown:
    case ReplyKind::connection_fail:
      session_done_ = true;
      break;
    default:
      break;
  }
  if (stage_ == Stage::eom) message_open_ = false;  // the filter ended the message itself
  return outcome;
}

}  // namespace relay::milter
