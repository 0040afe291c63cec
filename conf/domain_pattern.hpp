// conf/domain_pattern.hpp — recipient-domain patterns used by routes and policies.
//
// Owns: "*" (any domain), "example.com" (exactly that domain) and "*.example.com"
// (any subdomain, not the domain itself). Matching is ASCII case-insensitive and
// ignores one trailing dot. Specificity orders patterns so the most specific wins:
// exact > longer wildcard suffix > shorter wildcard suffix > "*".
// Performs no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace conf {

class DomainPattern {
 public:
  static std::optional<DomainPattern> parse(std::string_view text);
  bool matches(std::string_view domain) const noexcept;
  /// Larger is more specific.
  int specificity() const noexcept;
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind { any, exact, suffix };
  Kind kind_ = Kind::any;
  std::string text_;    // as written, lower-cased
  std::string domain_;  // exact: the domain; suffix: ".example.com"
};

/// Lower-cased domain part of "local@domain" ("" when there is none).
std::string domain_of(std::string_view address);

/// A DNS name as a lookup key: ASCII lower case, every trailing dot dropped
/// ("MX1.Example.COM." → "mx1.example.com"), so caches, overrides and MX hosts compare equal.
std::string dns_name_key(std::string_view name);

}  // namespace conf
