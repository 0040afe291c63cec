// relay/smtp/reply_table.cpp — the reply table and its formatting.
//
// Why each less obvious code was chosen:
//  * 421 is the only code that closes the session (RFC 5321 §3.8); the 421s name our
//    host first, as §4.2.3 shows ("421 <domain> Service not available").
//  * Enhanced codes follow RFC 3463: x.5.x for protocol syntax and sequence, x.1.x for
//    addresses, x.3.x for system conditions, x.4.x for network/routing, x.7.x for
//    security policy.
//  * DATA with recipients all refused: RFC 5321 §3.3 allows 503 or 554 ("no valid
//    recipients"); we send 554 then, as Postfix does, and 503 "need RCPT" when no RCPT
//    was tried at all, so a pipelining client (RFC 2920 §3.1) can tell the two apart.
//  * EXPN is disabled with 502 (RFC 5321 §3.5.2 and §7.3 allow it); VRFY answers 252,
//    which §3.5.3 requires of a server that will not verify, and leaks nothing.
//  * BODY=BINARYMIME is a registered value we do not implement → 504 5.5.4 ("parameter
//    not implemented", §4.2.4); an unknown parameter keyword → 555 5.5.4 (§4.1.1.11).
//  * Non-ASCII in an address without SMTPUTF8: 553 5.6.7 (RFC 6531 §3.6.1).
//  * Bare CR/LF with the listener set to reject: 550 5.5.2, a permanent refusal of this
//    message as malformed (5.5.2 "syntax error"), not of the session.
//  * Text lines over 1000 octets (RFC 5321 §4.5.3.1.6): 554 5.6.0 — after the final dot
//    554 is "transaction failed" (§4.3.2), and x.6.0 says the content is the problem,
//    so a client will not retry the same message unchanged.
//  * Delivery-side synthetic replies use 451 for faults worth retrying (the failure is
//    of the path, not the message) and 55x for routing dead ends and expiry.
#include "relay/smtp/reply_table.hpp"

#include <array>
#include <cstddef>

namespace relay {
namespace {

using enum ReplyId;

constexpr std::array table{
    ReplySpec{banner, 220, "", "{} ESMTP"},
    ReplySpec{connection_refused, 554, "5.7.1", "Connection refused"},
    ReplySpec{connection_deferred, 421, "4.7.0", "{} Service temporarily unavailable, closing connection"},
    ReplySpec{closing, 221, "2.0.0", "Bye"},
    ReplySpec{ehlo_greeting, 250, "", "{}"},
    ReplySpec{helo_greeting, 250, "", "{}"},
    ReplySpec{ok, 250, "2.0.0", "Ok"},
    ReplySpec{sender_ok, 250, "2.1.0", "Sender ok"},
    ReplySpec{recipient_ok, 250, "2.1.5", "Recipient ok"},
    ReplySpec{queued, 250, "2.0.0", "Ok: queued as {}"},
    ReplySpec{cannot_verify, 252, "2.5.0",
              "Cannot VRFY user, but will accept message and attempt delivery"},
    ReplySpec{help, 214, "2.0.0", "Commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"},
    ReplySpec{start_data, 354, "", "End data with <CR><LF>.<CR><LF>"},
    ReplySpec{timeout, 421, "4.4.2", "{} Error: timeout exceeded, closing connection"},
    ReplySpec{shutting_down, 421, "4.3.2", "{} Service shutting down, closing connection"},
    ReplySpec{too_many_errors, 421, "4.7.0", "{} Error: too many errors, closing connection"},
    ReplySpec{local_error, 451, "4.3.0", "Error: local error in processing, try again later"},
    ReplySpec{insufficient_storage, 452, "4.3.1", "Error: insufficient system storage"},
    ReplySpec{too_many_recipients, 452, "4.5.3", "Error: too many recipients"},
    ReplySpec{policy_deferred, 450, "4.7.1", "Service temporarily unavailable, try again later"},
    ReplySpec{command_unrecognized, 500, "5.5.1", "Error: command not recognized"},
    ReplySpec{line_too_long, 500, "5.5.2", "Error: line too long"},
    ReplySpec{syntax_error, 501, "5.5.4", "Error: syntax error in parameters or arguments"},
    ReplySpec{helo_syntax, 501, "5.5.4", "Syntax: EHLO hostname"},
    ReplySpec{mail_syntax, 501, "5.5.4", "Syntax: MAIL FROM:<address>"},
    ReplySpec{rcpt_syntax, 501, "5.5.4", "Syntax: RCPT TO:<address>"},
    ReplySpec{bad_sender_syntax, 501, "5.1.7", "Error: bad sender address syntax"},
    ReplySpec{bad_recipient_syntax, 501, "5.1.3", "Error: bad recipient address syntax"},
    ReplySpec{non_ascii_address, 553, "5.6.7", "Error: non-ASCII address without SMTPUTF8"},
    ReplySpec{command_not_implemented, 502, "5.5.1", "Error: command not implemented"},
    ReplySpec{need_helo, 503, "5.5.1", "Error: send HELO/EHLO first"},
    ReplySpec{need_mail, 503, "5.5.1", "Error: need MAIL command"},
    ReplySpec{need_rcpt, 503, "5.5.1", "Error: need RCPT command"},
    ReplySpec{nested_mail, 503, "5.5.1", "Error: nested MAIL command"},
    ReplySpec{no_valid_recipients, 554, "5.5.1", "Error: no valid recipients"},
    ReplySpec{parameter_not_implemented, 504, "5.5.4", "Error: parameter value not implemented"},
    ReplySpec{parameters_not_recognized, 555, "5.5.4",
              "Error: MAIL FROM/RCPT TO parameters not recognized or not implemented"},
    ReplySpec{relay_denied, 550, "5.7.1", "Relay access denied"},
    ReplySpec{client_not_trusted, 550, "5.7.1", "Client host not trusted"},
    ReplySpec{access_denied, 550, "5.7.1", "Access denied"},
    ReplySpec{message_too_big, 552, "5.3.4", "Error: message exceeds fixed maximum message size"},
    ReplySpec{bare_line_ending, 550, "5.5.2",
              "Error: message contains bare <CR> or <LF>; use <CR><LF> line endings"},
    ReplySpec{text_line_too_long, 554, "5.6.0", "Error: message has lines longer than 1000 octets"},
    ReplySpec{hop_connect_failed, 451, "4.4.1", "Connection to next hop failed: {}"},
    ReplySpec{hop_connection_lost, 451, "4.4.2", "Lost connection with next hop: {}"},
    ReplySpec{hop_timeout, 451, "4.4.2", "Timed out talking to next hop: {}"},
    ReplySpec{hop_tls_failed, 451, "4.7.5", "TLS with next hop failed: {}"},
    ReplySpec{hop_dane_unmet, 451, "4.7.5", "DANE policy of next hop cannot be met: {}"},
    ReplySpec{hop_protocol_error, 451, "4.5.0", "Protocol error with next hop: {}"},
    ReplySpec{hop_dns_failure, 451, "4.4.3", "Name resolution failed: {}"},
    ReplySpec{no_healthy_hop, 451, "4.4.1", "No healthy next hop available"},
    // Transient on purpose: a missing route is a configuration gap the administrator can
    // close; the message waits (and expires with a bounce) instead of bouncing at once.
    ReplySpec{no_route, 451, "4.4.4", "No route to the recipient domain"},
    ReplySpec{domain_not_found, 550, "5.1.2", "Recipient domain not found: {}"},
    ReplySpec{delivery_expired, 554, "5.4.7", "Delivery time expired"},
    // RFC 7505 §4.2: a domain with a null MX accepts no mail; 556 5.1.10.
    ReplySpec{null_mx, 556, "5.1.10", "Recipient domain {} accepts no mail (null MX)"},
    // RFC 3207 §4: 220 before the handshake; a repeated STARTTLS is a sequence
    // error (503). 530 5.7.0 is RFC 3207's "must issue STARTTLS first". RFC 4954 §6
    // codes: 235 2.7.0, 334 (no enhanced code, like 354), 535 5.7.8, 538 5.7.11, 454
    // 4.7.0 (used here while an address is locked out after repeated failures),
    // 501 5.0.0 for "*". An early talker gets 554 (refused, RFC 5321 §3.1) with 5.5.0.
    ReplySpec{ready_to_start_tls, 220, "2.0.0", "Ready to start TLS"},
    ReplySpec{tls_already_active, 503, "5.5.1", "TLS already active"},
    ReplySpec{tls_required, 530, "5.7.0", "Must issue a STARTTLS command first"},
    ReplySpec{bad_sequence, 503, "5.5.1", "Bad sequence of commands"},
    ReplySpec{chunk_received, 250, "2.0.0", "{} octets received"},
    ReplySpec{early_talker, 554, "5.5.0", "Protocol error: input before greeting"},
    ReplySpec{auth_succeeded, 235, "2.7.0", "Authentication successful"},
    ReplySpec{auth_continue, 334, "", "{}"},
    ReplySpec{auth_failed, 535, "5.7.8", "Authentication credentials invalid"},
    ReplySpec{auth_cancelled, 501, "5.0.0", "Authentication cancelled"},
    ReplySpec{auth_mechanism_unsupported, 504, "5.5.4", "Unrecognized authentication type"},
    ReplySpec{auth_already_done, 503, "5.5.1", "Already authenticated"},
    ReplySpec{auth_needs_tls, 538, "5.7.11", "Encryption required for requested authentication mechanism"},
    ReplySpec{auth_locked_out, 454, "4.7.0", "Too many authentication failures, try again later"},
    ReplySpec{auth_bad_response, 501, "5.5.2", "Cannot decode response"},
    ReplySpec{header_too_big, 552, "5.3.4", "Message header size exceeds limit"},
    // DNSBL: 554 5.7.1 in Postfix's words, naming the zone so a wrongly listed
    // sender knows whom to ask. Unknown recipient: 550 5.1.1 (RFC 3463 "bad destination
    // mailbox"). A callout that could not be completed: 451 4.4.3 ("directory server
    // failure"), so the client retries instead of bouncing (refused at RCPT, not at connect).
    ReplySpec{dnsbl_listed, 554, "5.7.1", "Service unavailable; client [{}] blocked using {}"},
    ReplySpec{recipient_unknown, 550, "5.1.1", "Recipient address rejected: user unknown"},
    ReplySpec{recipient_unverified, 451, "4.4.3", "Recipient address verification failed, try again later"},
    // Limits are 4xx (come back later, RFC 5321 §4.2.5): 421 at connect (the
    // only code that may close, §3.8), 451 4.7.1 at MAIL/RCPT ("delivery not authorized,
    // message refused" for now). HELO shape → 501 5.5.2 (Postfix reject_invalid_helo_hostname);
    // every other policy refusal is 550 5.7.1 with text naming what was refused.
    ReplySpec{too_many_client_connections, 421, "4.7.0", "{} Too many connections from your address, try again later"},
    ReplySpec{connection_rate_exceeded, 421, "4.7.0", "{} Connection rate limit exceeded for your address, try again later"},
    ReplySpec{helo_invalid, 501, "5.5.2", "Helo command rejected: need fully-qualified hostname or address literal"},
    ReplySpec{helo_spoofed, 550, "5.7.1", "Helo command rejected: you are not me"},
    ReplySpec{sender_denied, 550, "5.7.1", "Sender address rejected: access denied"},
    ReplySpec{recipient_denied, 550, "5.7.1", "Recipient address rejected: access denied"},
    ReplySpec{spoofed_sender, 550, "5.7.1", "Sender address rejected: internal domain from an external client"},
    ReplySpec{sender_not_allowed, 550, "5.7.1", "Sender address rejected: not allowed for this client"},
    ReplySpec{message_rate_exceeded, 451, "4.7.1", "Message rate limit exceeded for your address, try again later"},
    ReplySpec{recipient_rate_exceeded, 451, "4.7.1", "Recipient rate limit exceeded for your address, try again later"},
    ReplySpec{hop_no_smtputf8, 553, "5.6.7", "Next hop does not support SMTPUTF8: {}"},
    // A client that sends past DATA without waiting for the 354 (RFC 2920 §3.1) gets
    // Postfix's answer to improper pipelining (smtpd_forbid_unauth_pipelining): 554
    // 5.5.0, then the session closes — its bytes can no longer be told apart.
    ReplySpec{pipelining_violation, 554, "5.5.0", "Error: SMTP protocol synchronization"},
    // A queued message whose spool file is gone or short at start-up (a disk fault, or a
    // file removed by hand): it can never be delivered, so the sender is told at once.
    ReplySpec{body_lost, 550, "5.3.0", "Message body lost from the queue: {}"},
    // A content filter said tempfail or reject without its own text, or stands for it
    // (its default action when it is down, slow or misbehaving); shutdown closes.
    ReplySpec{filter_tempfail, 451, "4.7.1", "Service unavailable - try again later"},
    ReplySpec{filter_reject, 550, "5.7.1", "Message content rejected"},
    ReplySpec{filter_shutdown, 421, "4.7.0", "{} Content filter unavailable, closing connection"},
    // RFC 8689: REQUIRETLS only on an encrypted session (§4.1, 5.7.10 "Encryption
    // Needed"); a message no next hop could carry under verified TLS with REQUIRETLS
    // fails with 5.7.30 "REQUIRETLS support required" (§5).
    ReplySpec{requiretls_needs_tls, 530, "5.7.10", "REQUIRETLS needs an encrypted connection"},
    ReplySpec{hop_requiretls_unmet, 550, "5.7.30", "REQUIRETLS support required: {}"},
};

// Too few initializers would leave empty names; table_is_complete() rejects those.
constexpr std::array<std::string_view, static_cast<std::size_t>(ReplyId::count_)> names{
    "banner", "connection_refused", "connection_deferred", "closing",
    "ehlo_greeting", "helo_greeting", "ok", "sender_ok", "recipient_ok", "queued",
    "cannot_verify", "help", "start_data", "timeout", "shutting_down", "too_many_errors",
    "local_error", "insufficient_storage", "too_many_recipients", "policy_deferred",
    "command_unrecognized", "line_too_long", "syntax_error", "helo_syntax", "mail_syntax",
    "rcpt_syntax", "bad_sender_syntax", "bad_recipient_syntax", "non_ascii_address",
    "command_not_implemented", "need_helo", "need_mail", "need_rcpt", "nested_mail",
    "no_valid_recipients", "parameter_not_implemented", "parameters_not_recognized",
    "relay_denied", "client_not_trusted", "access_denied", "message_too_big",
    "bare_line_ending", "text_line_too_long", "hop_connect_failed", "hop_connection_lost",
    "hop_timeout", "hop_tls_failed", "hop_dane_unmet", "hop_protocol_error", "hop_dns_failure", "no_healthy_hop",
    "no_route", "domain_not_found", "delivery_expired", "null_mx",
    "ready_to_start_tls", "tls_already_active", "tls_required", "bad_sequence", "chunk_received",
    "early_talker", "auth_succeeded", "auth_continue", "auth_failed", "auth_cancelled",
    "auth_mechanism_unsupported", "auth_already_done", "auth_needs_tls", "auth_locked_out",
    "auth_bad_response", "header_too_big",
    "dnsbl_listed", "recipient_unknown", "recipient_unverified",
    "too_many_client_connections", "connection_rate_exceeded", "helo_invalid", "helo_spoofed",
    "sender_denied", "recipient_denied", "spoofed_sender", "sender_not_allowed",
    "message_rate_exceeded", "recipient_rate_exceeded",
    "hop_no_smtputf8", "pipelining_violation", "body_lost",
    "filter_tempfail", "filter_reject", "filter_shutdown",
    "requiretls_needs_tls", "hop_requiretls_unmet",
};

// Every row sits at the index of its id, so lookup is an index; the code is three
// digits with a valid first digit and the enhanced class (when present) matches it.
constexpr bool table_is_complete() {
  if (table.size() != static_cast<std::size_t>(ReplyId::count_)) return false;
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto& row = table[i];
    if (names[i].empty()) return false;
    if (static_cast<std::size_t>(row.id) != i) return false;
    if (row.code < 200 || row.code > 599) return false;
    if (!row.enhanced.empty()) {
      if (row.enhanced.size() < 5 || row.enhanced[1] != '.') return false;
      if (row.enhanced[0] != static_cast<char>('0' + row.code / 100)) return false;
    }
    if (row.text.empty()) return false;
  }
  return true;
}
static_assert(table_is_complete(), "reply table must have one well-formed row per ReplyId, in order");

bool is_unsafe_octet(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

void append_sanitized(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(is_unsafe_octet(c) ? '?' : c);
}

void append_text(std::string& out, std::string_view text, std::initializer_list<std::string_view> args) {
  auto arg = args.begin();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && i + 1 < text.size() && text[i + 1] == '}') {
      if (arg != args.end()) append_sanitized(out, *arg++);
      ++i;
      continue;
    }
    out.push_back(text[i]);
  }
}

void append_code(std::string& out, std::uint16_t code, char separator) {
  out.push_back(static_cast<char>('0' + code / 100));
  out.push_back(static_cast<char>('0' + code / 10 % 10));
  out.push_back(static_cast<char>('0' + code % 10));
  out.push_back(separator);
}

void append_line(std::string& out, const ReplySpec& spec, char separator, auto&& append_body) {
  append_code(out, spec.code, separator);
  if (!spec.enhanced.empty()) {
    out.append(spec.enhanced);
    out.push_back(' ');
  }
  append_body();
  out.append("\r\n");
}

}  // namespace

const ReplySpec& reply_spec(ReplyId id) noexcept { return table[static_cast<std::size_t>(id)]; }

std::string_view to_string(ReplyId id) noexcept {
  const auto i = static_cast<std::size_t>(id);
  return i < names.size() ? names[i] : "unknown";
}

void append_reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args) {
  const auto& spec = reply_spec(id);
  append_line(out, spec, ' ', [&] { append_text(out, spec.text, args); });
}

void append_multiline_reply(std::string& out, ReplyId id, std::span<const std::string> more_lines,
                            std::initializer_list<std::string_view> args) {
  const auto& spec = reply_spec(id);
  append_line(out, spec, more_lines.empty() ? ' ' : '-', [&] { append_text(out, spec.text, args); });
  for (std::size_t i = 0; i < more_lines.size(); ++i) {
    const char separator = i + 1 == more_lines.size() ? ' ' : '-';
    append_line(out, spec, separator, [&] { append_sanitized(out, more_lines[i]); });
  }
}

std::string_view to_string(PolicyStage stage) noexcept {
  switch (stage) {
    case PolicyStage::connect: return "connect";
    case PolicyStage::mail: return "mail";
    case PolicyStage::rcpt: return "rcpt";
    case PolicyStage::helo: return "helo";
    case PolicyStage::data: return "data";
  }
  return "unknown";
}

ReplyId reply_for(policy::Decision decision, PolicyStage stage) noexcept {
  using policy::Reason;
  using policy::Verdict;
  if (decision.verdict == Verdict::accept) {
    switch (stage) {
      case PolicyStage::connect: return banner;
      case PolicyStage::mail: return sender_ok;
      case PolicyStage::rcpt: return recipient_ok;
      case PolicyStage::helo: return helo_greeting;
      case PolicyStage::data: return ok;
    }
    return ok;
  }
  // Reasons with a reply of their own, whatever the stage.
  switch (decision.reason) {
    case Reason::too_many_connections: return too_many_client_connections;
    case Reason::connection_rate_exceeded: return connection_rate_exceeded;
    case Reason::helo_invalid: return helo_invalid;
    case Reason::helo_spoofed: return helo_spoofed;
    case Reason::sender_denied: return sender_denied;
    case Reason::recipient_denied: return recipient_denied;
    case Reason::spoofed_sender: return spoofed_sender;
    case Reason::sender_not_allowed: return sender_not_allowed;
    case Reason::message_rate_exceeded: return message_rate_exceeded;
    case Reason::recipient_rate_exceeded: return recipient_rate_exceeded;
    default: break;
  }
  // Before the greeting only 554 (refuse, §3.1) or 421 (come back later) make sense.
  if (stage == PolicyStage::connect) {
    return decision.verdict == Verdict::reject ? connection_refused : connection_deferred;
  }
  // These two are limits, not judgements: the RFC codes apply whatever the verdict.
  if (decision.reason == Reason::too_many_recipients) return too_many_recipients;
  if (decision.reason == Reason::recipient_unverified) return recipient_unverified;  // a defer of its own
  if (decision.verdict == Verdict::defer) return policy_deferred;
  switch (decision.reason) {
    case Reason::relay_denied: return relay_denied;
    case Reason::untrusted_client:
    case Reason::client_not_allowed: return client_not_trusted;
    case Reason::message_too_large: return message_too_big;
    case Reason::dnsbl_listed: return dnsbl_listed;
    case Reason::recipient_unknown: return recipient_unknown;
    case Reason::recipient_unverified: return recipient_unverified;
    case Reason::too_many_recipients: return too_many_recipients;
    case Reason::none: return access_denied;
    default: break;  // reasons with their own reply are mapped above
  }
  return access_denied;
}

}  // namespace relay
