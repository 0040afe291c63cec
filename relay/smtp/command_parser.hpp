// relay/smtp/command_parser.hpp — SMTP command lines and envelope addresses (RFC 5321).
//
// Owns: splitting one command line (CRLF already removed) into verb and argument; the
// strict RFC 5321 §4.1.2 grammar of MAIL FROM / RCPT TO paths (source routes accepted
// and dropped, quoted local parts, IPv4/IPv6 address literals, the null sender only for
// MAIL, <Postmaster> only for RCPT) with the §4.5.3.1 size limits; esmtp-param syntax;
// the meaning of the MAIL parameters we implement (SIZE, BODY); the BDAT argument.
// Never: decides replies or sequencing (relay/server/server_fsm), performs I/O, allocates for
// the verb split. Views returned point into the caller's line.
// Errors: std::expected with a small error enum per step; relay/server/server_fsm maps them to
// replies. 8-bit octets in an address are their own error unless PathOptions allow
// UTF-8 (SMTPUTF8, RFC 6531 — the caller decides; DSN/SMTPUTF8 parameter meaning is in
// relay/smtp/esmtp_parameters).
// Tolerated on purpose: one or more spaces after "FROM:"/"TO:" and between parameters,
// trailing spaces, lower-case verbs and keywords — common in the wild and harmless.
// Standards: RFC 5321 §4.1.1, §4.1.2, §4.5.3.1; RFC 1870 (SIZE); RFC 6152 (8BITMIME);
// RFC 3030 §4 (BDAT).
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace relay {

namespace limits {
inline constexpr std::size_t max_command_line = 512;  // octets incl. CRLF, §4.5.3.1.4
inline constexpr std::size_t max_path = 256;          // incl. "<" and ">", §4.5.3.1.3
inline constexpr std::size_t max_local_part = 64;     // §4.5.3.1.1
inline constexpr std::size_t max_domain = 255;        // §4.5.3.1.2
inline constexpr std::size_t max_label = 63;          // RFC 1035 §2.3.4
}  // namespace limits

enum class Verb : std::uint8_t {
  ehlo, helo, mail, rcpt, data, rset, noop, quit, vrfy, help,
  // Extensions; EXPN is recognised but not offered (502).
  starttls, auth, bdat, expn,
  unknown,
};

std::string_view to_string(Verb verb) noexcept;

struct Command {
  Verb verb = Verb::unknown;
  /// Text after the verb and its separating space(s), trailing spaces removed.
  std::string_view argument;
};

/// Splits a command line (without CRLF). Never fails: an unknown verb gives Verb::unknown.
Command parse_command(std::string_view line) noexcept;

/// One esmtp-param: keyword ["=" value]. `value` is empty when there was no "=".
struct EsmtpParameter {
  std::string_view keyword;
  std::string_view value;
  friend bool operator==(const EsmtpParameter&, const EsmtpParameter&) = default;
};

enum class EnvelopeError : std::uint8_t {
  syntax,             // "FROM:"/"TO:" missing, or junk where a path should be → 501 5.5.4
  bad_address,        // path grammar or length limits violated → 501 5.1.7 / 5.1.3
  non_ascii_address,  // an 8-bit octet inside the path → 553 5.6.7
  bad_parameters,     // esmtp-param syntax violated → 501 5.5.4
};

std::string_view to_string(EnvelopeError error) noexcept;

struct MailFrom {
  std::string sender;                      // "local@domain" without <>, "" for the null sender
  std::string_view parameter_text;         // the parameters as received, "SIZE=10 BODY=8BITMIME"
  std::vector<EsmtpParameter> parameters;  // views into the argument
};

struct RcptTo {
  std::string recipient;                   // "local@domain", or "Postmaster" as written
  bool postmaster = false;                 // the reserved, domain-less <Postmaster> (§4.5.1)
  std::string_view parameter_text;
  std::vector<EsmtpParameter> parameters;
};

/// How a path is read. allow_utf8 (RFC 6531 §3.3, SMTPUTF8 given on MAIL): 8-bit
/// octets are allowed in the local part (atext and qtext) and in sub-domains (U-labels),
/// and the mailbox must then be well-formed UTF-8 (else bad_address). Length limits
/// stay in octets. Address literals stay ASCII.
struct PathOptions {
  bool allow_utf8 = false;
};

/// Parses the argument of MAIL: "FROM:<path> [params]".
std::expected<MailFrom, EnvelopeError> parse_mail_from(std::string_view argument, PathOptions options = {});

/// Parses the argument of RCPT: "TO:<path> [params]".
std::expected<RcptTo, EnvelopeError> parse_rcpt_to(std::string_view argument, PathOptions options = {});

/// Validates a mailbox "local@domain" (no angle brackets) against RFC 5321 §4.1.2 and
/// the §4.5.3.1 limits. Exposed for callers that take addresses from elsewhere.
bool is_valid_mailbox(std::string_view mailbox) noexcept;

/// Parses "keyword[=value] *(SP keyword[=value])". Empty text gives an empty list.
std::expected<std::vector<EsmtpParameter>, EnvelopeError> parse_esmtp_parameters(std::string_view text);

enum class BodyType : std::uint8_t { unspecified, seven_bit, eight_bit_mime };

struct MailParameters {
  std::optional<std::uint64_t> size;  // RFC 1870 SIZE=, saturated at UINT64_MAX
  BodyType body = BodyType::unspecified;
};

enum class ParameterError : std::uint8_t {
  unknown_keyword,    // → 555 5.5.4
  bad_value,          // malformed value, or a keyword given twice → 501 5.5.4
  unsupported_value,  // a registered value we do not implement (BODY=BINARYMIME) → 504 5.5.4
};

/// Gives the MAIL parameters their meaning. Keywords are case-insensitive.
std::expected<MailParameters, ParameterError> interpret_mail_parameters(
    std::span<const EsmtpParameter> parameters);

/// The argument of BDAT: "chunk-size [LAST]" (RFC 3030 §4).
struct BdatArgument {
  std::uint64_t size = 0;  // octets of the chunk that follows the command line
  bool last = false;       // LAST: the chunk ends the message
  friend bool operator==(const BdatArgument&, const BdatArgument&) = default;
};

/// Parses the argument of BDAT. nullopt: no size, a size over 2^64-1, or junk after it.
std::optional<BdatArgument> parse_bdat_argument(std::string_view argument) noexcept;

/// RFC 5322 atext: the characters of an atom (dot-string local parts, DSN addr-types).
constexpr bool is_atext(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

}  // namespace relay
