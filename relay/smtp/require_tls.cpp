// relay/smtp/require_tls.cpp — REQUIRETLS and TLS-Required (see the header).
#include "relay/smtp/require_tls.hpp"

#include "conf/ascii.hpp"
#include "relay/smtp/esmtp_parameters.hpp"

namespace relay {
namespace {

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trimmed(std::string_view text) noexcept {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace

bool wants_requiretls(std::string_view mail_parameters) noexcept {
  return find_parameter(mail_parameters, requiretls_keyword).has_value();
}

bool tls_optional(std::string_view mail_parameters) noexcept {
  const auto flag = find_parameter(mail_parameters, tls_optional_flag.substr(0, tls_optional_flag.find('=')));
  return flag && conf::ascii_iequals(*flag, "NO") && !wants_requiretls(mail_parameters);
}

TlsRequest tls_request(std::string_view mail_parameters) noexcept {
  if (wants_requiretls(mail_parameters)) return TlsRequest::required;
  return tls_optional(mail_parameters) ? TlsRequest::waived : TlsRequest::hop_policy;
}

bool says_tls_not_required(std::string_view header_section) noexcept {
  static constexpr std::string_view name = "tls-required";
  header_section = header_section.substr(0, limits::max_tls_required_scan);
  std::size_t at = 0;
  while (at < header_section.size()) {
    // One field: its first line and every folded line after it.
    std::size_t end = at;
    do {
      end = header_section.find('\n', end);
      if (end == std::string_view::npos) end = header_section.size();
      else ++end;
    } while (end < header_section.size() && (header_section[end] == ' ' || header_section[end] == '\t'));
    const std::string_view field = header_section.substr(at, end - at);
    if (trimmed(field).empty()) break;  // the empty line ends the header section
    const std::size_t colon = field.find(':');
    if (colon != std::string_view::npos && conf::ascii_iequals(trimmed(field.substr(0, colon)), name) &&
        conf::ascii_iequals(trimmed(field.substr(colon + 1)), "no")) {
      return true;
    }
    at = end;
  }
  return false;
}

RequireTlsVerdict check_requiretls(bool requiretls, TlsKind session, bool hop_offers) noexcept {
  if (!requiretls) return RequireTlsVerdict::not_required;
  if (!verified(session)) return RequireTlsVerdict::unverified;
  if (!hop_offers) return RequireTlsVerdict::not_offered;
  return RequireTlsVerdict::send;
}

std::string_view to_string(RequireTlsVerdict verdict) noexcept {
  switch (verdict) {
    case RequireTlsVerdict::not_required: return "not required";
    case RequireTlsVerdict::send: return "verified TLS and REQUIRETLS offered";
    case RequireTlsVerdict::unverified: return "the session's TLS did not authenticate the server";
    case RequireTlsVerdict::not_offered: return "REQUIRETLS not offered";
  }
  return "unknown";
}

}  // namespace relay
