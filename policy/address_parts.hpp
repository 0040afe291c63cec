// policy/address_parts.hpp — the pieces of an envelope address that policy rules look at.
//
// Owns: stripping the optional <> of a path and finding the domain after the last '@',
// without copying or lower-casing (the pattern matchers ignore case). One place, so
// access rules and the relay check can never disagree about what "the domain" is.
// Pure, header-only.
#pragma once

#include <string_view>

namespace policy {

constexpr std::string_view without_angle_brackets(std::string_view address) noexcept {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return address;
}

/// The text after the last '@' ("" when there is none), as conf::domain_of finds it.
constexpr std::string_view domain_part(std::string_view address) noexcept {
  address = without_angle_brackets(address);
  const auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

}  // namespace policy
