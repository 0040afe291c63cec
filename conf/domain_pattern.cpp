// conf/domain_pattern.cpp — parsing, matching and ranking of domain patterns.
//
// Patterns are normalised once at parse time (lower case, one trailing dot dropped) so
// that matching is a plain comparison. Syntax follows RFC 1035 §2.3.4 sizes (labels of at
// most 63 octets, names of at most 253 characters) with letters, digits, '-' and '.'.
// Domains given to matches() come from the network and are never trusted to be well
// formed: they are compared, not validated.
#include "conf/domain_pattern.hpp"
#include "conf/ascii.hpp"
#include "conf/address_parts.hpp"

#include <algorithm>
#include <cstddef>

namespace conf {
namespace {

constexpr std::size_t max_label_length = 63;   // RFC 1035 §2.3.4
constexpr std::size_t max_domain_length = 253; // 255 octets on the wire, minus framing

bool is_domain_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.';
}

std::string_view without_trailing_dot(std::string_view s) noexcept {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

/// `name` is a dot-separated list of non-empty labels; checks sizes and characters.
bool valid_domain_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_domain_length) return false;
  if (!std::ranges::all_of(name, is_domain_char)) return false;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      const std::size_t length = i - label_start;
      if (length == 0 || length > max_label_length) return false;
      label_start = i + 1;
    }
  }
  return true;
}

int label_count(std::string_view name) noexcept {
  return 1 + static_cast<int>(std::ranges::count(name, '.'));
}

}  // namespace

std::optional<DomainPattern> DomainPattern::parse(std::string_view text) {
  DomainPattern pattern;
  if (text == "*") {
    pattern.kind_ = Kind::any;
    pattern.text_ = "*";
    return pattern;
  }
  // Accept "example.com." as written in zone files, but only one trailing dot.
  text = without_trailing_dot(text);
  std::string_view name = text;
  if (text.starts_with("*.")) {
    pattern.kind_ = Kind::suffix;
    name.remove_prefix(2);
  } else {
    pattern.kind_ = Kind::exact;
  }
  // A '*' anywhere else ("**", "*foo", "a.*.b") fails the character check.
  if (!valid_domain_name(name) || text.size() > max_domain_length) return std::nullopt;
  pattern.text_ = ascii_lowercase(text);
  pattern.domain_ = pattern.kind_ == Kind::suffix ? pattern.text_.substr(1) : pattern.text_;
  return pattern;
}

bool DomainPattern::matches(std::string_view domain) const noexcept {
  domain = without_trailing_dot(domain);
  // A recipient without a domain has nowhere to go; not even "*" claims it.
  if (domain.empty()) return false;
  switch (kind_) {
    case Kind::any:
      return true;
    case Kind::exact:
      return ascii_iequals(domain, domain_);
    case Kind::suffix:
      // domain_ is ".example.com": at least one label must precede it, so
      // "example.com" itself does not match "*.example.com".
      return domain.size() > domain_.size() &&
             ascii_iequals(domain.substr(domain.size() - domain_.size()), domain_);
  }
  return false;
}

int DomainPattern::specificity() const noexcept {
  // Exact patterns outrank every wildcard (a name has at most 127 labels); among
  // wildcards the one naming more labels is the more specific.
  constexpr int exact_base = 1000;
  switch (kind_) {
    case Kind::any:
      return 0;
    case Kind::exact:
      return exact_base + label_count(domain_);
    case Kind::suffix:
      return label_count(domain_.substr(1));
  }
  return 0;
}

std::string dns_name_key(std::string_view name) {
  while (name.ends_with('.')) name.remove_suffix(1);
  return ascii_lowercase(name);
}

std::string domain_of(std::string_view address) {
  const std::string_view domain = domain_part(address);
  // Address literals (RFC 5321 §4.1.3) are returned unchanged: "[IPv6:...]" has its own
  // case conventions and no trailing dot to strip.
  if (domain.starts_with('[')) return std::string(domain);
  return ascii_lowercase(without_trailing_dot(domain));
}

}  // namespace conf
