// conf/address_parts.hpp — the pieces of an envelope address: local part and domain.
//
// Owns: stripping the optional <> of a path and splitting at the LAST '@' (a quoted local
// part may itself hold '@', RFC 5321 §4.1.2), without copying or lower-casing; the
// matchers ignore case. conf::domain_of (domain_pattern.hpp) normalises the domain part
// for routing. One place, so routing, access rules, the relay check, recipient lists and
// the queue's filters can never disagree about what "the domain" is.
// Pure, header-only.
#pragma once

#include <string_view>

namespace conf {

constexpr std::string_view without_angle_brackets(std::string_view address) noexcept {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return address;
}

/// Position of the '@' that separates local part and domain (the last one), or npos.
constexpr std::size_t domain_separator(std::string_view address) noexcept { return address.rfind('@'); }

/// The text after the last '@' ("" when there is none), as written.
constexpr std::string_view domain_part(std::string_view address) noexcept {
  address = without_angle_brackets(address);
  const auto at = domain_separator(address);
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

/// The text before the last '@' (the whole address when there is none), as written.
constexpr std::string_view local_part(std::string_view address) noexcept {
  address = without_angle_brackets(address);
  const auto at = domain_separator(address);
  return at == std::string_view::npos ? address : address.substr(0, at);
}

}  // namespace conf
