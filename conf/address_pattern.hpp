// conf/address_pattern.hpp — sender/recipient patterns of the policy allow and deny lists.
//
// Owns: the one syntax of address patterns (docs/policy.md#address-patterns):
//   "user@example.com"   exactly this address          "example.com"      any user there
//   "*@example.com"      same as "example.com"          "*.example.com"    any subdomain
//   "user@*"             this local part, any domain    "user@*.example.com"
//   "*"                  every address (incl. <>)       "<>"               the null sender
// Matching is ASCII case-insensitive for local part and domain (as Postfix access maps
// and Exchange transport rules are), and ignores one trailing dot of the domain.
// Lives in conf (not policy) so the loader can report a bad pattern as file:line:key.
// Performs no I/O; immutable after parse, safe to share between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/domain_pattern.hpp"

namespace conf {

class AddressPattern {
 public:
  /// nullopt when `text` is not one of the forms above.
  static std::optional<AddressPattern> parse(std::string_view text);
  /// `address` is a reverse-/forward-path without or with <>; "" is the null sender.
  bool matches(std::string_view address) const noexcept;
  const std::string& text() const noexcept { return text_; }

 private:
  enum class Kind { any, null_sender, address };
  Kind kind_ = Kind::any;
  std::string local_;                 // lower-cased; "" = any local part
  std::optional<DomainPattern> domain_;
  std::string text_;
};

}  // namespace conf
