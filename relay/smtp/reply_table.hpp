// relay/smtp/reply_table.hpp — every SMTP reply hubrelay can send, in one table.
//
// Owns: ReplyId (one value per distinct reply), the table ReplyId → {code, enhanced
// status, text}, the wire formatting of single- and multi-line replies, and the one
// mapping from a policy::Decision to a reply. The delivery side takes its synthetic
// replies (connection faults, expiry) from here too, so a DSN carries the same codes.
// Never: decides *when* a reply is sent (relay/server/server_fsm does), performs I/O.
// Errors: none; `{}` placeholders without an argument are left empty, and arguments
// are stripped of CR, LF and other control octets so a peer-supplied string can never
// end a reply line early (reply injection).
// Standards: RFC 5321 §4.2 (reply codes and lines), RFC 2034 (ENHANCEDSTATUSCODES:
// not on the 220 greeting, the EHLO/HELO reply or the 354), RFC 3463 (status codes),
// RFC 1870 (SIZE), RFC 6531 §3.6 (5.6.7), RFC 7672 (4.7.5), RFC 8689 (5.7.10, 5.7.30).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "policy/decision.hpp"

namespace relay {

/// One value per reply. The order here is the order of the table in reply_table.cpp;
/// a static_assert there checks that every value has exactly one row.
enum class ReplyId : std::uint8_t {
  // Connection opening and closing.
  banner,                      // 220 {host} ESMTP
  connection_refused,          // 554 5.7.1
  connection_deferred,         // 421 4.7.0 {host}
  closing,                     // 221 2.0.0
  // Positive replies.
  ehlo_greeting,               // 250-{host}, extension lines follow
  helo_greeting,               // 250 {host}
  ok,                          // 250 2.0.0
  sender_ok,                   // 250 2.1.0
  recipient_ok,                // 250 2.1.5
  queued,                      // 250 2.0.0 Ok: queued as {id}
  cannot_verify,               // 252 2.5.0
  help,                        // 214 2.0.0
  start_data,                  // 354
  // Session-ending 421s.
  timeout,                     // 421 4.4.2 {host}
  shutting_down,               // 421 4.3.2 {host}
  too_many_errors,             // 421 4.7.0 {host}
  // Transient failures.
  local_error,                 // 451 4.3.0
  insufficient_storage,        // 452 4.3.1
  too_many_recipients,         // 452 4.5.3
  policy_deferred,             // 450 4.7.1
  // Command syntax and sequence.
  command_unrecognized,        // 500 5.5.1
  line_too_long,               // 500 5.5.2
  syntax_error,                // 501 5.5.4
  helo_syntax,                 // 501 5.5.4 Syntax: EHLO hostname
  mail_syntax,                 // 501 5.5.4 Syntax: MAIL FROM:<address>
  rcpt_syntax,                 // 501 5.5.4 Syntax: RCPT TO:<address>
  bad_sender_syntax,           // 501 5.1.7
  bad_recipient_syntax,        // 501 5.1.3
  non_ascii_address,           // 553 5.6.7
  command_not_implemented,     // 502 5.5.1
  need_helo,                   // 503 5.5.1
  need_mail,                   // 503 5.5.1
  need_rcpt,                   // 503 5.5.1
  nested_mail,                 // 503 5.5.1
  no_valid_recipients,         // 554 5.5.1
  parameter_not_implemented,   // 504 5.5.4
  parameters_not_recognized,   // 555 5.5.4
  // Policy.
  relay_denied,                // 550 5.7.1
  client_not_trusted,          // 550 5.7.1
  access_denied,               // 550 5.7.1
  // Message content, at the end of DATA (or SIZE= at MAIL).
  message_too_big,             // 552 5.3.4
  bare_line_ending,            // 550 5.5.2
  text_line_too_long,          // 554 5.6.0
  // Synthetic replies of the delivery side (no server said them; they describe a fault).
  hop_connect_failed,          // 451 4.4.1 {detail}
  hop_connection_lost,         // 451 4.4.2 {detail}
  hop_timeout,                 // 451 4.4.2 {detail}
  hop_tls_failed,              // 451 4.7.5 {detail}
  hop_dane_unmet,              // 451 4.7.5 {detail} (RFC 7672: DANE required, cannot be met)
  hop_protocol_error,          // 451 4.5.0 {detail}
  hop_dns_failure,             // 451 4.4.3 {detail}
  no_healthy_hop,              // 451 4.4.1
  no_route,                    // 451 4.4.4 (deferred: a configuration gap)
  domain_not_found,            // 550 5.1.2 {domain}
  delivery_expired,            // 554 5.4.7
  null_mx,                     // 556 5.1.10 {domain} (RFC 7505)
  // --- STARTTLS, BDAT, AUTH, early talkers (RFC 3207, 3030, 4954). ---
  ready_to_start_tls,          // 220 2.0.0
  tls_already_active,          // 503 5.5.1
  tls_required,                // 530 5.7.0
  bad_sequence,                // 503 5.5.1
  chunk_received,              // 250 2.0.0 {n} octets received
  early_talker,                // 554 5.5.0 (then closed)
  auth_succeeded,              // 235 2.7.0
  auth_continue,               // 334 {base64 challenge}
  auth_failed,                 // 535 5.7.8
  auth_cancelled,              // 501 5.0.0
  auth_mechanism_unsupported,  // 504 5.5.4
  auth_already_done,           // 503 5.5.1
  auth_needs_tls,              // 538 5.7.11
  auth_locked_out,             // 454 4.7.0
  auth_bad_response,           // 501 5.5.2
  header_too_big,              // 552 5.3.4
  // --- DNSBL and recipient verification. ---
  dnsbl_listed,                // 554 5.7.1 Service unavailable; client [{ip}] blocked using {zone[; TXT reason]}
  recipient_unknown,           // 550 5.1.1
  recipient_unverified,        // 451 4.4.3
  // --- access rules and per-client limits (docs/policy.md#reasons). ---
  too_many_client_connections, // 421 4.7.0 {host} (then closed)
  connection_rate_exceeded,    // 421 4.7.0 {host} (then closed)
  helo_invalid,                // 501 5.5.2
  helo_spoofed,                // 550 5.7.1
  sender_denied,               // 550 5.7.1
  recipient_denied,            // 550 5.7.1
  spoofed_sender,              // 550 5.7.1
  sender_not_allowed,          // 550 5.7.1
  message_rate_exceeded,       // 451 4.7.1
  recipient_rate_exceeded,     // 451 4.7.1
  hop_no_smtputf8,             // 553 5.6.7 (synthetic: the hop lacks SMTPUTF8, RFC 6531 §3.2)
  // Pipelining (RFC 2920 §3.1).
  pipelining_violation,        // 554 5.5.0 (then closed): input sent behind DATA before the 354
  // Queue faults found at start-up (synthetic, for the sender's report).
  body_lost,                   // 550 5.3.0: the spooled body of a queued message is missing or short
  // Content filters (relay/milter): what a filter's plain verdict or its default action says.
  filter_tempfail,             // 451 4.7.1
  filter_reject,               // 550 5.7.1
  filter_shutdown,             // 421 4.7.0 {host} (then closed)
  // REQUIRETLS (RFC 8689).
  requiretls_needs_tls,        // 530 5.7.10: MAIL ... REQUIRETLS on a session without TLS
  hop_requiretls_unmet,        // 550 5.7.30 {detail} (synthetic: no hop could carry a REQUIRETLS message)
  count_,                      // not a reply: the number of replies
};

struct ReplySpec {
  ReplyId id;
  std::uint16_t code;           // 3 digits, RFC 5321 §4.2.1
  std::string_view enhanced;    // "x.y.z", or "" where RFC 2034 forbids one
  std::string_view text;        // may hold "{}" placeholders, filled in order
};

/// The row for `id`. `id` must not be ReplyId::count_.
const ReplySpec& reply_spec(ReplyId id) noexcept;

/// Short stable name of a reply ("relay_denied"), for logs and metrics.
std::string_view to_string(ReplyId id) noexcept;

/// Appends one single-line reply, CRLF-terminated: "550 5.7.1 Relay access denied\r\n".
void append_reply(std::string& out, ReplyId id, std::initializer_list<std::string_view> args = {});

/// Appends a multi-line reply (RFC 5321 §4.2.1): the table's line first, then
/// `more_lines` verbatim (each sanitized), "250-" on all but the last line. Lines carry
/// the enhanced status when the row has one.
void append_multiline_reply(std::string& out, ReplyId id, std::span<const std::string> more_lines,
                            std::initializer_list<std::string_view> args = {});

/// The wire text of a single-line reply; convenience over append_reply.
template <class... Args>
std::string format_reply(ReplyId id, const Args&... args) {
  std::string out;
  append_reply(out, id, {std::string_view(args)...});
  return out;
}

/// The SMTP stage at which a policy decision is applied.
/// helo (HELO checks) and data (size refusals logged as decisions) included.
enum class PolicyStage : std::uint8_t { connect, mail, rcpt, helo, data };

/// "connect", "helo", "mail", "rcpt", "data": the `stage=` of decision logs and metrics.
std::string_view to_string(PolicyStage stage) noexcept;

/// The one mapping from a policy decision to the reply that announces it. An accepting
/// decision maps to the stage's positive reply (banner, sender_ok, recipient_ok).
ReplyId reply_for(policy::Decision decision, PolicyStage stage) noexcept;

}  // namespace relay
