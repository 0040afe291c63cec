// conf/address_pattern.cpp — parsing and matching of allow/deny list address patterns.
//
// Patterns are lower-cased once at parse time; the domain half reuses DomainPattern so
// "example.com" / "*.example.com" mean exactly what they mean in routes and accepted
// domains. Pure: no I/O, no exceptions; safe to share between threads once built.
// The local part of a pattern is compared as a whole (no partial wildcards such as
// "info*@"): lists stay predictable and cheap to evaluate. Addresses handed to
// matches() come from the network and are compared, never validated.
#include "conf/address_pattern.hpp"

#include <algorithm>

namespace conf {
namespace {

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// Printable ASCII without the characters that delimit addresses in SMTP.
bool valid_local(std::string_view local) noexcept {
  if (local.empty() || local.size() > 64) return false;  // RFC 5321 §4.5.3.1.1
  return std::ranges::all_of(local, [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '@' && c != '<' && c != '>' && c != '*' && c != ',';
  });
}

std::string_view without_angle_brackets(std::string_view address) noexcept {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return address;
}

}  // namespace

std::optional<AddressPattern> AddressPattern::parse(std::string_view text) {
  AddressPattern pattern;
  pattern.text_.assign(text);
  std::ranges::transform(pattern.text_, pattern.text_.begin(), lower);
  if (text == "*") return pattern;
  if (text == "<>") {
    pattern.kind_ = Kind::null_sender;
    return pattern;
  }
  pattern.kind_ = Kind::address;
  const auto at = text.rfind('@');
  std::string_view domain = text;
  if (at != std::string_view::npos) {
    const std::string_view local = text.substr(0, at);
    domain = text.substr(at + 1);
    if (local != "*") {
      if (!valid_local(local)) return std::nullopt;
      pattern.local_.assign(local);
      std::ranges::transform(pattern.local_, pattern.local_.begin(), lower);
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
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return false;  // the null sender or a bare local part
  if (!local_.empty() && !iequal(address.substr(0, at), local_)) return false;
  return domain_->matches(address.substr(at + 1));
}

}  // namespace conf
