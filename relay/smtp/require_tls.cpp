// relay/smtp/require_tls.cpp — REQUIRETLS and TLS-Required (see the header).
#include "relay/smtp/require_tls.hpp"

#include "conf/ascii.hpp"
#include "relay/smtp/esmtp_parameters.hpp"
#include "relay/smtp/header_fields.hpp"

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
  HeaderFieldReader fields(header_section, LineEnds::crlf_or_lf, limits::max_tls_required_scan);
  while (const auto field = fields.next())
    if (conf::ascii_iequals(trimmed(field->name), name) && conf::ascii_iequals(trimmed(field->value), "no")) return true;
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
