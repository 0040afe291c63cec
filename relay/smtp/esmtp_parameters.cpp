// relay/smtp/esmtp_parameters.cpp — RET/ENVID/SMTPUTF8/NOTIFY/ORCPT, xtext and UTF-8 checks.
//
// Strict where the value is carried on to another MTA (ENVID, NOTIFY, ORCPT are copied
// into our MAIL/RCPT to the next hop and into bounce headers), so nothing malformed or
// non-printable is ever stored. SIZE/BODY keep their meaning from relay/smtp/command_parser:
// the other parameters are peeled off here and the rest handed over unchanged.
#include "relay/smtp/esmtp_parameters.hpp"
#include "conf/ascii.hpp"

#include <vector>

namespace relay {
namespace {

using conf::ascii_iequals;

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::uint8_t> parse_notify(std::string_view value) {
  if (value.empty()) return std::nullopt;
  std::uint8_t bits = notify_none;
  std::size_t pos = 0;
  // Bounded by the value length: every round consumes at least one octet.
  while (pos <= value.size()) {
    const std::size_t comma = std::min(value.find(',', pos), value.size());
    const std::string_view word = value.substr(pos, comma - pos);
    std::uint8_t bit = 0;
    if (ascii_iequals(word, "NEVER")) bit = notify_never;
    else if (ascii_iequals(word, "SUCCESS")) bit = notify_success;
    else if (ascii_iequals(word, "FAILURE")) bit = notify_failure;
    else if (ascii_iequals(word, "DELAY")) bit = notify_delay;
    else return std::nullopt;  // includes the empty word of "A,,B" or a trailing comma
    if ((bits & bit) != 0) return std::nullopt;  // "SUCCESS,SUCCESS"
    bits = static_cast<std::uint8_t>(bits | bit);
    pos = comma + 1;
  }
  // NEVER must stand alone (§4.1).
  if ((bits & notify_never) != 0 && bits != notify_never) return std::nullopt;
  return bits;
}

}  // namespace

bool has_eight_bit(std::string_view text) noexcept {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return true;
  }
  return false;
}

bool is_valid_utf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t cp = 0;
    std::uint32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      length = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      length = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      length = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
      return false;  // continuation octet first, C0/C1 overlong lead, or F5..FF
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0u) != 0x80u) return false;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

bool is_valid_xtext(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u == '+') {
      if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) return false;
      i += 2;
      continue;
    }
    if (u < 33 || u > 126 || u == '=') return false;
  }
  return true;
}

std::optional<std::string> decode_xtext(std::string_view text) {
  if (!is_valid_xtext(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string encode_xtext(std::string_view text) {
  static constexpr std::string_view digits = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || u == '+' || u == '=') {
      out.push_back('+');
      out.push_back(digits[u >> 4]);
      out.push_back(digits[u & 0x0F]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::expected<MailExtensions, ParameterError> interpret_mail_extensions(std::span<const EsmtpParameter> parameters) {
  MailExtensions result;
  bool seen_ret = false;
  bool seen_envid = false;
  std::vector<EsmtpParameter> rest;
  for (const auto& p : parameters) {
    if (ascii_iequals(p.keyword, "RET")) {
      if (seen_ret) return std::unexpected(ParameterError::bad_value);
      seen_ret = true;
      if (ascii_iequals(p.value, "FULL")) result.ret = DsnReturn::full;
      else if (ascii_iequals(p.value, "HDRS")) result.ret = DsnReturn::headers;
      else return std::unexpected(ParameterError::bad_value);
    } else if (ascii_iequals(p.keyword, "ENVID")) {
      if (seen_envid || p.value.empty()) return std::unexpected(ParameterError::bad_value);
      seen_envid = true;
      const auto decoded = decode_xtext(p.value);
      if (!decoded || decoded->size() > limits::max_envid) return std::unexpected(ParameterError::bad_value);
      // §4.4: printable US-ASCII (graphic and space) only.
      for (char c : *decoded) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u > 0x7e) return std::unexpected(ParameterError::bad_value);
      }
      result.envid = p.value;
    } else if (ascii_iequals(p.keyword, "SMTPUTF8")) {
      // RFC 6531 §3.4: no value.
      if (result.smtputf8 || !p.value.empty()) return std::unexpected(ParameterError::bad_value);
      result.smtputf8 = true;
    } else if (ascii_iequals(p.keyword, "REQUIRETLS")) {
      // RFC 8689 §3: no value.
      if (result.requiretls || !p.value.empty()) return std::unexpected(ParameterError::bad_value);
      result.requiretls = true;
    } else {
      rest.push_back(p);
    }
  }
  auto basic = interpret_mail_parameters(rest);
  if (!basic) return std::unexpected(basic.error());
  result.basic = *basic;
  return result;
}

std::expected<RcptExtensions, ParameterError> interpret_rcpt_parameters(std::span<const EsmtpParameter> parameters) {
  RcptExtensions result;
  bool seen_orcpt = false;
  for (const auto& p : parameters) {
    if (ascii_iequals(p.keyword, "NOTIFY")) {
      if (result.notify != notify_none) return std::unexpected(ParameterError::bad_value);
      const auto bits = parse_notify(p.value);
      if (!bits) return std::unexpected(ParameterError::bad_value);
      result.notify = *bits;
    } else if (ascii_iequals(p.keyword, "ORCPT")) {
      if (seen_orcpt) return std::unexpected(ParameterError::bad_value);
      seen_orcpt = true;
      // orcpt-parameter = "ORCPT=" addr-type ";" xtext
      const std::size_t semicolon = p.value.find(';');
      if (semicolon == std::string_view::npos) return std::unexpected(ParameterError::bad_value);
      const std::string_view type = p.value.substr(0, semicolon);
      const std::string_view address = p.value.substr(semicolon + 1);
      if (type.empty() || type.size() > limits::max_addr_type) return std::unexpected(ParameterError::bad_value);
      for (char c : type) {
        if (!is_atext(c)) return std::unexpected(ParameterError::bad_value);  // addr-type = atom (RFC 3461 §4.2)
      }
      const auto decoded = decode_xtext(address);
      if (address.empty() || !decoded || decoded->size() > limits::max_orcpt) {
        return std::unexpected(ParameterError::bad_value);
      }
      result.orcpt_type = type;
      result.orcpt_value = address;
    } else {
      return std::unexpected(ParameterError::unknown_keyword);
    }
  }
  return result;
}

std::optional<std::string_view> find_parameter(std::string_view text, std::string_view keyword) noexcept {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view word = text.substr(pos, end - pos);
    const std::size_t eq = word.find('=');
    if (ascii_iequals(word.substr(0, eq), keyword)) {
      return eq == std::string_view::npos ? std::string_view{} : word.substr(eq + 1);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::string dsn_mail_parameters(std::string_view mail_parameters) {
  std::string out;
  if (const auto ret = find_parameter(mail_parameters, "RET"); ret && !ret->empty()) {
    out += " RET=";
    out += conf::ascii_uppercase(*ret);
  }
  if (const auto envid = find_parameter(mail_parameters, "ENVID"); envid && !envid->empty()) {
    out += " ENVID=";
    out += *envid;
  }
  return out;
}

std::string dsn_rcpt_parameters(std::string_view rcpt_parameters, std::string_view recipient) {
  std::string out;
  if (const auto notify = find_parameter(rcpt_parameters, "NOTIFY"); notify && !notify->empty()) {
    out += " NOTIFY=";
    out += conf::ascii_uppercase(*notify);
  }
  if (const auto orcpt = find_parameter(rcpt_parameters, "ORCPT"); orcpt && !orcpt->empty()) {
    out += " ORCPT=";
    out += *orcpt;
  } else if (!recipient.empty()) {
    if (!has_eight_bit(recipient)) {
      out += " ORCPT=rfc822;" + encode_xtext(recipient);
    } else {
      // RFC 6533 §3 utf-8-addr-xtext: non-ASCII as \x{HEX}; "+", "=", "\" and
      // controls escaped the same way, so the value stays plain printable ASCII.
      out += " ORCPT=utf-8;";
      static constexpr std::string_view digits = "0123456789ABCDEF";
      std::size_t i = 0;
      while (i < recipient.size()) {
        const auto b0 = static_cast<unsigned char>(recipient[i]);
        std::uint32_t cp = b0;
        std::size_t length = 1;
        if (b0 >= 0xF0) length = 4, cp = b0 & 0x07u;
        else if (b0 >= 0xE0) length = 3, cp = b0 & 0x0Fu;
        else if (b0 >= 0xC0) length = 2, cp = b0 & 0x1Fu;
        for (std::size_t k = 1; k < length && i + k < recipient.size(); ++k) {
          cp = (cp << 6) | (static_cast<unsigned char>(recipient[i + k]) & 0x3Fu);
        }
        i += length;
        if (cp >= 0x21 && cp <= 0x7e && cp != '+' && cp != '=' && cp != '\\') {
          out.push_back(static_cast<char>(cp));
          continue;
        }
        std::string hex;
        for (std::uint32_t v = cp; v != 0 || hex.empty(); v >>= 4) hex.insert(hex.begin(), digits[v & 0xF]);
        out += "\\x{" + hex + "}";
      }
    }
  }
  return out;
}

std::string original_recipient_of(std::string_view rcpt_parameters) {
  const auto orcpt = find_parameter(rcpt_parameters, "ORCPT");
  if (!orcpt) return {};
  const std::size_t semicolon = orcpt->find(';');
  if (semicolon == std::string_view::npos) return {};
  const auto decoded = decode_xtext(orcpt->substr(semicolon + 1));
  if (!decoded) return {};
  return std::string(orcpt->substr(0, semicolon)) + ";" + *decoded;
}

bool wants_smtputf8(std::string_view mail_parameters) noexcept {
  return find_parameter(mail_parameters, "SMTPUTF8").has_value();
}

}  // namespace relay
