// relay/smtp/esmtp_parameters.hpp — the meaning of the DSN and SMTPUTF8 ESMTP parameters.
//
// Owns: MAIL parameters RET, ENVID (RFC 3461 §4.3, §4.4), SMTPUTF8 (RFC 6531 §3.4) and
// REQUIRETLS (RFC 8689 §3; whether the session may use it is the caller's question) on
// top of SIZE/BODY (relay/smtp/command_parser's interpret_mail_parameters); RCPT parameters
// NOTIFY and ORCPT (RFC 3461 §4.1, §4.2); xtext validation/decoding (RFC 3461 §4);
// UTF-8 well-formedness (RFC 3629); and the canonical DSN parameter text the client
// passes on to a hop that offers DSN.
// Never: decides replies or sequencing (relay/server/server_fsm maps ParameterError to 501/555/
// 504), performs I/O or keeps state. Views returned point into the caller's text.
// Errors: std::expected<_, ParameterError>; duplicates and malformed values are bad_value
// (501 5.5.4), keywords we do not implement are unknown_keyword (555 5.5.4).
// Limits: ENVID decoded ≤ 100 printable US-ASCII characters (RFC 3461 §4.4); ORCPT
// address decoded ≤ 500 characters (§4.2); addr-type ≤ 64 atext characters.
// Standards: RFC 3461, RFC 6531, RFC 6533 (utf-8 addr-type), RFC 3629.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "relay/smtp/command_parser.hpp"

namespace relay {

namespace limits {
inline constexpr std::size_t max_envid = 100;       // RFC 3461 §4.4, decoded characters
inline constexpr std::size_t max_orcpt = 500;       // RFC 3461 §4.2, decoded characters
inline constexpr std::size_t max_addr_type = 64;    // our bound on the atom
}  // namespace limits

enum class DsnReturn : std::uint8_t { unspecified, full, headers };

/// Every MAIL parameter we implement, interpreted.
struct MailExtensions {
  MailParameters basic;                     // SIZE, BODY
  DsnReturn ret = DsnReturn::unspecified;   // RET=FULL|HDRS
  std::string_view envid;                   // ENVID as received (xtext), "" if absent
  bool smtputf8 = false;                    // SMTPUTF8 (no value)
  bool requiretls = false;                  // REQUIRETLS (no value, RFC 8689 §3)
};

/// NOTIFY bits (RFC 3461 §4.1). `never` is exclusive.
enum NotifyBits : std::uint8_t {
  notify_none = 0,  // no NOTIFY parameter
  notify_never = 1,
  notify_success = 2,
  notify_failure = 4,
  notify_delay = 8,
};

struct RcptExtensions {
  std::uint8_t notify = notify_none;
  std::string_view orcpt_type;   // addr-type, "rfc822" / "utf-8" / ..., "" if absent
  std::string_view orcpt_value;  // xtext as received
};

/// MAIL parameters: SIZE, BODY, RET, ENVID, SMTPUTF8, REQUIRETLS. Keywords are case-insensitive.
std::expected<MailExtensions, ParameterError> interpret_mail_extensions(std::span<const EsmtpParameter> parameters);

/// RCPT parameters: NOTIFY, ORCPT.
std::expected<RcptExtensions, ParameterError> interpret_rcpt_parameters(std::span<const EsmtpParameter> parameters);

/// xtext = *( xchar / hexchar ): xchar is "!".."~" except "+" and "="; hexchar is "+"
/// and two hex digits (upper case per the RFC; lower case accepted, it is unambiguous).
bool is_valid_xtext(std::string_view text) noexcept;

/// Decodes valid xtext; nullopt when `text` is not valid xtext.
std::optional<std::string> decode_xtext(std::string_view text);

/// Encodes arbitrary octets as xtext (for ORCPT we add ourselves).
std::string encode_xtext(std::string_view text);

/// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, ≤ U+10FFFF).
bool is_valid_utf8(std::string_view text) noexcept;

/// Any octet ≥ 0x80.
bool has_eight_bit(std::string_view text) noexcept;

/// The value of KEYWORD[=value] in stored parameter text ("NOTIFY=NEVER ORCPT=..."),
/// case-insensitive keyword; nullopt if absent, "" for a keyword without a value.
std::optional<std::string_view> find_parameter(std::string_view text, std::string_view keyword) noexcept;

/// " RET=... ENVID=..." from stored MAIL parameter text (empty when neither), for a
/// hop that offers DSN.
std::string dsn_mail_parameters(std::string_view mail_parameters);

/// " NOTIFY=... ORCPT=..." from stored RCPT parameter text. When there is no ORCPT and
/// `recipient` is given, adds ORCPT=rfc822;<recipient> (RFC 3461 §4.2 "SHOULD"),
/// or utf-8;<recipient> for a non-ASCII address (RFC 6533 §3).
std::string dsn_rcpt_parameters(std::string_view rcpt_parameters, std::string_view recipient);

/// "rfc822;a@b" from stored RCPT parameters for Original-Recipient: (xtext-decoded
/// address), "" when there is no (valid) ORCPT.
std::string original_recipient_of(std::string_view rcpt_parameters);

/// Whether the stored MAIL parameters carry SMTPUTF8.
bool wants_smtputf8(std::string_view mail_parameters) noexcept;

}  // namespace relay
