// relay/milter/reply.hpp — what a filter says, parsed and checked.
//
// Owns: turning one filter packet into a Reply (a verdict, a progress note, or a message
// modification) and the checks that make it safe to act on: a custom reply must be a
// well-formed 4xx/5xx SMTP reply (one or more lines, one code); header names are printable
// field names and header values carry no CR or LF except proper folding (a line end
// followed by a space or tab), and both have size caps; addresses and ESMTP arguments
// carry no controls. Anything else is an error string: the filter failed, and its
// default action applies. Values come out normalised (CRLF folding, <> stripped).
// Pure; never throws.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "relay/milter/packet.hpp"

namespace relay::milter {

enum class ReplyKind : std::uint8_t {
  // Verdicts: end the filter's answer to a command.
  continue_, accept, reject, tempfail, discard, reply_code, skip, shutdown, connection_fail,
  // Neither: the filter needs more time.
  progress,
  // Modifications (end of message only) and the quarantine request.
  quarantine, add_header, insert_header, change_header, replace_body, change_from, add_rcpt, add_rcpt_par, del_rcpt,
};
std::string_view to_string(ReplyKind kind) noexcept;

/// True for the replies that end the filter's answer to a command.
bool is_verdict(ReplyKind kind) noexcept;

namespace limits {
inline constexpr std::size_t header_name_max = 256;
inline constexpr std::size_t header_value_max = 64 * 1024;
inline constexpr std::size_t reply_text_max = 4096;
inline constexpr std::size_t address_max = 512;
inline constexpr std::size_t esmtp_arguments_max = 1024;
inline constexpr std::size_t quarantine_reason_max = 512;
}  // namespace limits

struct Reply {
  ReplyKind kind = ReplyKind::continue_;
  /// reply_code: the SMTP reply, every line ending in CRLF. Headers: the value, folded
  /// with CRLF. Quarantine: the reason. Envelope: the address without <>. Body: octets.
  std::string text;
  std::string name;        // header name
  std::uint32_t index = 0; // change_header: 1-based among same-named; insert_header: position
  std::string arguments;   // change_from / add_rcpt_par: ESMTP arguments, "" if none
};

std::expected<Reply, std::string> parse_reply(const Packet& packet);

/// The checks, exposed for the modifications applied later and for tests.
bool valid_header_name(std::string_view name) noexcept;
/// The value folded with CRLF, or nullopt when it would inject a line or is too long.
std::optional<std::string> normalise_header_value(std::string_view value);
/// A 4xx/5xx reply, one or more lines separated by CRLF or LF; every line CRLF-ended.
std::optional<std::string> normalise_reply_code(std::string_view text);

}  // namespace relay::milter
