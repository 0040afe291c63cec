// relay/smtp/command_parser.cpp — command line split, RFC 5321 path grammar, esmtp-params.
//
// The path parser is a hand-written recursive descent over the ABNF of RFC 5321 §4.1.2
// (Path, A-d-l, Mailbox, Local-part, Domain, address-literal) and §4.1.3 (IPv4/IPv6
// literals). It is deliberately strict about the path itself — the path is what the
// queue, routing and policy key on, and a lenient parser here is how "a@b@c" or
// "<a@b>@c" style routing tricks get through — and lenient only about whitespace around
// it. A parse failure positioned on an 8-bit octet is reported as non_ascii_address so
// the client learns that SMTPUTF8 is what it needed (allowed with PathOptions::allow_utf8).
#include "relay/smtp/command_parser.hpp"
#include "conf/ascii.hpp"

#include <array>
#include <limits>

#include "relay/smtp/esmtp_parameters.hpp"

namespace relay {
namespace {

constexpr bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_let_dig(char c) noexcept { return is_alpha(c) || is_digit(c); }
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr bool is_eight_bit(char c) noexcept { return static_cast<unsigned char>(c) >= 0x80; }

// qtextSMTP = %d32-33 / %d35-91 / %d93-126
constexpr bool is_qtext(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == 32 || u == 33 || (u >= 35 && u <= 91) || (u >= 93 && u <= 126);
}

using conf::ascii_iequals;
using conf::ascii_istarts_with;

struct Cursor {
  std::string_view text;
  std::size_t pos = 0;
  bool utf8 = false;  // RFC 6531 §3.3: UTF8-non-ascii in atext, qtext and sub-domains

  bool at_end() const noexcept { return pos >= text.size(); }
  char peek() const noexcept { return at_end() ? '\0' : text[pos]; }
  bool eat(char c) noexcept {
    if (at_end() || text[pos] != c) return false;
    ++pos;
    return true;
  }
};

// Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str]
// With SMTPUTF8 a sub-domain may also be a U-label: any 8-bit octet counts as a letter
// here; well-formed UTF-8 is checked once for the whole path.
bool parse_domain(Cursor& c) noexcept {
  const auto letter = [&c](char ch) { return is_let_dig(ch) || (c.utf8 && is_eight_bit(ch)); };
  do {
    const std::size_t start = c.pos;
    if (!letter(c.peek())) return false;
    while (letter(c.peek()) || c.peek() == '-') ++c.pos;
    if (c.text[c.pos - 1] == '-') {
      --c.pos;  // point at the offending hyphen
      return false;
    }
    if (c.pos - start > limits::max_label) return false;
  } while (c.eat('.'));
  return true;
}

// Snum 3("." Snum), Snum = 1*3DIGIT in 0..255
bool is_ipv4_literal(std::string_view text) noexcept {
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    int value = 0;
    int digits = 0;
    while (i < text.size() && is_digit(text[i]) && digits < 4) {
      value = value * 10 + (text[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == text.size()) return parts == 4;
    if (text[i] != '.' || parts == 4) return false;
    ++i;
  }
}

// Groups of 1*4HEXDIG separated by ":"; the last group of the right-hand side may be an
// IPv4 literal (counts as two groups). Returns the group count, or -1 when malformed.
int count_ipv6_groups(std::string_view text, bool allow_ipv4_tail) noexcept {
  if (text.empty()) return 0;
  int groups = 0;
  std::size_t i = 0;
  while (true) {
    const std::size_t end = text.find(':', i);
    const std::string_view group = text.substr(i, end == std::string_view::npos ? text.npos : end - i);
    if (end == std::string_view::npos && allow_ipv4_tail && group.find('.') != group.npos) {
      return is_ipv4_literal(group) ? groups + 2 : -1;
    }
    if (group.empty() || group.size() > 4) return -1;
    for (char ch : group) {
      if (!is_hex(ch)) return -1;
    }
    ++groups;
    if (end == std::string_view::npos) return groups;
    i = end + 1;
  }
}

// IPv6-addr of RFC 5321 §4.1.3: full (8 groups, or 6 + IPv4) or compressed with one
// "::" standing for at least two zero groups, so at most 6 groups besides it.
bool is_ipv6_address(std::string_view text) noexcept {
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) return count_ipv6_groups(text, true) == 8;
  const std::string_view left = text.substr(0, gap);
  const std::string_view right = text.substr(gap + 2);
  if (right.find("::") != std::string_view::npos) return false;
  const int l = count_ipv6_groups(left, false);
  const int r = count_ipv6_groups(right, true);
  return l >= 0 && r >= 0 && l + r <= 6;
}

bool parse_address_literal(Cursor& c) noexcept {
  const std::size_t open = c.pos;
  if (!c.eat('[')) return false;
  const std::size_t close = c.text.find(']', c.pos);
  if (close == std::string_view::npos) return false;
  const std::string_view body = c.text.substr(c.pos, close - c.pos);
  const bool ok = is_ipv4_literal(body) || (ascii_istarts_with(body, "IPv6:") && is_ipv6_address(body.substr(5)));
  if (!ok) {
    // Point at an 8-bit octet if there is one, so the caller reports it as such.
    for (std::size_t i = 0; i < body.size(); ++i) {
      if (is_eight_bit(body[i])) {
        c.pos = open + 1 + i;
        return false;
      }
    }
    return false;
  }
  c.pos = close + 1;
  return true;
}

// Local-part = Dot-string / Quoted-string
bool parse_local_part(Cursor& c, bool& quoted) noexcept {
  quoted = c.peek() == '"';
  if (quoted) {
    ++c.pos;
    while (!c.at_end()) {
      const char ch = c.peek();
      if (ch == '"') {
        ++c.pos;
        return true;
      }
      if (ch == '\\') {  // quoted-pairSMTP = %d92 %d32-126
        ++c.pos;
        const auto next = static_cast<unsigned char>(c.peek());
        if (c.at_end() || next < 32 || next > 126) return false;
        ++c.pos;
        continue;
      }
      if (!is_qtext(ch) && !(c.utf8 && is_eight_bit(ch))) return false;
      ++c.pos;
    }
    return false;
  }
  const auto atext = [&c](char ch) { return is_atext(ch) || (c.utf8 && is_eight_bit(ch)); };
  do {
    if (!atext(c.peek())) return false;
    while (atext(c.peek())) ++c.pos;
  } while (c.eat('.'));
  return true;
}

struct ParsedPath {
  std::string address;
  bool postmaster = false;
};

enum class PathKind : std::uint8_t { reverse, forward };

std::expected<ParsedPath, EnvelopeError> parse_path(Cursor& c, PathKind kind) {
  const std::size_t start = c.pos;
  const auto fail = [&c]() -> std::unexpected<EnvelopeError> {
    return std::unexpected(is_eight_bit(c.peek()) ? EnvelopeError::non_ascii_address
                                                  : EnvelopeError::bad_address);
  };
  if (!c.eat('<')) return fail();
  if (c.eat('>')) {
    if (kind == PathKind::reverse) return ParsedPath{};
    return std::unexpected(EnvelopeError::bad_address);
  }
  // A-d-l ":" — an RFC 821 source route. §4.1.1.3 and Appendix C: accept, then ignore.
  bool source_route = false;
  if (c.peek() == '@') {
    source_route = true;
    do {
      if (!c.eat('@') || !parse_domain(c)) return fail();
    } while (c.eat(','));
    if (!c.eat(':')) return fail();
  }
  const std::size_t mailbox_start = c.pos;
  bool quoted = false;
  if (!parse_local_part(c, quoted)) return fail();
  const std::size_t local_end = c.pos;
  if (local_end - mailbox_start > limits::max_local_part) {
    return std::unexpected(EnvelopeError::bad_address);
  }
  // "RCPT TO:<Postmaster>" — the one domain-less path (§4.1.1.3, §4.5.1).
  if (kind == PathKind::forward && !source_route && !quoted && c.peek() == '>' &&
      ascii_iequals(c.text.substr(mailbox_start, local_end - mailbox_start), "postmaster")) {
    ++c.pos;
    return ParsedPath{std::string(c.text.substr(mailbox_start, local_end - mailbox_start)), true};
  }
  if (!c.eat('@')) return fail();
  const std::size_t domain_start = c.pos;
  if (!(c.peek() == '[' ? parse_address_literal(c) : parse_domain(c))) return fail();
  const std::size_t domain_end = c.pos;
  if (domain_end - domain_start > limits::max_domain) return std::unexpected(EnvelopeError::bad_address);
  if (!c.eat('>')) return fail();
  if (c.pos - start > limits::max_path) return std::unexpected(EnvelopeError::bad_address);
  const std::string_view mailbox = c.text.substr(mailbox_start, domain_end - mailbox_start);
  if (c.utf8 && !is_valid_utf8(mailbox)) return std::unexpected(EnvelopeError::bad_address);
  return ParsedPath{std::string(mailbox), false};
}

struct Envelope {
  ParsedPath path;
  std::string_view parameter_text;
  std::vector<EsmtpParameter> parameters;
};

std::expected<Envelope, EnvelopeError> parse_envelope(std::string_view argument, std::string_view keyword,
                                                      PathKind kind, PathOptions options) {
  if (!ascii_istarts_with(argument, keyword)) return std::unexpected(EnvelopeError::syntax);
  Cursor c{argument, keyword.size(), options.allow_utf8};
  while (c.peek() == ' ') ++c.pos;  // "MAIL FROM: <a@b>" is common enough to accept
  if (c.at_end()) return std::unexpected(EnvelopeError::syntax);
  auto path = parse_path(c, kind);
  if (!path) return std::unexpected(path.error());
  std::string_view rest = argument.substr(c.pos);
  if (!rest.empty() && rest.front() != ' ') return std::unexpected(EnvelopeError::bad_parameters);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  auto parameters = parse_esmtp_parameters(rest);
  if (!parameters) return std::unexpected(parameters.error());
  return Envelope{std::move(*path), rest, std::move(*parameters)};
}

struct VerbName {
  std::string_view name;
  Verb verb;
};

constexpr std::array verb_names{
    VerbName{"EHLO", Verb::ehlo}, VerbName{"HELO", Verb::helo},         VerbName{"MAIL", Verb::mail},
    VerbName{"RCPT", Verb::rcpt}, VerbName{"DATA", Verb::data},         VerbName{"RSET", Verb::rset},
    VerbName{"NOOP", Verb::noop}, VerbName{"QUIT", Verb::quit},         VerbName{"VRFY", Verb::vrfy},
    VerbName{"HELP", Verb::help}, VerbName{"STARTTLS", Verb::starttls}, VerbName{"AUTH", Verb::auth},
    VerbName{"BDAT", Verb::bdat}, VerbName{"EXPN", Verb::expn},
};
static_assert(verb_names.size() == static_cast<std::size_t>(Verb::unknown),
              "every verb except unknown has a name");

std::string_view trim_spaces(std::string_view s) noexcept {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view to_string(Verb verb) noexcept {
  for (const auto& entry : verb_names) {
    if (entry.verb == verb) return entry.name;
  }
  return "unknown";
}

std::string_view to_string(EnvelopeError error) noexcept {
  switch (error) {
    case EnvelopeError::syntax: return "syntax";
    case EnvelopeError::bad_address: return "bad_address";
    case EnvelopeError::non_ascii_address: return "non_ascii_address";
    case EnvelopeError::bad_parameters: return "bad_parameters";
  }
  return "unknown";
}

Command parse_command(std::string_view line) noexcept {
  const std::size_t space = line.find(' ');
  const std::string_view word = line.substr(0, space);
  Command command;
  for (const auto& entry : verb_names) {
    if (ascii_iequals(word, entry.name)) {
      command.verb = entry.verb;
      break;
    }
  }
  if (space != std::string_view::npos) command.argument = trim_spaces(line.substr(space + 1));
  return command;
}

std::expected<MailFrom, EnvelopeError> parse_mail_from(std::string_view argument, PathOptions options) {
  auto envelope = parse_envelope(argument, "FROM:", PathKind::reverse, options);
  if (!envelope) return std::unexpected(envelope.error());
  return MailFrom{std::move(envelope->path.address), envelope->parameter_text,
                  std::move(envelope->parameters)};
}

std::expected<RcptTo, EnvelopeError> parse_rcpt_to(std::string_view argument, PathOptions options) {
  auto envelope = parse_envelope(argument, "TO:", PathKind::forward, options);
  if (!envelope) return std::unexpected(envelope.error());
  return RcptTo{std::move(envelope->path.address), envelope->path.postmaster, envelope->parameter_text,
                std::move(envelope->parameters)};
}

bool is_valid_mailbox(std::string_view mailbox) noexcept {
  // A bare mailbox has no source route and is never the null path.
  if (mailbox.empty() || mailbox.front() == '@' || mailbox.size() + 2 > limits::max_path) return false;
  std::string bracketed;
  bracketed.reserve(mailbox.size() + 2);
  bracketed.push_back('<');
  bracketed.append(mailbox);
  bracketed.push_back('>');
  Cursor c{bracketed};
  auto path = parse_path(c, PathKind::reverse);
  return path && c.at_end();
}

std::expected<std::vector<EsmtpParameter>, EnvelopeError> parse_esmtp_parameters(std::string_view text) {
  std::vector<EsmtpParameter> parameters;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ') {
      ++i;
      continue;
    }
    const std::size_t end = std::min(text.find(' ', i), text.size());
    const std::string_view token = text.substr(i, end - i);
    i = end;
    const std::size_t eq = token.find('=');
    const std::string_view keyword = token.substr(0, eq);
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    if (keyword.empty() || !is_let_dig(keyword.front())) return std::unexpected(EnvelopeError::bad_parameters);
    for (char c : keyword) {
      if (!is_let_dig(c) && c != '-') return std::unexpected(EnvelopeError::bad_parameters);
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      // esmtp-value = 1*(%d33-60 / %d62-126)
      value = token.substr(eq + 1);
      if (value.empty()) return std::unexpected(EnvelopeError::bad_parameters);
      for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 33 || u > 126 || u == '=') return std::unexpected(EnvelopeError::bad_parameters);
      }
    }
    parameters.push_back({keyword, value});
  }
  return parameters;
}

std::expected<MailParameters, ParameterError> interpret_mail_parameters(
    std::span<const EsmtpParameter> parameters) {
  MailParameters result;
  bool seen_size = false;
  bool seen_body = false;
  for (const auto& p : parameters) {
    if (ascii_iequals(p.keyword, "SIZE")) {
      // RFC 1870: size-value ::= 1*20DIGIT. Values beyond 64 bits saturate: they
      // exceed any limit we have, which is all the comparison needs to know.
      if (seen_size || p.value.empty() || p.value.size() > 20) return std::unexpected(ParameterError::bad_value);
      std::uint64_t size = 0;
      for (char c : p.value) {
        if (!is_digit(c)) return std::unexpected(ParameterError::bad_value);
        const auto digit = static_cast<std::uint64_t>(c - '0');
        constexpr auto max = std::numeric_limits<std::uint64_t>::max();
        size = size > (max - digit) / 10 ? max : size * 10 + digit;
      }
      result.size = size;
      seen_size = true;
    } else if (ascii_iequals(p.keyword, "BODY")) {
      if (seen_body) return std::unexpected(ParameterError::bad_value);
      seen_body = true;
      if (ascii_iequals(p.value, "7BIT")) {
        result.body = BodyType::seven_bit;
      } else if (ascii_iequals(p.value, "8BITMIME")) {
        result.body = BodyType::eight_bit_mime;
      } else if (ascii_iequals(p.value, "BINARYMIME")) {
        return std::unexpected(ParameterError::unsupported_value);  // RFC 3030, needs CHUNKING
      } else {
        return std::unexpected(ParameterError::bad_value);
      }
    } else {
      return std::unexpected(ParameterError::unknown_keyword);
    }
  }
  return result;
}


// "BDAT" SP chunk-size [SP "LAST"] (RFC 3030 §4); chunk-size is 1*DIGIT. Several spaces
// before LAST and any letter case are tolerated, like the other verbs' arguments.
std::optional<BdatArgument> parse_bdat_argument(std::string_view argument) noexcept {
  BdatArgument parsed;
  std::size_t i = 0;
  while (i < argument.size() && is_digit(argument[i])) {
    const auto digit = static_cast<std::uint64_t>(argument[i] - '0');
    if (parsed.size > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;  // overflow
    parsed.size = parsed.size * 10 + digit;
    ++i;
  }
  if (i == 0) return std::nullopt;
  std::string_view rest = argument.substr(i);
  if (rest.empty()) return parsed;
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (!ascii_iequals(rest, "LAST")) return std::nullopt;
  parsed.last = true;
  return parsed;
}

}  // namespace relay
