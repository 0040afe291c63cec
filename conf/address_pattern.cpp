// conf/address_pattern.cpp — parsing and matching of allow/deny list address patterns.
//
// Patterns are lower-cased once at parse time; the domain half reuses DomainPattern so
// "example.com" / "*.example.com" mean exactly what they mean in routes and accepted
// domains. Pure: no I/O, no exceptions; safe to share between threads once built.
// The local part of a pattern is compared as a whole (no partial wildcards such as
// "info*@"): lists stay predictable and cheap to evaluate. Addresses handed to
// matches() come from the network and are compared, never validated.
#include "conf/address_pattern.hpp"
#include "conf/address_parts.hpp"
#include "conf/ascii.hpp"

#include <algorithm>

namespace conf {
namespace {

// Printable ASCII without the characters that delimit addresses in SMTP.
bool valid_local(std::string_view local) noexcept {
  if (local.empty() || local.size() > 64) return false;  // RFC 5321 §4.5.3.1.1
  return std::ranges::all_of(local, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '@' && c != '<' && c != '>' && c != '*' && c != ',';
  });
}

}  // namespace

std::optional<AddressPattern> AddressPattern::parse(std::string_view text) {
  AddressPattern pattern;
  pattern.text_ = ascii_lowercase(text);
  if (text == "*") return pattern;
  if (text == "<>") {
    pattern.kind_ = Kind::null_sender;
    return pattern;
  }
  pattern.kind_ = Kind::address;
  const auto at = domain_separator(text);
  std::string_view domain = text;
  if (at != std::string_view::npos) {
    const std::string_view local = text.substr(0, at);
    domain = text.substr(at + 1);
    if (local != "*") {
      if (!valid_local(local)) return std::nullopt;
      pattern.local_ = ascii_lowercase(local);
    }
  }
  // "*@*" would be "*" spelled differently; "user@*" is the one place "*" is a domain.
  if (domain == "*" && pattern.local_.empty()) return std::nullopt;
  pattern.domain_ = DomainPattern::parse(domain);
  if (!pattern.domain_) return std::nullopt;
  return pattern;
}

bool AddressPattern::matches(std::string_view address) const noexcept {
  address = without_angle_brackets(address);
  switch (kind_) {
    case Kind::any:
      return true;
    case Kind::null_sender:
      return address.empty();
    case Kind::address:
      break;
  }
  const auto at = domain_separator(address);
  if (at == std::string_view::npos) return false;  // the null sender or a bare local part
  if (!local_.empty() && !ascii_iequals(address.substr(0, at), local_)) return false;
  return domain_->matches(address.substr(at + 1));
}

}  // namespace conf
